"""Optimizers: ``fw.optimizers.SGD(learning_rate=0.1)``, or a name in `compile`.

One rule per module, each as Keras 3 computes it; the ``optimizers`` plugin
registers them, and plugin optimizers are found by name with `get`
(case-insensitive: ``"adam"``, ``"amsgrad"``, ``"rmsprop"``).
"""

from framework.errors import InvalidArgumentError
from framework.optimizers.adagrad import AdaGrad
from framework.optimizers.adam import Adam
from framework.optimizers.adamw import AdamW
from framework.optimizers.base import Optimizer
from framework.optimizers.nadam import Nadam
from framework.optimizers.rmsprop import RMSprop
from framework.optimizers.sgd import SGD, Momentum, Nesterov

__all__ = ["Optimizer", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "AdamW", "Nadam", "get"]


def get(identifier):
    """An optimizer instance from an instance or a registered name (case-insensitive: ``"sgd"``)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        from framework import plugin_checks, registry

        entry = registry.get("optimizers", identifier, what="optimizer")
        return plugin_checks.check_product(entry.obj(), Optimizer, identifier, entry)
    raise InvalidArgumentError(f"optimizer must be an Optimizer or a name such as 'sgd', got {identifier!r}")
