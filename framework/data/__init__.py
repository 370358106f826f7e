"""Where training data comes from: the batches of an epoch, in an order fixed by a seed.

`fit`, `evaluate` and `predict` ask this package for batches and never look
at the input's type again.
"""

from framework.data.arrays import SAMPLINGS, batches, epoch_order

__all__ = ["SAMPLINGS", "batches", "epoch_order"]
