"""How many threads the CPU's BLAS library (OpenBLAS, MKL) uses while the framework trains and predicts.

On a quiet machine the library's own setting (a thread per core) is the
fastest: measured on a 2-core machine, epochs of the 784-256-256-10 MLP ran
1.1-1.6x faster with 2 BLAS threads than with 1 (batch 128 to 1024). But
OpenBLAS's threads wait for each other by spinning, so when another
process keeps a core busy, a product split over every core waits for the
thread that lost its core: there the same epochs ran 2.5-5x *slower*
with 2 threads than with 1. So ``"auto"``, the default, looks when a loop
starts: with every core free it leaves the library alone; with other
processes running it gives the library only the cores they leave (at
least one). On Linux "running" is read from ``/proc`` (the scheduler's
count of runnable threads, less this process's own); where that cannot be
read, machines of at most 2 cores get 1 thread and larger ones the
library's own setting.

The number comes from `set_blas_threads`, else the environment variable
``FRAMEWORK_BLAS_THREADS``, else ``"auto"``. ``"off"`` leaves the BLAS
library alone. `fit`, `evaluate` and `predict` run with `blas_threads()`
threads and give the pool back as it was afterwards. Results are
bit-identical from run to run under `fw.set_seed` as long as the number of
threads is the same: set a number (not ``"auto"``, which follows the
machine's load) where runs must match to the last bit.
"""

import contextlib
import math
import os
import time

from framework.errors import InvalidArgumentError

_setting = None  # None: the environment variable decides
_controller = None  # threadpoolctl's view of the loaded BLAS libraries, made on first use


def _auto():
    """The library's own setting (None) when no other process is running; else the cores left free, at least 1."""
    cores = _cores()
    others = _recent_others_running()
    if others is None:  # unknown: one thread where it was measured to win, the library's choice elsewhere
        return 1 if cores <= AUTO_MAX_CORES else None
    free = cores - others
    return None if free >= cores else max(1, free)


AUTO_MAX_CORES = 2  # where the load cannot be read: machines this small get one thread


def _cores():
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on (containers, taskset)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _recent_others_running():
    """`_others_running()`, read at most once a second: a loop of `train_on_batch` calls must not pay for it each time."""
    global _last_probe
    now = time.monotonic()
    if now - _last_probe[0] >= PROBE_SECONDS:
        # The least of three readings 1 ms apart: a busy process is running at each,
        # a short-lived one (a shell command, a cron job) at one at most.
        readings = []
        for reading in range(3):
            time.sleep(0.001 if reading else 0)
            readings.append(_others_running())
        _last_probe = (now, None if None in readings else min(readings))
    return _last_probe[1]


PROBE_SECONDS = 1.0
_last_probe = (-math.inf, None)  # (time.monotonic() of the probe, its result)


def _others_running():
    """Threads of other processes running or waiting for a core now (Linux ``/proc``); None where unknown."""
    try:
        with open("/proc/loadavg", encoding="ascii") as file:
            runnable = int(file.read().split()[3].split("/")[0])  # "0.41 0.50 0.62 3/812 4711": 3 runnable
        ours = 0
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/stat", encoding="ascii", errors="replace") as file:
                # "pid (name) R ...": the state follows the name, which may hold spaces.
                ours += file.read().rsplit(")", 1)[1].split()[0] == "R"
    except (OSError, ValueError, IndexError):
        return None
    return max(0, runnable - ours)


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
    threads = blas_threads()
    controller = _blas_controller() if threads is not None else None
    if controller is None:
        yield
        return
    # Never more threads than the library has now: a user's OPENBLAS_NUM_THREADS=1 stays 1.
    current = min((lib.num_threads for lib in controller.lib_controllers), default=threads)
    with controller.limit(limits=min(threads, current), user_api="blas"):
        yield


def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries (made once), or None without threadpoolctl."""
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController  # not at import: it inspects the loaded libraries
        except ImportError:  # optional: without it the BLAS library keeps its own setting
            return None
        _controller = ThreadpoolController().select(user_api="blas")
    return _controller

