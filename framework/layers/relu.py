"""ReLU: ``out = max(x, 0)``."""

from framework.layers.base import Layer


class ReLU(Layer):
    """``out = max(x, 0)``, elementwise; any shape.

    Backward: the derivative is 1 where ``x > 0`` and 0 elsewhere, so the
    gradient flows through the units that were active and stops at the rest.
    """

    default_name = "relu"

    def __init__(self, name=None):
        super().__init__(name=name)
        self.mask = None  # where x > 0

    def forward(self, x, training=False):
        # maximum, not the book's x * mask: that gives -0.0 for negative x
        # and NaN for -inf (-inf * 0); maximum gives exactly +0.0 there, keeps
        # +inf, and still passes NaN on, so a diverging run shows.
        self.mask = x > 0
        return self.xp.maximum(x, 0.0)

    def backward(self, dout):
        return dout * self.mask
