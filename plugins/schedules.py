"""The built-in learning-rate schedules' registration; the rules live in `framework.schedules`."""

from framework import schedules
from framework.hookspecs import hookimpl


@hookimpl
def register_schedules(register):
    for cls in (schedules.InverseSqrtDecay, schedules.InverseTimeDecay, schedules.ExponentialDecay,
                schedules.PiecewiseConstantDecay, schedules.CosineDecay):
        register(cls)
