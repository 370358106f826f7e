"""`check_optimizer`: an optimizer against the optimizer contract of `framework.optimizers.base`."""

import copy

import numpy as np  # host-side data and comparisons only

from framework.backend import get_backend
from framework.testing._common import check, checkpoint_path, fail, floatx, host, json_config, max_difference

KIT = "check_optimizer"
SHAPES = {"affine/W": (5, 3), "affine/b": (3,)}


def check_optimizer(optimizer, *, steps=3, seed=0):
    """Check `optimizer` against the optimizer contract; raise `AssertionError` naming the first failed check.

    The checks, in order: ``config`` (JSON, ``from_config(get_config())``
    round trip); ``in place`` (``apply``, hence ``update``, changes the arrays of ``params`` in
    place: rebinding ``params[key]`` to a new array leaves the layer's array
    untouched, and the layer silently stops learning); ``float32`` (float32
    parameters and their state stay float32); ``deterministic`` (two fresh
    copies from the config, given the same params and grads, give identical
    results); ``config`` again (a copy rebuilt from the config updates exactly
    as the optimizer itself); ``state round trip`` (``set_state(get_state())``
    on a fresh copy continues exactly); ``checkpoint`` (a model compiled with
    it, saved and loaded mid-training, takes the same next step: this also
    catches an optimizer that is not registered).

    Every check works on fresh copies; the given optimizer is not changed.

    Args:
        optimizer: the optimizer to check.
        steps: how many updates each check runs.
        seed: for the random parameters and gradients.
    """
    cls = type(optimizer)
    config = json_config(KIT, optimizer)
    rng = np.random.default_rng(seed)
    start = {key: rng.standard_normal(shape).astype(np.float32) for key, shape in SHAPES.items()}
    grads = [{key: rng.standard_normal(shape).astype(np.float32) for key, shape in SHAPES.items()} for _ in range(steps + 1)]

    first = _check_in_place(cls, config, start, grads[:steps])
    with check(KIT, "deterministic"):
        second = _run(cls.from_config(config), start, grads[:steps])[1]
        for key in SHAPES:
            if not np.array_equal(host(second[key]), host(first[key])):
                fail(KIT, "deterministic", f"two copies from the same config, given the same params and grads, differ "
                     f"in {key!r} after {steps} steps (max difference {max_difference(host(second[key]), host(first[key])):.3e})")
    _check_config_behaviour(optimizer, config, start, grads[:steps], first)
    _check_state(cls, config, start, grads, steps)
    _check_checkpoint(cls, config, seed)


def _device(arrays):
    # Copies: on NumPy, asarray would hand back `start` itself, and the updates would change it.
    return {key: get_backend().asarray(np.array(value)) for key, value in arrays.items()}


def _run(optimizer, start, grads_per_step):
    """Apply `grads_per_step` to copies of `start`; return the optimizer and the params dict."""
    backend = get_backend()
    params = _device(start)
    for grads in grads_per_step:
        optimizer.apply(params, {key: backend.asarray(g) for key, g in grads.items()})
    return optimizer, params


def _check_in_place(cls, config, start, grads_per_step):
    backend = get_backend()
    with check(KIT, "in place"):
        optimizer = cls.from_config(config)
        params = _device(start)
        arrays = dict(params)  # what the layers hold
        for step, grads in enumerate(grads_per_step):
            optimizer.apply(params, {key: backend.asarray(g) for key, g in grads.items()})
            for key, array in arrays.items():
                if params[key] is not array:
                    fail(KIT, "in place", f"update() rebound params[{key!r}] to a new array at step {step}; it must change "
                         "the array in place (`param -= step`, not `params[key] = param - step`), or the layer "
                         "keeps its old array and silently stops learning")
        for key, array in arrays.items():
            if np.array_equal(host(array), start[key]):
                fail(KIT, "in place", f"update() left params[{key!r}] unchanged after {len(grads_per_step)} steps with nonzero gradients")
    with check(KIT, "float32"):
        found = {f"params[{key!r}]": array.dtype for key, array in params.items()}
        for slot, table in optimizer.state.items():
            for key, array in (table.items() if isinstance(table, dict) else ()):
                found[f"state[{slot!r}][{key!r}]"] = getattr(array, "dtype", None)
        wrong = {name: str(dtype) for name, dtype in found.items() if str(dtype) != "float32"}
        if wrong:
            fail(KIT, "float32", f"float32 parameters must stay float32, and their state with them; got {wrong}")
    return arrays


def _check_config_behaviour(optimizer, config, start, grads_per_step, expected):
    with check(KIT, "config"):
        twin = copy.deepcopy(optimizer)
        twin.state, twin.iterations = {}, 0  # as new, with every attribute the constructor set
        params = _run(twin, start, grads_per_step)[1]
        for key in SHAPES:
            a, b = host(params[key]), host(expected[key])
            if not np.array_equal(a, b):
                fail(KIT, "config", f"a copy rebuilt from get_config() = {config!r} updates {key!r} differently from "
                     f"the optimizer itself (max difference {max_difference(a, b):.3e}): get_config() misses an argument")


def _check_state(cls, config, start, grads, steps):
    backend = get_backend()
    with check(KIT, "state round trip"):
        original, params = _run(cls.from_config(config), start, grads[: steps - 1])
        restored = cls.from_config(config)
        restored.set_state(original.get_state())
        copies = _device({key: host(p) for key, p in params.items()})
        original.apply(params, {key: backend.asarray(g) for key, g in grads[steps - 1].items()})
        restored.apply(copies, {key: backend.asarray(g) for key, g in grads[steps - 1].items()})
        for key in SHAPES:
            a, b = host(params[key]), host(copies[key])
            if not np.array_equal(a, b):
                fail(KIT, "state round trip", f"after set_state(get_state()) the next step differs in {key!r} "
                     f"(max difference {max_difference(a, b):.3e}): get_state() misses part of the state")


def _check_checkpoint(cls, config, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=8)
    with floatx("float32"), check(KIT, "checkpoint"):
        from framework import layers, load_model
        from framework.models import Sequential

        model = Sequential([layers.Affine(3), layers.SoftmaxWithLoss()])
        model.compile(optimizer=cls.from_config(config))
        for _ in range(2):
            model.train_on_batch(x, y)
        with checkpoint_path() as path:
            model.save(path)
            loaded = load_model(path)
        if type(loaded.optimizer) is not cls or loaded.optimizer.get_config() != config:
            fail(KIT, "checkpoint", f"the loaded model's optimizer is {loaded.optimizer!r}, expected {cls.from_config(config)!r}")
        model.train_on_batch(x, y)
        loaded.train_on_batch(x, y)
        for i, (a, b) in enumerate(zip(model.get_weights(), loaded.get_weights())):
            if not np.array_equal(a, b):
                fail(KIT, "checkpoint", f"after save and load the next step differs in weight {i} "
                     f"(max difference {max_difference(a, b):.3e}): the checkpoint misses part of the optimizer's state")
