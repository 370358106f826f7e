"""Batch normalization: each feature normalized over the batch, then scaled and shifted."""

import math
import numbers

from framework import initializers
from framework.backend import get_backend
from framework.config import floatx
from framework.errors import InvalidArgumentError
from framework.layers.base import Layer


class BatchNormalization(Layer):
    """``out = gamma * xhat + beta``, ``xhat = (x - mean) / sqrt(var + epsilon)``, per feature.

    ``axis`` is the feature axis: 1 (the default) is the features of 2-d
    inputs (N, D) and the channels of this framework's (N, C, H, W) images;
    ``axis=-1`` serves channels-last (N, H, W, C) images. Mean and variance
    are taken over every other axis, so ``gamma``, ``beta`` (trainable
    params) and ``moving_mean``, ``moving_variance`` (non-trainable `state`)
    each have shape (features,).

    In training (``training=True`` and the layer not frozen) ``mean`` and
    ``var`` are the batch's (biased variance, as Keras), and the moving
    statistics follow them as Keras updates them::

        moving_mean     = momentum * moving_mean     + (1 - momentum) * mean
        moving_variance = momentum * moving_variance + (1 - momentum) * var

    At inference, and always when ``trainable`` is False (Keras 3), the
    moving statistics take their place and nothing is updated.

    Backward (the book's chapter 6 layer, axes generalised). With ``m`` values
    per feature, ``xc = x - mean``, ``std = sqrt(var + epsilon)``, ``xhat =
    xc / std`` and sums over the m values of one feature::

        dbeta  = sum(dout)                 dgamma = sum(dout * xhat)
        dxhat  = dout * gamma
        dvar   = sum(dxhat * xc) * (-1/2) std**-3    (var = mean(xc**2))
        dmean  = -sum(dxhat) / std                   (the xc term sums to 0)
        dx     = dxhat / std + dvar * 2 xc / m + dmean / m

    which simplifies, with ``sum(dxhat * xc) / std = sum(dxhat * xhat)``, to::

        dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / std

    At inference ``mean`` and ``std`` are constants, so ``dx = dxhat / std``.

    Args:
        axis: the feature axis (not the batch axis 0); negative counts from the end.
        momentum: of the moving statistics, in [0, 1].
        epsilon: added to the variance, > 0.
        center: learn ``beta`` (else no shift).
        scale: learn ``gamma`` (else no scaling).

    Keras's initializer, regularizer, constraint and ``synchronized``
    arguments are not supported: gamma starts at 1, beta at 0, the moving
    mean at 0 and the moving variance at 1, as Keras's defaults.
    """

    def __init__(self, axis=1, momentum=0.99, epsilon=1e-3, center=True, scale=True, name=None):
        super().__init__(name=name)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or axis == 0:
            raise InvalidArgumentError(
                f"BatchNormalization: axis must be a non-zero integer (0 is the batch axis), got axis={axis!r}"
            )
        for argument, value in (("momentum", momentum), ("epsilon", epsilon)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise InvalidArgumentError(f"BatchNormalization: {argument} must be a number, got {argument}={value!r}")
        if not 0.0 <= momentum <= 1.0:
            raise InvalidArgumentError(f"BatchNormalization: momentum must be in [0, 1], got momentum={momentum!r}")
        if not epsilon > 0.0 or epsilon == float("inf"):
            raise InvalidArgumentError(f"BatchNormalization: epsilon must be a positive number, got epsilon={epsilon!r}")
        for argument, value in (("center", center), ("scale", scale)):
            if not isinstance(value, bool):
                raise InvalidArgumentError(f"BatchNormalization: {argument} must be True or False, got {argument}={value!r}")
        self.axis = int(axis)
        self.momentum = float(momentum)  # Python floats: float32 arithmetic stays float32
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.xhat = None  # cached by forward for backward
        self.std = None
        self.batch_statistics = False  # whether the last forward used the batch's statistics

    def _feature_axis(self, input_shape):
        ndim = len(input_shape)
        axis = self.axis + ndim if self.axis < 0 else self.axis
        if ndim < 2 or not 0 < axis < ndim:
            raise InvalidArgumentError(
                f"{self.name}: axis={self.axis} is not a feature axis of inputs of shape {tuple(input_shape)} "
                "(axis 0 is the batch)"
            )
        return axis

    def compute_output_shape(self, input_shape):
        axis = self._feature_axis(input_shape)
        features = self.state["moving_mean"].shape[0] if "moving_mean" in self.state else None
        if features is not None and input_shape[axis] != features:
            raise InvalidArgumentError(
                f"{self.name}: built for {features} features on axis {self.axis}, got input_shape={tuple(input_shape)}"
            )
        return tuple(input_shape)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        features = (input_shape[self._feature_axis(input_shape)],)
        if "moving_mean" not in self.state:
            dtype, xp = floatx(), self.xp
            if self.scale:
                self.params["gamma"] = xp.ones(features, dtype=dtype)
            if self.center:
                self.params["beta"] = initializers.zeros(features, dtype)
            self.state["moving_mean"] = initializers.zeros(features, dtype)
            self.state["moving_variance"] = xp.ones(features, dtype=dtype)
        super().build(input_shape)

    def _broadcast(self, x):
        """(shape that puts a (features,) vector on the feature axis, the axes to reduce over)."""
        axis = self._feature_axis(x.shape)
        if x.shape[axis] != self.state["moving_mean"].shape[0]:
            self.compute_output_shape(x.shape)  # raises, naming the built number of features
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        return tuple(shape), tuple(i for i in range(x.ndim) if i != axis)

    def forward(self, x, training=False):
        if not self.built:
            self.build(x.shape)
        shape, axes = self._broadcast(x)
        self.batch_statistics = bool(training) and self.trainable  # a frozen layer runs in inference mode
        if self.batch_statistics:
            # The backend may run this branch in one compiled pass, with the
            # same numbers (backends/numpy_fused_bn.py); these lines are the reference.
            fused = self._fused_forward(x, shape)
            if fused is not None:
                return fused
            # NumPy's sums add in memory order: over a C-ordered copy, the same bits
            # for an input in any layout (a channels-last convolution's output is a
            # transposed view of channels-first memory).
            x = self.xp.ascontiguousarray(x)
            mean = _mean(x, axes)
            xc = x - mean
            var = _mean(xc * xc, axes)
            self._update_moving(mean.reshape(-1), var.reshape(-1))
        else:
            xc = x - self.state["moving_mean"].reshape(shape)
            var = self.state["moving_variance"].reshape(shape)
        self.std = self.xp.sqrt(var + self.epsilon)
        self.xhat = xc / self.std
        out = self.xhat * self.params["gamma"].reshape(shape) if self.scale else self.xhat.copy()
        if self.center:
            out += self.params["beta"].reshape(shape)  # in place: `out` is ours
        return out

    def _fused_forward(self, x, shape):
        """`forward`'s batch-statistics branch by the backend's `fused_batch_norm`, or None (`shape` as `_broadcast`'s)."""
        if not (self.scale and self.center):
            return None
        axis = self._feature_axis(x.shape)
        done = get_backend().fused_batch_norm(x, axis, self.params["gamma"], self.params["beta"], self.epsilon)
        if done is None:
            return None
        out, self.xhat, std, mean, var = done
        self.std = std.reshape(shape)
        self._update_moving(mean, var)
        return out

    def _update_moving(self, mean, var):
        # In place, so that anything holding these arrays (a checkpoint being
        # written, set_weights' callers) sees one set of statistics.
        for key, batch in (("moving_mean", mean), ("moving_variance", var)):
            moving = self.state[key]
            moving *= self.momentum
            moving += (1.0 - self.momentum) * batch.astype(moving.dtype, copy=False)  # a copy is a launch on a GPU

    def backward(self, dout):
        shape, axes = self._broadcast(dout)
        if self.batch_statistics and self.needs_input_grad and self.scale and self.center:
            axis = self._feature_axis(dout.shape)
            done = get_backend().fused_batch_norm_backward(dout, axis, self.xhat, self.params["gamma"], self.std)
            if done is not None:  # the lines below, in one compiled pass (as in forward)
                dx, dgamma, dbeta = done
                self.grads["beta"], self.grads["gamma"] = dbeta, dgamma
                return dx
        # C-ordered, for the sums, as x in forward
        dout = self.xp.ascontiguousarray(dout)
        xhat = self.xp.ascontiguousarray(self.xhat) if self.scale or self.batch_statistics else None
        if self.center:
            self.grads["beta"] = _sum(dout, axes).reshape(-1)
        if self.scale:
            self.grads["gamma"] = _sum(dout * xhat, axes).reshape(-1)
            dxhat = dout * self.params["gamma"].reshape(shape)
        else:
            dxhat = dout
        if not self.needs_input_grad:
            return None
        if not self.batch_statistics:
            return dxhat / self.std
        mean_dxhat = _mean(dxhat, axes)
        mean_dxhat_xhat = _mean(dxhat * xhat, axes)
        return (dxhat - mean_dxhat - xhat * mean_dxhat_xhat) / self.std

    def get_config(self):
        return {"name": self.name, "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}


def _sum(x, axes):
    """The sum of `x` over `axes` (0 and the other non-feature axes), kept for broadcasting.

    The samples are added first, elementwise, one after another; then, for
    images, each feature's map (pairwise, as NumPy sums) or pixels. This is
    as accurate as ``x.sum(axis=axes)``, which sums each sample's map first,
    and runs in vector instructions: in NumPy (1.7 times as fast on (100,
    30, 24, 24) maps, 8 times channels last) and in the backend's kernels,
    which add in just this order (backends/numpy_fused_bn.py).
    """
    total = x.sum(axis=0, keepdims=True)
    return total.sum(axis=axes[1:], keepdims=True) if len(axes) > 1 else total


def _mean(x, axes):
    """`_sum` divided by the number of values it added (per feature)."""
    return _sum(x, axes) / math.prod(x.shape[axis] for axis in axes)
