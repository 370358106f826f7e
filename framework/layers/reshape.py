"""Reshape: (N, ...) -> (N, *target_shape), as Keras's ``Reshape``."""

import math

from framework.errors import InvalidArgumentError
from framework.layers.base import Layer


class Reshape(Layer):
    """Gives each sample the shape `target_shape`; backward reshapes ``dout`` back.

    Args:
        target_shape: the shape of one sample (without the batch axis); one
            entry may be -1, inferred from the input as in Keras.
    """

    def __init__(self, target_shape, name=None):
        super().__init__(name=name)
        shape = tuple(target_shape) if isinstance(target_shape, (tuple, list)) else None
        if (
            not shape
            or not all(isinstance(d, int) and not isinstance(d, bool) and (d >= 1 or d == -1) for d in shape)
            or shape.count(-1) > 1
        ):
            raise InvalidArgumentError(
                "Reshape: target_shape must be a tuple of positive integers with at most one -1, "
                f"got target_shape={target_shape!r}"
            )
        self.target_shape = shape
        self.x_shape = None

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2:
            raise InvalidArgumentError(f"{self.name}: expected inputs (batch, ...), got input_shape={tuple(input_shape)}")
        size = math.prod(input_shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and size != known):
            raise InvalidArgumentError(
                f"{self.name}: cannot reshape inputs of shape {tuple(input_shape)} ({size} values per sample) "
                f"to target_shape={self.target_shape}"
            )
        return (input_shape[0], *(size // known if d == -1 else d for d in self.target_shape))

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        super().build(input_shape)

    def forward(self, x, training=False):
        if not self.built:
            self.build(x.shape)
        self.x_shape = x.shape
        return x.reshape(self.compute_output_shape((x.shape[0], *x.shape[1:])))

    def backward(self, dout):
        return dout.reshape(self.x_shape)

    def get_config(self):
        return {"name": self.name, "target_shape": list(self.target_shape)}
