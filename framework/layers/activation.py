"""Activation(name): any registered activation as a layer, Keras's ``Activation("relu")``."""

from framework import activations
from framework.layers.base import Layer


class Activation(Layer):
    """The activation registered under `activation` (``"relu"``, ``"tanh"``, ...), as a layer.

    Forward and backward are that activation layer's own; the config keeps
    the name. ``Activation("linear")`` (or None) is the identity.
    """

    def __init__(self, activation, name=None):
        super().__init__(name=name)
        self.inner = activations.get(activation) or activations.get("linear")
        self.activation = activation

    @property
    def type_label(self):
        """How `summary()` shows it: ``Activation(relu)``."""
        return f"Activation({self.activation})"

    def compute_output_shape(self, input_shape):
        return tuple(self.inner.compute_output_shape(input_shape))

    def build(self, input_shape):
        self.inner.build(input_shape)
        super().build(input_shape)

    def forward(self, x, training=False):
        return self.inner.forward(x, training=training)

    def backward(self, dout):
        return self.inner.backward(dout)

    def get_config(self):
        return {"name": self.name, "activation": self.activation}
