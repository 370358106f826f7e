"""Seeds: one call to `set_seed` makes a whole script reproducible.

Random numbers are drawn on the host with NumPy's `Generator` and moved to the
backend, so a seeded model starts from the same weights on every backend.
"""

import contextlib

import numpy as np

from framework.errors import InvalidArgumentError

_seed = None
_generator = None  # made on first use: numpy.random costs a tenth of `import framework`


def set_seed(seed):
    """Seed weight initialisation and data shuffling: after ``set_seed(n)`` the same script gives bit-identical weights."""
    global _seed, _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidArgumentError(f"set_seed: seed must be a non-negative integer, got {seed!r}")
    _seed = int(seed)
    _generator = np.random.default_rng(_seed)


def get_seed():
    """The seed given to `set_seed`, or None if it was never called."""
    return _seed


def generator():
    """The global host generator (weight initialisation, per-model shuffle seeds)."""
    global _generator
    if _generator is None:
        _generator = np.random.default_rng()
    return _generator


def new_seed():
    """A fresh integer seed drawn from the global generator."""
    return int(generator().integers(0, 2**63 - 1))


_noise_fixed = False  # True inside `fixed_noise()`


@contextlib.contextmanager
def fixed_noise():
    """Within it, random layers (Dropout) draw the same noise on every training forward call.

    A gradient check calls forward many times and needs one fixed function of
    the input: with a new dropout mask per call, the central differences would
    compare different functions. Inside this context a random layer reuses the
    noise its next ordinary call would draw, and does not advance its stream,
    so a check leaves a training run's random sequence exactly as it was.
    `framework.testing.check_layer` and `fw.gradient_check` use it when given
    ``training=True``; a plugin layer that draws random numbers in training
    must obey `noise_fixed()` too.
    """
    global _noise_fixed
    previous, _noise_fixed = _noise_fixed, True
    try:
        yield
    finally:
        _noise_fixed = previous


def noise_fixed():
    """True inside `fixed_noise()`: random layers must not advance their streams."""
    return _noise_fixed
