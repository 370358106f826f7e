"""Leaky ReLU: ``out = x`` for x > 0, ``negative_slope * x`` otherwise."""

from framework.backend import get_backend
from framework.errors import InvalidArgumentError
from framework.layers.base import Layer


class LeakyReLU(Layer):
    """``out = x if x > 0 else negative_slope * x``, elementwise; any shape.

    Backward: the derivative is 1 where ``x > 0`` and ``negative_slope``
    elsewhere, so ``dx = dout * where(x > 0, 1, negative_slope)``.

    Args:
        negative_slope: the slope for x <= 0, >= 0; Keras's layer default 0.3
            (the activation name ``"leaky_relu"`` uses Keras's function
            default, 0.2).
        alpha: the older name of `negative_slope` (Keras 2), accepted.
    """

    def __init__(self, negative_slope=0.3, name=None, alpha=None):
        super().__init__(name=name)
        if alpha is not None:
            negative_slope = alpha
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)) or not negative_slope >= 0:
            raise InvalidArgumentError(
                f"LeakyReLU: negative_slope must be a number >= 0, got negative_slope={negative_slope!r}"
            )
        self.negative_slope = float(negative_slope)  # a Python float: float32 stays float32
        self.mask = None

    def forward(self, x, training=False):
        self.mask = x > 0
        return get_backend().where(self.mask, x, x * self.negative_slope)  # xp.where, without branches on NumPy

    def backward(self, dout):
        return get_backend().where(self.mask, dout, dout * self.negative_slope)

    def get_config(self):
        return {"name": self.name, "negative_slope": self.negative_slope}
