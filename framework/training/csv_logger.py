"""`CSVLogger`: each epoch's logs as a row of a CSV file (Keras's)."""

import csv
import os

from framework.errors import InvalidArgumentError
from framework.training.callbacks import Callback


class CSVLogger(Callback):
    """Write ``epoch`` and every logs key, one row per epoch, to `filename`.

    Args:
        filename: the CSV file.
        separator: the field separator.
        append: add to an existing file (no second header) instead of
            overwriting it: for a resumed run.

    Each row is flushed when written, so a killed run keeps its rows.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise InvalidArgumentError(f"CSVLogger: filename must be a str or path, got filename={filename!r}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise InvalidArgumentError(f"CSVLogger: separator must be one character, got separator={separator!r}")
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        self._header = not (self.append and os.path.isfile(self.filename) and os.path.getsize(self.filename) > 0)
        self._file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._writer is None:
            self._keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self._keys], delimiter=self.separator)
            if self._header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{key: logs.get(key, "NA") for key in self._keys}})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None
