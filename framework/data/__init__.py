"""Where training data comes from: the batches of an epoch, in an order fixed by a seed.

`fit`, `evaluate` and `predict` ask this package for batches and never look
at the input's type again: in-memory arrays, arrays on disk (``numpy.memmap``,
``h5py.Dataset``), a `Sequence`, or a generator of batches.
"""

from framework.data.adapters import adapt, is_stream
from framework.data.arrays import SAMPLINGS, batches, epoch_order
from framework.data.sequence import Sequence

__all__ = ["SAMPLINGS", "Sequence", "adapt", "batches", "epoch_order", "is_stream"]
