"""How many threads the CPU's BLAS library (OpenBLAS, MKL) uses while the framework trains and predicts.

Between two matrix products OpenBLAS's worker threads keep spinning,
waiting for the next one; on a small machine they take the cores that
NumPy's single-threaded elementwise work (ReLU, softmax, the optimizer's
update) needs. The products of a small network are too small to gain much
from a second thread, so the elementwise work loses more than the products
win: measured on a 2-core machine, a whole epoch of the 784-256-256-10 MLP
ran 1.5-10x faster with one BLAS thread (more when other processes load the
machine). `fit`, `evaluate` and `predict` therefore run with
`blas_threads()` threads and give the pool back as it was afterwards.

The number comes from `set_blas_threads`, else the environment variable
``FRAMEWORK_BLAS_THREADS``, else ``"auto"``: 1 thread on a machine of at
most 2 cores (where it was measured), the library's own setting elsewhere
(larger layers on more cores gain from BLAS threads: set a number there if
it measures faster). ``"off"`` leaves the BLAS library alone. Results are bit-identical from run to run under
`fw.set_seed` as long as the number of threads is the same.
"""

import contextlib
import functools
import os

from framework.errors import InvalidArgumentError

_setting = None  # None: the environment variable decides
_controller = None  # threadpoolctl's view of the loaded BLAS libraries, made on first use


def _auto():
    """One thread where it was measured to win (machines of at most 2 cores); elsewhere the library's own choice."""
    return 1 if (os.cpu_count() or 1) <= AUTO_MAX_CORES else None


AUTO_MAX_CORES = 2


def _parse(value, argument):
    if value is None or value == "auto":
        return _auto()
    if value == "off":
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"{argument} must be a positive integer, 'auto' or 'off', got {value!r}")
    return value


def set_blas_threads(threads):
    """Use `threads` BLAS threads in `fit`/`evaluate`/`predict` (a positive int, ``"auto"`` or ``"off"``).

    ``None`` goes back to the environment variable ``FRAMEWORK_BLAS_THREADS``.
    """
    global _setting
    if threads is not None:
        _parse(threads, "set_blas_threads: threads")  # checked before it is kept
    _setting = threads


def blas_threads():
    """The BLAS threads the framework's loops will use; None when it leaves the library alone."""
    if _setting is not None:
        return _parse(_setting, "set_blas_threads: threads")
    return _parse(os.environ.get("FRAMEWORK_BLAS_THREADS") or None, "FRAMEWORK_BLAS_THREADS")


@contextlib.contextmanager
def limited():
    """Run the block with `blas_threads()` BLAS threads, restoring the pool afterwards."""
    global _controller
    threads = blas_threads()
    if threads is None:
        yield
        return
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController  # not at import: it inspects the loaded libraries
        except ImportError:  # optional: without it the BLAS library keeps its own setting
            yield
            return
        _controller = ThreadpoolController()
    with _controller.limit(limits=threads, user_api="blas"):
        yield


def in_blas_threads(function):
    """Decorate a loop (`fit`, `predict`, ...) to run inside `limited()`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with limited():
            return function(*args, **kwargs)

    return wrapper
