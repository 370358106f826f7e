"""Sigmoid: ``out = 1 / (1 + exp(-x))``."""

from framework.layers.base import Layer


class Sigmoid(Layer):
    """``out = 1 / (1 + exp(-x))``, elementwise; any shape.

    Backward: d out / dx = out * (1 - out), so the cached output is all that
    backward needs.
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.out = None

    def forward(self, x, training=False):
        # The same function written with tanh, which never overflows
        # (exp(-x) does for x < -88 in float32).
        self.out = 0.5 * (self.xp.tanh(0.5 * x) + 1.0)
        return self.out

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)
