"""Nodes of a computational graph, from the book's chapter 5: add and multiply.

They take two inputs, so they are used on their own (to see the chain rule at
work), not inside a `Sequential`.
"""

from framework.layers.base import Layer


class AddLayer(Layer):
    """``out = x + y``. Backward: addition passes ``dout`` on unchanged to both inputs."""

    n_inputs = 2

    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout, dout


class MulLayer(Layer):
    """``out = x * y``. Backward: multiplication swaps its inputs, dx = dout * y, dy = dout * x."""

    n_inputs = 2

    def __init__(self, name=None):
        super().__init__(name=name)
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * self.x
