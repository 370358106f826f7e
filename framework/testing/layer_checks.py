"""`check_layer`: a layer against the layer contract of `framework.layers.base`."""

import contextlib

import numpy as np  # host-side inputs and comparisons only

from framework.backend import get_backend
from framework.gradient_check import gradient_check
from framework.layers.base import LossLayer
from framework.random import fixed_noise
from framework.testing import loss_checks
from framework.testing._common import check, checkpoint_path, fail, floatx, host, json_config, max_difference

KIT = "check_layer"


def check_layer(layer, input_shape, *, targets=None, x=None, tolerance=1e-6, seed=0, training=False):
    """Check `layer` against the layer contract; raise `AssertionError` naming the first failed check.

    The checks, in order: ``config`` (JSON, ``from_config(get_config())``
    round trip), ``output shape`` (`compute_output_shape` equals what
    forward returns; forward leaves ``x`` alone), ``backward`` (dx shaped like
    the input, ``grads`` with the keys and shapes of ``params``, ``dout``
    unchanged, a second backward call gives the same grads instead of adding
    to them; loss layers scale with ``dout``), ``gradient`` (every input and
    parameter in float64 against central differences; a loss layer whose
    ``forward`` takes ``sample_weight`` also against the per-sample
    reference of `framework.testing.loss_checks`), ``float32`` (float32
    in, float32 out, float32 dx and grads), ``config round trip output`` (a
    layer rebuilt from the config, given the same weights, computes the same
    output) and ``save/load`` (a model holding the layer survives
    ``model.save`` / ``fw.load_model``: this also catches a layer that is not
    registered).

    Layers with two inputs (`AddLayer`, `MulLayer`) get two inputs of
    `input_shape`, and skip ``save/load``: they cannot sit in a `Sequential`,
    and a checkpoint holds a `Sequential`.

    Args:
        layer: the layer; built for `input_shape` (in float64) if not built yet.
        input_shape: the shape of one input, batch axis first: ``(4, 5)``.
        targets: for a loss layer, the ``t`` of ``forward(x, t)``; default:
            random class indices below ``input_shape[-1]``, one-hot if the
            layer refuses indices.
        x: a NumPy input (a tuple for two inputs) instead of random values,
            e.g. to keep away from a kink; random values are at least 0.1
            away from 0, where ReLU-like layers have theirs.
        tolerance: the largest relative error the gradient check allows.
        seed: for the random inputs, targets and ``dout``.
        training: run the forward calls in training mode (BatchNormalization
            on the batch's statistics, Dropout dropping). The whole check
            then runs inside `framework.random.fixed_noise()`, so a random
            layer draws one mask for all its forward calls; a random plugin
            layer must honour `framework.random.noise_fixed()` to pass.
            The config round trip and save/load compare inference outputs.

    Returns:
        The float64 `GradientCheckReport` (``.max_relative_error``,
        ``.parameters[name]``).
    """
    backend = get_backend()
    rng = np.random.default_rng(seed)
    input_shape = tuple(input_shape)
    n_inputs = layer.n_inputs
    is_loss = isinstance(layer, LossLayer)
    config = json_config(KIT, layer)

    if x is None:
        xs = []
        for _ in range(n_inputs):
            r = rng.standard_normal(input_shape)
            xs.append(r + 0.1 * np.where(r >= 0, 1.0, -1.0))  # |x| >= 0.1: no kink within reach of h
    else:
        xs = list(x) if n_inputs > 1 else [x]
    xs = [np.asarray(xi, dtype=np.float64) for xi in xs]
    t = t_host = None
    if is_loss:
        with check(KIT, "targets"):
            t_host = _targets(layer, input_shape, targets, rng)
            t = backend.asarray(t_host)

    def forward(some_layer, arrays, mode=training):
        device = [backend.asarray(a) for a in arrays]
        if is_loss:
            return some_layer.forward(device[0], t)
        return some_layer.forward(*device) if n_inputs > 1 else some_layer.forward(device[0], training=mode)

    saved_flag = layer.needs_input_grad
    layer.needs_input_grad = True  # the checks need dx, even from a model's first layer
    try:
        # One dropout mask (say) for every forward call of the checks: see `fixed_noise`.
        with fixed_noise() if training else contextlib.nullcontext():
            with floatx("float64"):
                with check(KIT, "build"):
                    if not layer.built:
                        layer.build(input_shape)
                out = _check_shapes(layer, xs, input_shape, is_loss, forward)
                _check_backward(layer, xs, input_shape, out, is_loss, forward, rng)
                with check(KIT, "gradient"):
                    inputs = tuple(xs) if n_inputs > 1 else xs[0]
                    report = gradient_check(layer, inputs, t_host, seed=seed, training=training)
                if not report.max_relative_error <= tolerance:
                    fail(KIT, "gradient", f"max relative error {report.max_relative_error:.3e} > tolerance {tolerance:.0e}\n{report}")
                if is_loss and loss_checks.takes_sample_weight(layer):
                    loss_checks.check_sample_weights(layer, xs[0], t_host, rng)
            _check_float32(layer, config, xs, input_shape, is_loss, forward, rng)
            with floatx("float64"):
                clone = _check_config_output(layer, config, xs, input_shape, forward)
                if n_inputs == 1:
                    _check_save_load(clone, xs[0])
    finally:
        layer.needs_input_grad = saved_flag
    return report


def _targets(layer, input_shape, targets, rng):
    if targets is not None:
        return layer.prepare_targets(targets, input_shape, argument="t")
    indices = rng.integers(0, input_shape[-1], size=input_shape[0])
    try:
        return layer.prepare_targets(indices, input_shape, argument="t")
    except ValueError:  # a layer that takes one-hot labels only
        return layer.prepare_targets(np.eye(input_shape[-1])[indices], input_shape, argument="t")


def _check_shapes(layer, xs, input_shape, is_loss, forward):
    with check(KIT, "output shape"):
        expected = tuple(layer.compute_output_shape(input_shape))
        before = [x.copy() for x in xs]
        if is_loss:  # predict first: backward will use what forward caches
            shape = tuple(layer.predict(get_backend().asarray(xs[0])).shape)
        out = forward(layer, xs)
        if is_loss:
            if getattr(out, "ndim", 0) != 0:
                fail(KIT, "output shape", f"a loss layer's forward must return a scalar, got shape {tuple(out.shape)}")
            what = "predict"
        else:
            shape = tuple(out.shape)
            what = "forward"
        if shape != expected:
            fail(KIT, "output shape", f"compute_output_shape({input_shape}) = {expected}, but {what} returned shape {shape}")
        for i, (x, copy) in enumerate(zip(xs, before)):
            if not np.array_equal(x, copy):
                fail(KIT, "output shape", f"forward modified its input {i} (max change {max_difference(x, copy):.3e})")
    return out


def _check_backward(layer, xs, input_shape, out, is_loss, forward, rng):
    backend = get_backend()
    with check(KIT, "backward"):
        if is_loss:
            dout = 1.0
        else:
            dout_host = rng.standard_normal(tuple(out.shape))
            dout = backend.asarray(dout_host.copy())  # on NumPy, asarray would share dout_host's memory
        dx = layer.backward(dout)
        if not is_loss and not np.array_equal(host(dout), dout_host):
            fail(KIT, "backward", f"backward modified dout (max change {max_difference(host(dout), dout_host):.3e}); it must not")
        dxs = _as_tuple(dx, layer.n_inputs)
        for i, d in enumerate(dxs):
            if d is None or tuple(d.shape) != input_shape:
                shape = None if d is None else tuple(d.shape)
                fail(KIT, "backward", f"dx {i} has shape {shape}, the input has shape {input_shape}")
        if set(layer.grads) != set(layer.params):
            fail(KIT, "backward", f"grads has keys {sorted(layer.grads)}, params has {sorted(layer.params)}; they must match")
        for key, param in layer.params.items():
            if tuple(layer.grads[key].shape) != tuple(param.shape):
                fail(KIT, "backward", f"grads[{key!r}] has shape {tuple(layer.grads[key].shape)}, params[{key!r}] has {tuple(param.shape)}")
        first = {key: host(g) for key, g in layer.grads.items()}
        first_dx = [host(d) for d in dxs]
        again = _as_tuple(layer.backward(dout), layer.n_inputs)
        for key, g in layer.grads.items():
            if not np.array_equal(host(g), first[key]):
                fail(KIT, "backward", f"a second backward call changed grads[{key!r}] (max difference "
                     f"{max_difference(host(g), first[key]):.3e}): backward must overwrite grads, not add to them")
        for i, (d, d0) in enumerate(zip(again, first_dx)):
            if not np.array_equal(host(d), d0):
                fail(KIT, "backward", f"a second backward call returned a different dx {i} (max difference {max_difference(host(d), d0):.3e})")
        if is_loss:
            doubled = host(layer.backward(2.0))
            if not np.allclose(doubled, 2.0 * first_dx[0], rtol=1e-12, atol=1e-15):
                fail(KIT, "backward", "backward(2.0) is not 2 * backward(1.0): a loss layer must scale dx by dout "
                     f"(max difference {max_difference(doubled, 2.0 * first_dx[0]):.3e})")


def _as_tuple(dx, n_inputs):
    if n_inputs == 1:
        return (dx,)
    if not isinstance(dx, (tuple, list)) or len(dx) != n_inputs:
        fail(KIT, "backward", f"a layer with {n_inputs} inputs must return a tuple of {n_inputs} gradients, got {type(dx).__name__}")
    return tuple(dx)


def _check_float32(layer, config, xs, input_shape, is_loss, forward, rng):
    backend = get_backend()
    with floatx("float32"), check(KIT, "float32"):
        fresh = type(layer).from_config(config)
        fresh.build(input_shape)
        fresh.needs_input_grad = True
        out = forward(fresh, [x.astype(np.float32) for x in xs])
        found = {} if is_loss else {"output": out.dtype}
        dout = 1.0 if is_loss else backend.asarray(rng.standard_normal(tuple(out.shape)).astype(np.float32))
        for i, d in enumerate(_as_tuple(fresh.backward(dout), fresh.n_inputs)):
            found[f"dx {i}"] = d.dtype
        found.update({f"params[{k!r}]": p.dtype for k, p in fresh.params.items()})
        found.update({f"grads[{k!r}]": g.dtype for k, g in fresh.grads.items()})
        found.update({f"state[{k!r}]": s.dtype for k, s in fresh.state.items()})
        wrong = {name: str(dtype) for name, dtype in found.items() if str(dtype) != "float32"}
        if wrong:
            fail(KIT, "float32", f"float32 inputs and weights must give float32 results; got {wrong} "
                 "(a NumPy scalar or float64 constant in the math promotes them)")


def _check_config_output(layer, config, xs, input_shape, forward):
    with check(KIT, "config round trip output"):
        clone = type(layer).from_config(config)
        clone.build(input_shape)
        if {k: tuple(p.shape) for k, p in clone.params.items()} != {k: tuple(p.shape) for k, p in layer.params.items()}:
            fail(KIT, "config round trip output", "a layer rebuilt from the config has params "
                 f"{ {k: tuple(p.shape) for k, p in clone.params.items()} }, the original "
                 f"{ {k: tuple(p.shape) for k, p in layer.params.items()} }")
        for key, param in layer.params.items():
            clone.params[key] = param.copy()  # a fresh layer's arrays, so rebinding is safe here
        for key, value in layer.state.items():
            clone.state[key] = value.copy()
        expected, got = host(forward(layer, xs, False)), host(forward(clone, xs, False))
        if not np.allclose(got, expected, rtol=1e-12, atol=1e-12):
            fail(KIT, "config round trip output", "a layer rebuilt from get_config() with the same weights computes "
                 f"a different output (max difference {max_difference(got, expected):.3e}): get_config() misses an argument")
    return clone


def _check_save_load(clone, x):
    with check(KIT, "save/load"):
        from framework import load_model
        from framework.models import Sequential

        model = Sequential([clone])
        model.build((None, *x.shape[1:]))
        expected = model.predict(x)
        with checkpoint_path() as path:
            model.save(path)
            loaded = load_model(path)
        got = loaded.predict(x)
        restored = loaded.layers[0]
        if type(restored) is not type(clone):
            fail(KIT, "save/load", f"the loaded layer is a {type(restored).__name__}, not a {type(clone).__name__}")
        if restored.get_config() != clone.get_config():
            fail(KIT, "save/load", f"the loaded layer's config {restored.get_config()!r} differs from {clone.get_config()!r}")
        if got.shape != expected.shape or not np.array_equal(got, expected):
            fail(KIT, "save/load", f"the loaded model predicts differently (max difference {max_difference(got, expected):.3e})")
