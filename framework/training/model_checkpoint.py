"""`ModelCheckpoint`: save the model (or its weights) at the end of epochs, as Keras does.

    fw.callbacks.ModelCheckpoint("ckpt-{epoch:02d}-{val_loss:.2f}.h5", monitor="val_loss", save_best_only=True)
"""

import math
import os
import string
import warnings

from framework.errors import InvalidArgumentError
from framework.training.callbacks import Callback, check_monitor, check_number, is_better, monitor_mode


class ModelCheckpoint(Callback):
    """Save after every epoch, or only when `monitor` improves.

    Args:
        filepath: str or path; may hold ``{epoch}`` (counted from 1), ``{batch}``
            (with an integer `save_freq`) and any key of the logs, with a
            format spec: ``"{val_loss:.2f}"``.
        monitor: the logs key compared by `save_best_only`.
        verbose: 1 prints a line per save.
        save_best_only: save only when `monitor` is better than ever before.
        save_weights_only: `model.save_weights` instead of `model.save`.
        mode: ``"min"``, ``"max"``, or ``"auto"`` (max for accuracies, else min).
        save_freq: ``"epoch"``, or an integer n: save after every n batches
            (counted across epochs; `monitor` is then read from the batch logs,
            which hold no ``val_*`` values, and the checkpoint records only the
            epochs completed, so resuming from it repeats the partial epoch).
        initial_value_threshold: a value of `monitor` to beat before the first save.

    Each save is atomic: an interrupted run leaves the last complete file.
    """

    # It reads a batch's logs only inside on_train_batch_end, when it saves there:
    # with save_freq="epoch" a GPU never waits for the running loss at a step.
    reads_batch_logs_lazily = True

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        if not isinstance(filepath, (str, os.PathLike)):
            raise InvalidArgumentError(f"ModelCheckpoint: filepath must be a str or path, got filepath={filepath!r}")
        check_monitor(monitor, "ModelCheckpoint")
        self.mode = monitor_mode(monitor, mode, "ModelCheckpoint")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise InvalidArgumentError(
                f"ModelCheckpoint: save_freq must be 'epoch' or a positive integer, got save_freq={save_freq!r}"
            )
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.save_freq = save_freq
        self.initial_value_threshold = check_number(initial_value_threshold, "initial_value_threshold",
                                                    "ModelCheckpoint", optional=True)
        self._fields()  # a malformed template fails here
        self.best = self._initial_best()
        self._epoch = 0
        self._batches = 0  # batches since the last save, for an integer save_freq

    def _initial_best(self):
        if self.initial_value_threshold is not None:
            return float(self.initial_value_threshold)
        return math.inf if self.mode == "min" else -math.inf

    def _improved(self, value):
        return is_better(value, self.best, self.mode)

    def _path(self, epoch, logs, batch=None):
        fields = {"epoch": epoch + 1, **({} if batch is None else {"batch": batch + 1}), **logs}
        try:
            return self.filepath.format(**fields)
        except KeyError as exc:
            raise InvalidArgumentError(
                f"ModelCheckpoint: filepath {self.filepath!r} names {exc.args[0]!r}, which is not in the logs "
                f"(available: {', '.join(fields)})"
            ) from None
        except (ValueError, IndexError) as exc:
            raise InvalidArgumentError(f"ModelCheckpoint: cannot format filepath {self.filepath!r}: {exc}") from None

    def _fields(self):
        """The names of the template's placeholders (``{val_loss:.2f}`` -> ``val_loss``)."""
        try:
            parsed = list(string.Formatter().parse(self.filepath))
        except ValueError as exc:
            raise InvalidArgumentError(f"ModelCheckpoint: cannot format filepath {self.filepath!r}: {exc}") from None
        names = set()
        for _, field, _, _ in parsed:
            if field is not None:
                name = field.split(".")[0].split("[")[0]
                if not name or name.isdigit():
                    raise InvalidArgumentError(
                        f"ModelCheckpoint: filepath {self.filepath!r} has a positional placeholder {{{field}}}; "
                        "name a logs key, e.g. {epoch:02d} or {val_loss:.2f}"
                    )
                names.add(name)
        return names

    def on_train_begin(self, logs=None):
        # Refused now, before any weight changes, rather than at the first
        # save after an epoch of training: a placeholder no log will have.
        if self.save_freq == "epoch":
            available = {"epoch", *self.params.get("metrics", ())}
        else:  # batch logs: running means of loss and metrics, no validation
            available = {"epoch", "batch", *(k for k in self.params.get("metrics", ()) if not k.startswith("val_"))}
            available.discard("learning_rate")
        missing = sorted(self._fields() - available)
        if missing:
            raise InvalidArgumentError(
                f"ModelCheckpoint: filepath {self.filepath!r} names {', '.join(map(repr, missing))}, which no log of "
                f"this fit will have (available: {', '.join(sorted(available))})"
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches >= self.save_freq:
            self._batches = 0
            self._save(self._epoch, logs, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def _save(self, epoch, logs, batch=None):
        logs = dict(logs or {})
        value = logs.get(self.monitor)
        if self.save_best_only:
            if value is None:
                warnings.warn(
                    f"ModelCheckpoint: monitor {self.monitor!r} is not in the logs ({', '.join(logs)}); not saving",
                    RuntimeWarning,
                )
                return
            if not self._improved(value):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
        path = self._path(epoch, logs, batch)
        if self.verbose:
            improved = f"{self.monitor} improved from {self.best:.5f} to {value:.5f}, " if self.save_best_only else ""
            print(f"Epoch {epoch + 1}: {improved}saving {'weights' if self.save_weights_only else 'model'} to {path}")
        folder = os.path.dirname(path)
        if folder:
            try:
                os.makedirs(folder, exist_ok=True)  # as Keras does: a missing folder is created
            except OSError as exc:
                from framework import saving

                raise saving.error(path, f"cannot create its folder: {exc.strerror or exc}", "save") from None
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.save_best_only:
            self.best = value  # only once saved: a failed save must not raise the bar
