"""Callbacks: code that runs at fixed points of `fit` (Keras's hooks and names).

``logs`` is a dict of the current values: at batch end the running means of
the epoch so far (``loss``, ``accuracy``), at epoch end the epoch's means and
the validation results (``val_loss``, ``val_accuracy``).
"""

import math
import numbers
import warnings

from framework.errors import InvalidArgumentError


def monitor_mode(monitor, mode, who):
    """``"min"`` or ``"max"`` for `monitor`: ``"auto"`` maximises accuracies and AUCs, minimises the rest."""
    if mode not in ("auto", "min", "max"):
        raise InvalidArgumentError(f"{who}: mode must be 'auto', 'min' or 'max', got mode={mode!r}")
    if mode == "auto":
        return "max" if ("acc" in monitor or monitor.endswith("auc") or monitor.startswith("fmeasure")) else "min"
    return mode


def check_monitor(monitor, who):
    """`monitor`, a logs key; anything but a string raises `InvalidArgumentError` when the callback is made."""
    if not isinstance(monitor, str) or not monitor:
        raise InvalidArgumentError(f"{who}: monitor must be a logs key such as 'val_loss', got monitor={monitor!r}")
    return monitor


def check_number(value, argument, who, optional=False):
    """`value` as a finite Python float (or None if `optional`), checked when the callback is made."""
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        expected = "a finite number or None" if optional else "a finite number"
        raise InvalidArgumentError(f"{who}: {argument} must be {expected}, got {argument}={value!r}")
    return float(value)


def is_better(value, reference, mode, min_delta=0.0):
    """Whether `value` improves on `reference` by more than `min_delta`, in `mode`."""
    return value < reference - min_delta if mode == "min" else value > reference + min_delta


class Callback:
    """Base class: override any of the hooks. ``self.model`` is the model being trained.

    A hook may set ``model.stop_training`` or change the optimizer's
    ``learning_rate``; ``model.compile`` during ``fit`` raises
    `InvalidArgumentError` (see `Sequential.compile`).
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        """``params``: ``epochs``, ``steps`` (batches per epoch), ``verbose``."""
        self.params = params

    def on_train_begin(self, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_epoch_begin(self, epoch, logs=None): ...

    def on_epoch_end(self, epoch, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None): ...

    def on_train_batch_end(self, batch, logs=None): ...


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args, **kwargs):
            for callback in self.callbacks:
                getattr(callback, hook)(*args, **kwargs)

        return call


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"]`` is the list of epoch losses."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []  # like Keras, a new fit starts a new record
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class EarlyStopping(Callback):
    """Stop training when `monitor` has stopped improving.

    Args:
        monitor: a key of the epoch logs, e.g. ``"val_loss"``.
        min_delta: smaller changes do not count as improvement.
        patience: epochs without improvement before stopping.
        mode: ``"min"``, ``"max"``, or ``"auto"`` (max for accuracies, else min).
        baseline: stop if the monitored value does not beat this.
        restore_best_weights: put back the weights of the best epoch at the
            end of training, whether or not it stopped early (Keras 3).
        start_from_epoch: epochs to wait before monitoring at all (a warm-up
            in which nothing counts as best and nothing stops training).
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        check_monitor(monitor, "EarlyStopping")
        self.mode = monitor_mode(monitor, mode, "EarlyStopping")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise InvalidArgumentError(f"EarlyStopping: patience must be a non-negative integer, got patience={patience!r}")
        if isinstance(start_from_epoch, bool) or not isinstance(start_from_epoch, int) or start_from_epoch < 0:
            raise InvalidArgumentError(
                f"EarlyStopping: start_from_epoch must be a non-negative integer, got start_from_epoch={start_from_epoch!r}"
            )
        self.start_from_epoch = start_from_epoch
        self.monitor = monitor
        self.min_delta = abs(check_number(min_delta, "min_delta", "EarlyStopping"))
        self.patience = patience
        self.verbose = verbose
        self.baseline = check_number(baseline, "baseline", "EarlyStopping", optional=True)
        self.restore_best_weights = restore_best_weights
        self.stopped_epoch = 0

    def _improved(self, value, reference):
        return is_better(value, reference, self.mode, self.min_delta)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(
                f"EarlyStopping: monitor {self.monitor!r} is not in the logs ({', '.join(logs or {})})", RuntimeWarning
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._improved(value, self.best):
            self.best = value
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping (best {self.monitor}={self.best:.4f} at epoch {self.best_epoch + 1})")

    def on_train_end(self, logs=None):
        # Keras 3 restores here, so a run that never stopped early ends on its best weights too.
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}")
            self.model.set_weights(self.best_weights)
