"""Optimizers: ``fw.optimizers.SGD(learning_rate=0.1)``, or a name in `compile`.

The built-in `SGD` and `Adam` live in the ``optimizers`` plugin; plugin
optimizers are found by name with `get`.
"""

from framework.errors import InvalidArgumentError
from framework.optimizers.base import Optimizer
from framework.plugins.optimizers import SGD, Adam

__all__ = ["Optimizer", "SGD", "Adam", "get"]


def get(identifier):
    """An optimizer instance from an instance or a registered name (case-insensitive: ``"sgd"``)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        from framework import registry

        return registry.get("optimizers", identifier, what="optimizer").obj()
    raise InvalidArgumentError(f"optimizer must be an Optimizer or a name such as 'sgd', got {identifier!r}")
