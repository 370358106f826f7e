"""Tanh: ``out = tanh(x)``."""

from framework.layers.base import Layer


class Tanh(Layer):
    """``out = tanh(x)``, elementwise; any shape.

    Backward: tanh'(x) = 1 - tanh(x)**2, so ``dx = dout * (1 - out**2)``
    from the cached output alone.
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.out = None

    def forward(self, x, training=False):
        self.out = self.xp.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out * self.out)
