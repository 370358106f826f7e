"""Learning-rate schedules: ``SGD(learning_rate=fw.schedules.InverseSqrtDecay(0.1))``.

A schedule maps the optimizer's step (its `iterations`, 0 for the first
update) to a learning rate. Schedules are a registered kind (hook
``register_schedules``): a checkpoint names them by registered name and a
flat config, as it names layers.
"""

from framework.errors import InvalidArgumentError
from framework.schedules.base import LearningRateSchedule
from framework.schedules.cosine import CosineDecay
from framework.schedules.exponential import ExponentialDecay
from framework.schedules.inverse_sqrt import InverseSqrtDecay
from framework.schedules.inverse_time import InverseTimeDecay
from framework.schedules.piecewise_constant import PiecewiseConstantDecay

__all__ = [
    "LearningRateSchedule", "InverseSqrtDecay", "InverseTimeDecay", "ExponentialDecay", "PiecewiseConstantDecay",
    "CosineDecay", "get",
]


def get(identifier):
    """A schedule from an instance, a ``{"class_name", "config"}`` spec, or None (-> None).

    A bare name is refused: every schedule needs its arguments.
    """
    from framework import registry, serialization

    if identifier is None or isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return serialization.from_nested_spec("schedules", identifier, "schedule", base=LearningRateSchedule)
    if isinstance(identifier, str):
        registry.get("schedules", identifier, what="schedule")  # an unknown name lists the known ones
        raise InvalidArgumentError(
            f"schedule {identifier!r} needs its arguments: give an instance, e.g. "
            f"fw.schedules.{identifier}(...), or a {{'class_name': {identifier!r}, 'config': {{...}}}} spec"
        )
    raise InvalidArgumentError(f"schedule must be a LearningRateSchedule, a spec dict or None, got {identifier!r}")
