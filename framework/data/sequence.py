"""`Sequence`: a data set that hands out whole batches by index, as Keras's ``keras.utils.Sequence``.

Subclass it when the data cannot be held in memory as one array (images in
files, records in a database): `fit`, `evaluate` and `predict` ask it for
one batch at a time.
"""


class Sequence:
    """Base class of batch-indexed data sets (Keras's contract).

    Subclasses define ``__len__`` (the number of batches per epoch) and
    ``__getitem__(i)`` (batch `i`, ``0 <= i < len(self)``, as a tuple
    ``(x, y)`` of arrays with the same number of samples; `predict` takes
    ``x`` alone or the first item of the tuple). ``on_epoch_end()`` runs
    after each epoch, e.g. to reshuffle the files. With ``shuffle=True``
    (the default) `fit` visits the batches in a new order every epoch,
    drawn from the model's seed; every batch must have the same feature
    shape (the batch size may differ).
    """

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__: the number of batches per epoch")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index): batch `index` as (x, y)")

    def on_epoch_end(self):
        """Called after every epoch of `fit`; does nothing unless overridden."""
