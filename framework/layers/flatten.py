"""Flatten: (N, d1, ..., dk) -> (N, d1*...*dk), in the array's own order."""

import math

from framework.errors import InvalidArgumentError
from framework.layers.base import Layer


class Flatten(Layer):
    """Flattens every axis but the batch axis; backward reshapes ``dout`` back.

    The order is the array's own (C order), as Keras: (channels, height,
    width) for channels-first images, (height, width, channels) for
    channels-last ones. Reshaping costs nothing on a contiguous input.
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.x_shape = None

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2:
            raise InvalidArgumentError(f"{self.name}: expected inputs (batch, ...), got input_shape={tuple(input_shape)}")
        return (input_shape[0], math.prod(input_shape[1:]))

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        super().build(input_shape)

    def forward(self, x, training=False):
        if not self.built:
            self.build(x.shape)
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self.x_shape)
