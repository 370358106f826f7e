"""Affine (fully connected) layer: ``out = x @ W + b``. Keras calls it ``Dense``."""

import math

from framework import initializers
from framework.backend import get_backend
from framework.config import floatx
from framework.errors import InvalidArgumentError
from framework.layers.base import Layer


class Affine(Layer):
    """``out = x @ W + b``.

    Shapes: ``x`` (N, d1, ..., dk) is flattened to (N, D), D = d1*...*dk (as in
    the book, so an Affine can follow a convolution); ``W`` (D, units); ``b``
    (units,); ``out`` (N, units).

    Backward, by the chain rule on ``out = x W + b``::

        dW = x.T @ dout      db = sum of dout over the batch      dx = dout @ W.T

    Args:
        units: number of outputs. ``W`` and ``b`` are created at build time.
        W: a given weight array of shape (D, units) instead (the book's
            ``Affine(W, b)``); ``units`` then comes from ``W``.
        b: the given bias of shape (units,), with ``W``.
        use_bias: whether to add ``b``.
        weight_init: ``"glorot_uniform"`` (default), ``"he_normal"``, a std
            such as 0.01, or a callable ``(shape, dtype) -> array``.
    """

    def __init__(self, units=None, *, W=None, b=None, use_bias=True, weight_init="glorot_uniform", name=None):
        super().__init__(name=name)
        if W is not None:
            if getattr(W, "ndim", None) != 2:
                raise InvalidArgumentError(f"Affine: W must be a 2-d array (inputs, units), got {getattr(W, 'shape', W)!r}")
            if units is not None and units != W.shape[1]:
                raise InvalidArgumentError(f"Affine: units={units} does not match W of shape {W.shape}")
            units = W.shape[1]
            use_bias = b is not None
            if b is not None and tuple(b.shape) != (units,):
                raise InvalidArgumentError(f"Affine: b must have shape ({units},), got {tuple(b.shape)}")
        elif b is not None:
            raise InvalidArgumentError("Affine: b given without W")
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise InvalidArgumentError(f"Affine: units must be a positive integer, got units={units!r}")
        self.units = units
        self.use_bias = bool(use_bias)
        self.weight_init = weight_init
        self._init = initializers.get(weight_init)
        if W is not None:
            backend = get_backend()
            # Given arrays keep their dtype: float64 weights give a float64 layer.
            self.params["W"] = backend.asarray(W)
            if b is not None:
                self.params["b"] = backend.asarray(b)
        self.x = None
        self.original_x_shape = None

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # checks the shapes before creating anything
        fan_in = math.prod(input_shape[1:])
        if "W" not in self.params:
            self.params["W"] = self._init((fan_in, self.units), floatx())
            if self.use_bias:
                self.params["b"] = initializers.zeros((self.units,), floatx())
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2:
            raise InvalidArgumentError(
                f"{self.name}: expected inputs of shape (batch, features, ...), got input_shape={tuple(input_shape)}"
            )
        fan_in = math.prod(input_shape[1:])
        if "W" in self.params and self.params["W"].shape[0] != fan_in:
            raise InvalidArgumentError(
                f"{self.name}: W has shape {tuple(self.params['W'].shape)} but the inputs have {fan_in} features"
            )
        return (input_shape[0], self.units)

    def forward(self, x, training=False):
        if not self.built:
            self.build(x.shape)
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        out = self.x @ self.params["W"]
        if self.use_bias:
            out += self.params["b"]  # in place: `out` is ours, and this saves a copy
        return out

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        if self.use_bias:
            self.grads["b"] = dout.sum(axis=0)
        if not self.needs_input_grad:
            return None
        dx = dout @ self.params["W"].T
        return dx.reshape(self.original_x_shape)

    def get_config(self):
        weight_init = self.weight_init if isinstance(self.weight_init, (str, int, float)) else "glorot_uniform"
        return {"name": self.name, "units": self.units, "use_bias": self.use_bias, "weight_init": weight_init}


Dense = Affine
