"""`LearningRateScheduler`: set the learning rate at the start of each epoch from a function (Keras's)."""

import inspect
import math

from framework.errors import InvalidArgumentError
from framework.training.callbacks import Callback


class LearningRateScheduler(Callback):
    """At each epoch's start, ``optimizer.learning_rate = schedule(epoch, lr)``.

    Args:
        schedule: a function of the epoch (counted from 0) and the current
            learning rate, returning the new rate; a function of the epoch
            alone is accepted too.
        verbose: 1 prints each change.

    For a rate that changes every step, give the optimizer a schedule from
    `framework.schedules` instead; an optimizer with such a schedule refuses
    this callback when training begins.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise InvalidArgumentError(f"LearningRateScheduler: schedule must be callable, got schedule={schedule!r}")
        self.schedule = schedule
        self.verbose = verbose
        self._arguments = _positional_count(schedule)

    def on_train_begin(self, logs=None):
        if self.model.optimizer.schedule is not None:
            raise InvalidArgumentError(
                f"LearningRateScheduler: the optimizer's learning rate is the schedule {self.model.optimizer.schedule!r}; "
                "give it a float learning rate to set the rate per epoch"
            )

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        old = optimizer.learning_rate
        new = self.schedule(epoch, old) if self._arguments >= 2 else self.schedule(epoch)
        if isinstance(new, bool) or not isinstance(new, (int, float)) or not math.isfinite(new) or new <= 0:
            raise InvalidArgumentError(
                f"LearningRateScheduler: schedule({epoch}{', ' + repr(old) if self._arguments >= 2 else ''}) must "
                f"return a positive finite float, got {new!r}"
            )
        optimizer.learning_rate = float(new)
        if self.verbose and new != old:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new)}.")


def _positional_count(fn):
    """How many positional arguments `fn` takes (2 when it takes *args or cannot be inspected)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in parameters)
