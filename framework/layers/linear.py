"""Linear (identity) activation: ``out = x``."""

from framework.layers.base import Layer


class Linear(Layer):
    """``out = x``; any shape. Keras's ``activation="linear"`` (or None).

    Backward: d out / dx = 1, so ``dx = dout`` (a copy: callers may write into
    what backward returns, and `dout` must stay untouched).
    """

    def forward(self, x, training=False):
        return x

    def backward(self, dout):
        return dout.copy()
