"""Gradient check: the analytic gradient (backward) against the numerical one.

The numerical gradient of a scalar loss L with respect to one number w is the
central difference ``(L(w + h) - L(w - h)) / 2h``: slow (two forward passes
per number) but hard to get wrong. Backward gives every gradient in one pass,
and is easy to get wrong. Comparing the two, in float64, catches a wrong
backward.
"""

from dataclasses import dataclass

import numpy as np  # the comparison runs on the host

from framework.backend import get_backend
from framework.errors import InvalidArgumentError
from framework.layers.base import Layer, LossLayer
from framework.random import fixed_noise


@dataclass
class ParameterCheck:
    """The worst element of one parameter (or input).

    ``relative_error = |analytic - numerical| / max(|analytic| + |numerical|, 1e-8)``.
    """

    name: str
    max_relative_error: float
    index: tuple
    analytic: float
    numerical: float


@dataclass
class GradientCheckReport:
    """Per-parameter results; ``max_relative_error`` is the worst over all of them."""

    parameters: dict

    @property
    def max_relative_error(self):
        """The largest relative error over every parameter (and input)."""
        return max((p.max_relative_error for p in self.parameters.values()), default=0.0)

    @property
    def worst(self):
        """The `ParameterCheck` with the largest error: where to look first."""
        return max(self.parameters.values(), key=lambda p: p.max_relative_error)

    def __str__(self):
        lines = [f"gradient check: max relative error {self.max_relative_error:.3e}"]
        for p in self.parameters.values():
            lines.append(
                f"  {p.name:<24} {p.max_relative_error:.3e} at {p.index}: "
                f"analytic {p.analytic:.6e}, numerical {p.numerical:.6e}"
            )
        return "\n".join(lines)


def relative_error(analytic, numerical):
    """Elementwise ``|a - n| / max(|a| + |n|, 1e-8)``."""
    return np.abs(analytic - numerical) / np.maximum(np.abs(analytic) + np.abs(numerical), 1e-8)


def gradient_check(model_or_layer, x, t=None, epsilon=1e-5, max_elements=None, seed=0, training=False):
    """Compare backward with central differences, in float64.

    Args:
        model_or_layer: a `Sequential` with a loss, a `LossLayer`, or any
            layer. A layer without a loss is checked on ``L = sum(out * r)``
            for a fixed random ``r``, so ``dout = r``.
        x: the input (NumPy); a tuple of inputs for two-input layers.
        t: targets, for a model or a loss layer.
        epsilon: the finite-difference step h.
        max_elements: check at most this many randomly chosen elements per
            parameter (None: all of them).
        seed: for ``r`` and the chosen elements.
        training: run forward in training mode (BatchNormalization on the
            batch's statistics, Dropout dropping). Random layers then draw
            the same noise on every call (`framework.random.fixed_noise`),
            so the check sees one fixed function; non-trainable `state`
            (moving statistics) is restored afterwards.

    Returns:
        A `GradientCheckReport`: for layers it also covers the input
        (``"input"``, or ``"input_0"``, ``"input_1"``).
    """
    from framework.models.sequential import Sequential

    if isinstance(model_or_layer, Sequential):
        problem = _ModelProblem(model_or_layer, x, t, training)
    elif isinstance(model_or_layer, Layer):
        problem = _LayerProblem(model_or_layer, x, t, seed, training)
    else:
        raise InvalidArgumentError(f"gradient_check: expected a Sequential or a Layer, got {type(model_or_layer).__name__}")
    backend = get_backend()
    rng = np.random.default_rng(seed)
    with problem, fixed_noise():
        analytic = {name: backend.to_numpy(g).reshape(-1) for name, g in problem.analytic().items()}
        parameters = {}
        for name, array in problem.targets().items():
            size = int(array.size)
            indices = np.arange(size)
            if max_elements is not None and size > max_elements:
                indices = np.sort(rng.choice(size, max_elements, replace=False))
            numerical = _numerical_gradient(problem.loss, array, indices, epsilon)
            errors = relative_error(analytic[name][indices], numerical)
            worst = int(np.argmax(errors)) if len(errors) else 0
            parameters[name] = ParameterCheck(
                name=name,
                max_relative_error=float(errors[worst]) if len(errors) else 0.0,
                index=tuple(int(i) for i in np.unravel_index(indices[worst], tuple(array.shape))) if size else (),
                analytic=float(analytic[name][indices[worst]]) if size else 0.0,
                numerical=float(numerical[worst]) if size else 0.0,
            )
    return GradientCheckReport(parameters)


def _numerical_gradient(loss, array, indices, epsilon):
    flat = array.reshape(-1)  # a view: writing to it perturbs `array`
    grad = np.empty(len(indices))
    for j, i in enumerate(indices):
        original = float(flat[i])
        flat[i] = original + epsilon
        plus = loss()
        flat[i] = original - epsilon
        minus = loss()
        flat[i] = original
        grad[j] = (plus - minus) / (2.0 * epsilon)
    return grad


def _as_float64(x, argument="x"):
    try:
        host = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"gradient_check: {argument} must be numeric, got {type(x).__name__}: {exc}") from None
    return get_backend().asarray(np.array(host))  # a copy of our own, to perturb


class _Float64Params:
    """Swaps the layers' params and state for float64 copies while checking; restores them after.

    The state's copies absorb what training-mode forward calls write
    (moving statistics), so a check leaves the layers as it found them.
    """

    def __init__(self, layers):
        self.layers = layers

    def __enter__(self):
        self.saved = [(layer.params, layer.grads, layer.state) for layer in self.layers]
        for layer in self.layers:
            layer.params = {key: p.astype("float64") for key, p in layer.params.items()}
            layer.state = {key: s.astype("float64") for key, s in layer.state.items()}
        return self

    def __exit__(self, *exc):
        for layer, (params, grads, state) in zip(self.layers, self.saved):
            layer.params, layer.grads, layer.state = params, grads, state


class _ModelProblem(_Float64Params):
    def __init__(self, model, x, t, training):
        loss_layer = model._loss_layer
        if loss_layer is None:
            raise InvalidArgumentError("gradient_check: the model has no loss; compile it with a loss or end it with a loss layer")
        if t is None:
            raise InvalidArgumentError("gradient_check: a model needs targets t")
        self.x = _as_float64(x)
        model.build((None, *self.x.shape[1:]))
        output_shape = model.compute_output_shape(self.x.shape)
        self.t = get_backend().asarray(loss_layer.prepare_targets(t, output_shape, argument="t"))
        self.model, self.loss_layer, self.training = model, loss_layer, training
        super().__init__(model._body)

    def loss(self):
        penalty = sum(float(layer.regularization_loss()) for layer in self.model._body)
        return float(self.loss_layer.forward(self.model._forward(self.x, training=self.training), self.t)) + penalty

    def analytic(self):
        self.loss()
        self.model._backward(self.loss_layer.backward(1.0))
        return self.model._collect("grads")

    def targets(self):
        return self.model._collect("params")


class _LayerProblem(_Float64Params):
    def __init__(self, layer, x, t, seed, training):
        self.multi = layer.n_inputs > 1
        if self.multi:
            if not isinstance(x, (tuple, list)) or len(x) != layer.n_inputs:
                raise InvalidArgumentError(
                    f"gradient_check: {type(layer).__name__} takes {layer.n_inputs} inputs; give x as a tuple of them"
                )
            self.inputs = {f"input_{i}": _as_float64(xi, f"x[{i}]") for i, xi in enumerate(x)}
        else:
            self.inputs = {"input": _as_float64(x)}
        self.is_loss = isinstance(layer, LossLayer)
        if self.is_loss:
            if t is None:
                raise InvalidArgumentError("gradient_check: a loss layer needs targets t")
            self.t = get_backend().asarray(layer.prepare_targets(t, self.inputs["input"].shape, argument="t"))
        elif not layer.built and not self.multi:
            layer.build(self.inputs["input"].shape)
        self.layer = layer
        self.seed = seed
        self.training = training
        self.r = None
        super().__init__([layer])

    def __enter__(self):
        self.needs_input_grad = self.layer.needs_input_grad
        self.layer.needs_input_grad = True
        return super().__enter__()

    def __exit__(self, *exc):
        self.layer.needs_input_grad = self.needs_input_grad
        return super().__exit__(*exc)

    def _output(self):
        xs = list(self.inputs.values())
        if self.is_loss:
            return self.layer.forward(xs[0], self.t)
        return self.layer.forward(*xs) if self.multi else self.layer.forward(xs[0], training=self.training)

    def loss(self):
        out = self._output()
        if self.is_loss:
            return float(out)
        penalty = float(self.layer.regularization_loss())  # regularizers add their gradient in backward
        if self.r is None:  # L = sum(out * r): a loss whose dL/dout is r
            r = np.random.default_rng(self.seed).standard_normal(tuple(out.shape))
            self.r = get_backend().asarray(r)
        return float((out * self.r).sum()) + penalty

    def analytic(self):
        self.loss()
        dx = self.layer.backward(1.0 if self.is_loss else self.r)
        dxs = dx if self.multi else (dx,)
        grads = dict(zip(self.inputs, dxs))
        grads.update(self.layer.grads)
        return grads

    def targets(self):
        return {**self.inputs, **self.layer.params}
