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
        # The book's mask, applied by a multiply rather than by assigning
        # into a copy: several times faster, and `x` stays untouched.
        self.mask = x > 0
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask
