"""Affine (fully connected) layer: ``out = x @ W + b``. Keras calls it ``Dense``."""

import math

import numpy as np  # dtype sizes only, for the error message

from framework import activations, initializers, regularizers
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

    With ``activation="relu"`` (any registered activation name) the layer
    ends with that activation layer's own forward, and its backward runs
    first: ``out = act(x @ W + b)``. Regularizers add their penalty's
    gradient to ``grads`` and report the penalty in `regularization_loss`.

    Args:
        units: number of outputs. ``W`` and ``b`` are created at build time.
        activation: None (default) or an activation name, e.g. ``"relu"``.
        kernel_initializer: how ``W`` starts: a Keras name
            (``"glorot_uniform"``, the default, ``"he_normal"``, ...), an
            initializer object such as ``RandomNormal(0.0, 0.01)``, a std such
            as 0.01, or a callable ``(shape, dtype) -> array``.
        bias_initializer: how ``b`` starts, likewise (default ``"zeros"``).
        kernel_regularizer, bias_regularizer: None or a regularizer such as
            ``fw.regularizers.L2(1e-4)``.
        use_bias: whether to add ``b``.
        weight_init: the older name of `kernel_initializer`, still accepted.
        W: a given weight array of shape (D, units) instead (the book's
            ``Affine(W, b)``); ``units`` then comes from ``W``. Float arrays
            keep their dtype; integer ones are cast to ``floatx()``.
        b: the given bias of shape (units,), with ``W``.
    """

    def __init__(self, units=None, activation=None, *, W=None, b=None, use_bias=True, kernel_initializer=None,
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, weight_init=None, name=None):
        super().__init__(name=name)
        if weight_init is not None and kernel_initializer is not None and weight_init != kernel_initializer:
            raise InvalidArgumentError(
                f"Affine: weight_init is the older name of kernel_initializer; give one, got "
                f"kernel_initializer={kernel_initializer!r} and weight_init={weight_init!r}"
            )
        if kernel_initializer is None:
            kernel_initializer = "glorot_uniform" if weight_init is None else weight_init
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
        # Everything is checked (and may raise) before any attribute is set.
        kernel_init = initializers.get(kernel_initializer, "kernel_initializer")
        bias_init = initializers.get(bias_initializer, "bias_initializer")
        kernel_reg = regularizers.get(kernel_regularizer, "kernel_regularizer")
        bias_reg = regularizers.get(bias_regularizer, "bias_regularizer")
        self.activation = activations.get(activation)
        self.activation_name = activation
        self.activation_fused = False  # set by compile when a loss takes over the activation
        self.kernel_initializer, self._kernel_given = kernel_init, kernel_initializer
        self.bias_initializer, self._bias_given = bias_init, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_reg, bias_reg
        if W is not None:
            backend = get_backend()
            # Given float arrays keep their dtype: float64 weights give a float64 layer.
            # Integer ones become floatx() now, as Keras casts to the layer's float
            # dtype (they could never be trained: updates are fractional).
            self.params["W"] = _float_weight(backend.asarray(W), "W")
            if b is not None:
                self.params["b"] = _float_weight(backend.asarray(b), "b", self.params["W"].dtype)
        self.x = None
        self.original_x_shape = None

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # checks the shapes before creating anything
        fan_in = math.prod(input_shape[1:])
        if "W" not in self.params:
            shape = (fan_in, self.units)
            try:
                W = self.kernel_initializer(shape, floatx())
                b = self.bias_initializer((self.units,), floatx()) if self.use_bias else None
            except MemoryError:
                size = math.prod(shape) * np.dtype(floatx()).itemsize
                raise InvalidArgumentError(
                    f"{self.name}: cannot allocate W of shape {shape} ({size:,} bytes of {floatx()}) for "
                    f"units={self.units} and {fan_in:,} input features"
                ) from None
            self.params["W"] = W
            if b is not None:
                self.params["b"] = b
        if self.activation is not None:
            self.activation.build((input_shape[0], self.units))
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
        if self.activation is not None and not self.activation_fused:
            out = self.activation.forward(out, training)
        return out

    def backward(self, dout):
        if self.activation is not None and not self.activation_fused:
            dout = self.activation.backward(dout)
        self.grads["W"] = self.x.T @ dout
        if self.kernel_regularizer is not None:
            self.grads["W"] += self.kernel_regularizer.gradient(self.params["W"])
        if self.use_bias:
            self.grads["b"] = dout.sum(axis=0)
            if self.bias_regularizer is not None:
                self.grads["b"] += self.bias_regularizer.gradient(self.params["b"])
        if not self.needs_input_grad:
            return None
        dx = dout @ self.params["W"].T
        return dx.reshape(self.original_x_shape)

    def regularization_loss(self):
        """The regularizers' penalty on ``W`` and ``b`` (0.0 without regularizers)."""
        loss = 0.0
        if self.kernel_regularizer is not None:
            loss = loss + self.kernel_regularizer(self.params["W"])
        if self.bias_regularizer is not None and self.use_bias:
            loss = loss + self.bias_regularizer(self.params["b"])
        return loss

    @property
    def type_label(self):
        """How `summary()` shows it: ``Affine(relu)`` with an activation."""
        return type(self).__name__ + (f"({self.activation_name})" if self.activation is not None else "")

    def get_config(self):
        config = {"name": self.name, "units": self.units, "activation": self.activation_name,
                  "use_bias": self.use_bias}
        # A user callable cannot be described; the weights it drew are saved anyway.
        kernel = initializers.to_config(self.kernel_initializer, self._kernel_given)
        if isinstance(self._kernel_given, (int, float)) and not isinstance(self._kernel_given, bool):
            kernel = self._kernel_given  # the book's std, kept as given
        config["kernel_initializer"] = "glorot_uniform" if kernel is None else kernel
        bias = initializers.to_config(self.bias_initializer, self._bias_given)
        config["bias_initializer"] = "zeros" if bias is None else bias
        config["kernel_regularizer"] = regularizers.to_config(self.kernel_regularizer, "kernel_regularizer")
        config["bias_regularizer"] = regularizers.to_config(self.bias_regularizer, "bias_regularizer")
        return config


def _float_weight(array, argument, dtype=None):
    """`array` as given if float; integers and booleans cast to `dtype` (default floatx()); others refused."""
    kind = array.dtype.kind
    if kind == "f":
        return array
    if kind not in "biu":
        raise InvalidArgumentError(f"Affine: {argument} must hold real numbers, got dtype {array.dtype}")
    return array.astype(dtype or floatx())


Dense = Affine
