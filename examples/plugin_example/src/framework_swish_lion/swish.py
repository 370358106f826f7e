"""Swish (also called SiLU): ``out = x * sigmoid(x)``."""

from framework.layers import Layer


class Swish(Layer):
    """``out = x * s`` with ``s = sigmoid(x)``, elementwise; any shape.

    Backward, by the product rule and ``s' = s (1 - s)``::

        d out / dx = s + x s (1 - s)

    so forward caches ``x`` and ``s``.
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.x = None
        self.s = None

    def forward(self, x, training=False):
        # sigmoid written with tanh, which never overflows (exp(-x) does in
        # float32).
        self.s = 0.5 * (self.xp.tanh(0.5 * x) + 1.0)
        self.x = x
        return x * self.s

    def backward(self, dout):
        s = self.s
        return dout * (s + self.x * s * (1.0 - s))
