"""Piecewise constant rates (Keras's `PiecewiseConstantDecay`)."""

from framework.errors import InvalidArgumentError
from framework.schedules.base import LearningRateSchedule


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    `boundaries`: increasing integers; `values`: one more rate than boundaries.
    """

    def __init__(self, boundaries, values):
        name = type(self).__name__
        if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)):
            raise InvalidArgumentError(f"{name}: boundaries and values must be lists, got {boundaries!r} and {values!r}")
        if len(values) != len(boundaries) + 1:
            raise InvalidArgumentError(
                f"{name}: values must have one more entry than boundaries, got {len(values)} values "
                f"for {len(boundaries)} boundaries"
            )
        self.boundaries = [self._count(b, f"boundaries[{i}]", positive=False) for i, b in enumerate(boundaries)]
        if any(a >= b for a, b in zip(self.boundaries, self.boundaries[1:])):
            raise InvalidArgumentError(f"{name}: boundaries must increase strictly, got boundaries={list(boundaries)!r}")
        self.values = [self._number(v, f"values[{i}]", positive=True) for i, v in enumerate(values)]

    def rate(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values)}
