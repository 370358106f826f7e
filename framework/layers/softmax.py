"""Softmax over the last axis: ``out = exp(x) / sum(exp(x))``."""

from framework.errors import InvalidArgumentError
from framework.layers.base import Layer


class Softmax(Layer):
    """``y = exp(x) / sum(exp(x), axis)``; any shape, `axis` -1 (Keras's default).

    Backward: dy_i/dx_j = y_i (delta_ij - y_j). The full Jacobian is never
    built; its product with ``dout`` is::

        dx_j = sum_i dout_i y_i (delta_ij - y_j) = y_j * (dout_j - sum_i dout_i y_i)

    For a loss, `SoftmaxWithLoss` fuses this with cross-entropy (simpler and
    exact); this layer is the standalone activation.
    """

    def __init__(self, axis=-1, name=None):
        super().__init__(name=name)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise InvalidArgumentError(f"Softmax: axis must be an integer, got axis={axis!r}")
        self.axis = axis
        self.out = None

    def compute_output_shape(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape) or self.axis in (0, -len(input_shape)):
            raise InvalidArgumentError(
                f"{self.name}: axis={self.axis} is not a feature axis of inputs of shape {tuple(input_shape)}"
            )
        return tuple(input_shape)

    def forward(self, x, training=False):
        # Shifting by the max keeps exp() from overflowing; softmax is unchanged.
        exp = self.xp.exp(x - x.max(axis=self.axis, keepdims=True))
        self.out = exp / exp.sum(axis=self.axis, keepdims=True)
        return self.out

    def backward(self, dout):
        y = self.out
        return y * (dout - (dout * y).sum(axis=self.axis, keepdims=True))

    def get_config(self):
        return {"name": self.name, "axis": self.axis}
