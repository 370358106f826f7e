"""`ReduceLROnPlateau`: lower the learning rate when a metric stops improving (Keras's)."""

import math
import warnings

from framework.errors import InvalidArgumentError
from framework.training.callbacks import Callback, check_monitor, check_number, is_better, monitor_mode


class ReduceLROnPlateau(Callback):
    """After `patience` epochs without improvement of `monitor`, ``lr <- max(lr * factor, min_lr)``.

    Args:
        monitor: a key of the epoch logs, e.g. ``"val_loss"``.
        factor: the multiplier, in (0, 1).
        patience: epochs without improvement before reducing.
        verbose: 1 prints each reduction.
        mode: ``"min"``, ``"max"``, or ``"auto"`` (max for accuracies, else min).
        min_delta: an improvement must beat the best value by more than this.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the rate never goes below this.

    The optimizer's new rate is part of its config, so a checkpoint saved
    after a reduction resumes with the reduced rate.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        super().__init__()
        who = "ReduceLROnPlateau"
        self.monitor = check_monitor(monitor, who)
        self.mode = monitor_mode(monitor, mode, who)
        self.factor = check_number(factor, "factor", who)
        if not 0.0 < self.factor < 1.0:
            raise InvalidArgumentError(f"{who}: factor must be in (0, 1), got factor={factor!r}")
        for value, argument in ((patience, "patience"), (cooldown, "cooldown")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidArgumentError(f"{who}: {argument} must be a non-negative integer, got {argument}={value!r}")
        self.patience, self.cooldown = patience, cooldown
        self.min_delta = abs(check_number(min_delta, "min_delta", who))
        self.min_lr = check_number(min_lr, "min_lr", who)
        if self.min_lr < 0:
            raise InvalidArgumentError(f"{who}: min_lr must be >= 0, got min_lr={min_lr!r}")
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        if self.model.optimizer.schedule is not None:
            raise InvalidArgumentError(
                f"ReduceLROnPlateau: the optimizer's learning rate is the schedule {self.model.optimizer.schedule!r}, "
                "which cannot be reduced; give it a float learning rate"
            )
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(
                f"ReduceLROnPlateau: monitor {self.monitor!r} is not in the logs ({', '.join(logs or {})})", RuntimeWarning
            )
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if is_better(value, self.best, self.mode, self.min_delta):
            self.best = value
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            optimizer = self.model.optimizer
            old = optimizer.learning_rate
            if old > self.min_lr:
                optimizer.learning_rate = max(old * self.factor, self.min_lr)
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {optimizer.learning_rate}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0
