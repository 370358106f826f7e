"""Seeds: one call to `set_seed` makes a whole script reproducible.

Random numbers are drawn on the host with NumPy's `Generator` and moved to the
backend, so a seeded model starts from the same weights on every backend.
"""

import numpy as np

from framework.errors import InvalidArgumentError

_seed = None
_generator = np.random.default_rng()


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
    return _generator


def new_seed():
    """A fresh integer seed drawn from the global generator."""
    return int(_generator.integers(0, 2**63 - 1))
