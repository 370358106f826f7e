"""Weight regularizers: a penalty added to the loss, and its gradient.

The regularized objective of the lecture notes (CS231n), as in Keras::

    L = data loss + l2 * sum(W**2)        dL/dW += 2 * l2 * W    (L2)
    L = data loss + l1 * sum(|W|)         dL/dW += l1 * sign(W)  (L1)

A weighted layer given ``kernel_regularizer=L2(1e-4)`` adds
``reg.gradient(W)`` to ``grads["W"]`` in backward and reports ``reg(W)``
through ``layer.regularization_loss()``; the training step adds the sum over
the layers to the reported loss, as Keras does (in `evaluate` too). A
registered kind (hook ``register_regularizers``): ``"l1"``, ``"l2"``,
``"l1_l2"`` and the class names; saved in configs as nested specs.
"""

import math

from framework import registry
from framework.backend import get_backend
from framework.configurable import Configurable
from framework.errors import InvalidArgumentError


def _factor(value, argument, owner):
    """`value` as a Python float (float32 stays float32), refused unless finite and >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InvalidArgumentError(f"{owner}: {argument} must be a finite number >= 0, got {argument}={value!r}")
    return float(value)


class Regularizer(Configurable):
    """Base class: ``reg(W)`` is the penalty (a 0-d backend array), ``reg.gradient(W)`` its derivative."""

    def __call__(self, W):
        raise NotImplementedError

    def gradient(self, W):
        raise NotImplementedError


class L2(Regularizer):
    """``l2 * sum(W**2)``; gradient ``2 * l2 * W``. Keras's default factor 0.01."""

    def __init__(self, l2=0.01):
        self.l2 = _factor(l2, "l2", "L2")

    def __call__(self, W):
        return self.l2 * (W * W).sum()

    def gradient(self, W):
        return (2.0 * self.l2) * W

    def get_config(self):
        return {"l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|W|)``; gradient ``l1 * sign(W)`` (0 at 0, a subgradient). Keras's default factor 0.01."""

    def __init__(self, l1=0.01):
        self.l1 = _factor(l1, "l1", "L1")

    def __call__(self, W):
        return self.l1 * get_backend().xp.abs(W).sum()

    def gradient(self, W):
        return self.l1 * get_backend().xp.sign(W)

    def get_config(self):
        return {"l1": self.l1}


class L1L2(Regularizer):
    """``l1 * sum(|W|) + l2 * sum(W**2)``; Keras's defaults 0.0 for both."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1", "L1L2")
        self.l2 = _factor(l2, "l2", "L1L2")

    def __call__(self, W):
        xp = get_backend().xp
        return self.l1 * xp.abs(W).sum() + self.l2 * (W * W).sum()

    def gradient(self, W):
        return self.l1 * get_backend().xp.sign(W) + (2.0 * self.l2) * W

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


def get(identifier, argument="kernel_regularizer"):
    """A regularizer from a `Regularizer`, a registered name (``"l2"``), a nested spec, or None (none)."""
    from framework import serialization

    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return serialization.from_nested_spec("regularizers", identifier, argument, base=Regularizer)
    if isinstance(identifier, str) and identifier in registry.names("regularizers"):
        return registry.get("regularizers", identifier).obj()
    raise InvalidArgumentError(
        f"{argument} must be None, a Regularizer such as L2(0.01), or one of {', '.join(names())}; "
        f"got {argument}={identifier!r}"
    )


def names():
    """The registered regularizer names."""
    return registry.names("regularizers")


def to_config(reg, argument):
    """A regularizer as a config value: None, or its nested ``{"class_name", "config"}`` spec."""
    from framework import serialization

    return None if reg is None else serialization.nested_spec("regularizers", reg, argument)
