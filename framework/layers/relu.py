"""ReLU: ``out = max(x, 0)``."""

from framework.backend import get_backend
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
        self._zero = None  # zeros shaped like one sample: see forward

    def forward(self, x, training=False):
        # The backend may make out and mask in one compiled pass, with the same
        # numbers (backends/numpy_fused_relu.py); these lines are the reference.
        fused = get_backend().fused_relu(x)
        if fused is not None:
            out, self.mask = fused
            return out
        # maximum, not the book's x * mask: that gives -0.0 for negative x
        # and NaN for -inf (-inf * 0); maximum gives exactly +0.0 there, keeps
        # +inf, and still passes NaN on, so a diverging run shows.
        out = self.xp.maximum(x, self._zeros_like_sample(x))
        # out > 0 exactly where x > 0 (a NaN is neither). `out`, and so the mask,
        # lie in memory as `x` does (see _zeros_like_sample), and so will `dout`.
        self.mask = out > 0
        return out

    def backward(self, dout):
        fused = get_backend().fused_relu_backward(dout, self.mask)  # the same numbers, or None
        if fused is not None:
            return fused
        return dout * self.mask

    def _zeros_like_sample(self, x):
        """0 as an array shaped and laid out like one sample of `x`, made once per shape and layout.

        The same numbers as ``maximum(x, 0.0)``, 2-2.5x faster: NumPy runs
        maximum in its vectorised loop only when both operands are arrays
        along the row; against the scalar 0.0 it goes element by element.
        Laid out as `x`, the zeros leave NumPy free to lay `out` out as `x`:
        a channels-last convolution hands over a transposed view of its
        channels-first memory, and reading that view into channels-last
        memory took twice as long as the maximum, and again in the
        convolution's backward to turn the gradient back.
        """
        zero = self._zero
        shape = x.shape[1:] if x.ndim > 1 else x.shape
        if (zero is None or zero.shape != shape or zero.dtype != x.dtype or type(zero) is not type(x)
                or not _same_layout(zero, x)):
            if x.ndim > 1 and x.shape[0] > 0:
                zero = self.xp.zeros_like(x[0])  # order="K": laid out as a sample
            else:
                zero = self.xp.zeros(shape, dtype=x.dtype)
            self._zero = zero
        return zero


def _same_layout(zero, x):
    """Whether one sample's `zero` has its axes in memory in the order that `x`'s samples have."""
    if zero.flags.c_contiguous and x.flags.c_contiguous:
        return True
    sample_strides = x.strides[x.ndim - zero.ndim:]
    return (sorted(range(zero.ndim), key=zero.strides.__getitem__)
            == sorted(range(zero.ndim), key=sample_strides.__getitem__))
