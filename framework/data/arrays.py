"""Batches of in-memory arrays."""

import numpy as np  # host-side indices only


def batches(n, batch_size, order=None):
    """Index objects of consecutive batches of `n` samples: slices, or slices of `order`."""
    for start in range(0, n, batch_size):
        yield slice(start, start + batch_size) if order is None else order[start : start + batch_size]


def epoch_order(seed, epoch, n):
    """The permutation of `n` samples for `epoch`.

    Derived from (seed, epoch) alone, so an epoch's order does not depend on
    what ran before it: training can stop and resume exactly.
    """
    return np.random.default_rng([seed, epoch]).permutation(n)
