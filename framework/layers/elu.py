"""ELU: ``out = x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""

from framework.backend import get_backend
from framework.errors import InvalidArgumentError
from framework.layers.base import Layer


class ELU(Layer):
    """``out = x if x > 0 else alpha * (exp(x) - 1)``, elementwise; any shape.

    Backward: for x > 0 the derivative is 1; for x <= 0 it is
    ``alpha * exp(x) = out + alpha``, so the cached output serves::

        dx = dout * where(x > 0, 1, out + alpha)

    Args:
        alpha: the value approached as x -> -inf (Keras's default 1.0).
    """

    def __init__(self, alpha=1.0, name=None):
        super().__init__(name=name)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not abs(alpha) < float("inf"):
            raise InvalidArgumentError(f"ELU: alpha must be a finite number, got alpha={alpha!r}")
        self.alpha = float(alpha)
        self.mask = None
        self.out = None

    def forward(self, x, training=False):
        xp = self.xp
        self.mask = x > 0
        # expm1 of min(x, 0): exact near 0, and exp never overflows on the
        # positive side that where() discards anyway.
        negative = self.alpha * xp.expm1(xp.minimum(x, 0.0))
        self.out = get_backend().where(self.mask, x, negative)  # xp.where, without branches on NumPy
        return self.out

    def backward(self, dout):
        return dout * get_backend().where(self.mask, 1.0, self.out + self.alpha)

    def get_config(self):
        return {"name": self.name, "alpha": self.alpha}
