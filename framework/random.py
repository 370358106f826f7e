"""Seeds: one call to `set_seed` makes a whole script reproducible.

Random numbers are drawn on the host with NumPy's `Generator` and moved to the
backend, so a seeded model starts from the same weights on every backend.
"""

import contextlib
import math

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


def uniform_at_least(seed, shape, threshold):
    """``numpy.random.default_rng(seed).random(shape, dtype=float32) >= threshold``: the same booleans, made faster.

    NumPy makes each float32 uniform from 32 bits of its generator (PCG64:
    the low, then the high half of each 64-bit draw) as
    ``(bits >> 8) * 2**-24``. So ``uniform >= threshold`` is the integer test
    ``bits >= ceil(threshold * 2**24) << 8``, and the floats need not be
    made. Measured after a matrix product, as in training: the mask of 128 x
    256 units took 122 instead of 197 us, Dropout's whole forward 138-150
    instead of 166-181 us. Whether NumPy still makes its floats so is
    checked once per process, against its own floats; where it does not,
    the plain expression runs.
    """
    if not _raw_bits_make_floats():
        return np.random.default_rng(seed).random(shape, dtype=np.float32) >= threshold
    # NumPy compares in the type it promotes to: float32 for a Python float
    # (threshold rounded to float32 first), float64 for a NumPy float64.
    value = float(np.result_type(np.float32, threshold).type(threshold))
    if value <= 0.0:  # every uniform passes (-inf too)
        return np.ones(shape, dtype=bool)
    if not value < 1.0:  # the largest uniform is 1 - 2**-24: none passes (NaN, inf too)
        return np.zeros(shape, dtype=bool)
    units = math.ceil(value * 2**24)  # exact: a power-of-2 scaling; at most 2**24
    size = math.prod(shape)
    bits = np.random.PCG64(seed).random_raw((size + 1) // 2).view(np.uint32)[:size]
    return (bits >= np.uint32(units << 8)).reshape(shape) if units < 2**24 else np.zeros(shape, dtype=bool)


_raw_bits_ok = None  # whether `uniform_at_least` may use the raw bits; checked on first use


def _raw_bits_make_floats():
    """Whether NumPy's float32 uniforms are (raw bits >> 8) * 2**-24, low half first (checked once)."""
    global _raw_bits_ok
    if _raw_bits_ok is None:
        seed = [2026, 12, 3]
        floats = np.random.default_rng(seed).random(65, dtype=np.float32)
        bits = np.random.PCG64(seed).random_raw(33).view(np.uint32)[:65]
        made = (bits >> 8).astype(np.float32) * np.float32(2.0**-24)  # exact: 24-bit integers times a power of 2
        _raw_bits_ok = bool(np.array_equal(floats, made))
    return _raw_bits_ok
