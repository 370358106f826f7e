"""Batches of in-memory arrays, and each epoch's order of samples."""

import numpy as np  # host-side indices only

from framework.errors import InvalidArgumentError

SAMPLINGS = ("without_replacement", "with_replacement")


def batches(n, batch_size, order=None):
    """Index objects of consecutive batches of `n` samples: slices, or slices of `order`."""
    for start in range(0, n, batch_size):
        yield slice(start, start + batch_size) if order is None else order[start : start + batch_size]


def epoch_order(seed, epoch, n, sampling="without_replacement"):
    """The `n` sample indices of `epoch`, in the order they are visited.

    ``"without_replacement"``: a permutation, every sample once.
    ``"with_replacement"``: `n` indices drawn uniformly and independently,
    so a sample appears k times with probability ~ e^-1 / k! (Poisson(1)),
    and about 1 - 1/e = 63% of the samples appear at all.

    Derived from (seed, epoch) alone, so an epoch's order does not depend on
    what ran before it: training can stop and resume exactly.
    """
    rng = np.random.default_rng([seed, epoch])
    if sampling == "without_replacement":
        # rng.permutation(n), shuffled in place in 4-byte indices where they fit: the
        # same order (the shuffle's draws depend on n alone), half the memory.
        order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
        rng.shuffle(order)
        return order
    if sampling == "with_replacement":
        return rng.integers(0, n, size=n)
    raise InvalidArgumentError(f"sampling must be one of {list(SAMPLINGS)}, got sampling={sampling!r}")
