"""The learning-rate schedule contract."""

import math
import numbers

from framework.configurable import Configurable
from framework.errors import InvalidArgumentError


class LearningRateSchedule(Configurable):
    """A learning rate as a function of the optimizer's step: ``schedule(step) -> float``.

    The optimizer calls it with its `iterations` before each update (0 for
    the first), so a resumed run, whose optimizer restores `iterations`, gets
    exactly the rates the uninterrupted run would have. Subclasses write
    `rate(step)` and `get_config`; the config is flat (JSON scalars and
    lists), so a checkpoint stores the schedule by registered name.
    """

    def __call__(self, step):
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise InvalidArgumentError(f"{type(self).__name__}: step must be a non-negative integer, got step={step!r}")
        return float(self.rate(int(step)))

    def rate(self, step):
        raise NotImplementedError

    # -- argument checks, shared by the schedules -----------------------------
    def _number(self, value, argument, low=None, positive=False):
        """`value` as a finite Python float (> 0 with `positive`, >= `low` with `low`)."""
        name = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise InvalidArgumentError(f"{name}: {argument} must be a finite number, got {argument}={value!r}")
        value = float(value)
        if positive and value <= 0:
            raise InvalidArgumentError(f"{name}: {argument} must be > 0, got {argument}={value!r}")
        if low is not None and value < low:
            raise InvalidArgumentError(f"{name}: {argument} must be >= {low}, got {argument}={value!r}")
        return value

    def _count(self, value, argument, positive=True):
        """`value` as an int (> 0, or >= 0 without `positive`)."""
        name = type(self).__name__
        low = 1 if positive else 0
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            kind = "positive" if positive else "non-negative"
            raise InvalidArgumentError(f"{name}: {argument} must be a {kind} integer, got {argument}={value!r}")
        return int(value)
