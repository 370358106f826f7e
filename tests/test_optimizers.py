"""Optimizers against independent float64 reference implementations of their update rules."""

import math

import numpy as np
import pytest

import framework as fw
from framework.errors import InvalidArgumentError

rng = np.random.default_rng(0)


def run(optimizer, steps=5):
    """Apply `steps` updates with fixed random gradients; return the trajectory of params."""
    backend = fw.get_backend()
    host = {"a/W": rng.standard_normal((3, 2)), "a/b": rng.standard_normal(2)}
    params = {k: backend.asarray(v.copy()) for k, v in host.items()}  # the numpy backend does not copy
    grads_seq = [{k: rng.standard_normal(v.shape) for k, v in host.items()} for _ in range(steps)]
    for grads in grads_seq:
        optimizer.update(params, {k: backend.asarray(g) for k, g in grads.items()})
    return host, grads_seq, {k: backend.to_numpy(v) for k, v in params.items()}


def test_sgd(backend):
    start, grads_seq, result = run(fw.optimizers.SGD(learning_rate=0.1))
    for key in start:
        expected = start[key] - 0.1 * sum(g[key] for g in grads_seq)
        np.testing.assert_allclose(result[key], expected, rtol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum(backend, nesterov):
    start, grads_seq, result = run(fw.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=nesterov))
    for key in start:
        w, v = start[key].copy(), np.zeros_like(start[key])
        for grads in grads_seq:
            g = grads[key]
            v = 0.9 * v - 0.05 * g
            w = w + (0.9 * v - 0.05 * g if nesterov else v)
        np.testing.assert_allclose(result[key], w, rtol=1e-12)


def test_adam(backend):
    optimizer = fw.optimizers.Adam(learning_rate=0.01)
    start, grads_seq, result = run(optimizer, steps=7)
    for key in start:
        # Kingma & Ba, Algorithm 1, with Keras's placement of epsilon
        w, m, v = start[key].copy(), 0.0, 0.0
        for step, grads in enumerate(grads_seq, start=1):
            g = grads[key]
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g**2
            alpha = 0.01 * math.sqrt(1 - 0.999**step) / (1 - 0.9**step)
            w = w - alpha * m / (np.sqrt(v) + 1e-7)
        np.testing.assert_allclose(result[key], w, rtol=1e-10)
    assert optimizer.iterations == 7
    assert set(optimizer.state) == {"m", "v"} and set(optimizer.state["m"]) == {"a/W", "a/b"}


def test_names_are_case_insensitive():
    assert isinstance(fw.optimizers.get("sgd"), fw.optimizers.SGD)
    assert isinstance(fw.optimizers.get("adam"), fw.optimizers.Adam)
    assert fw.optimizers.get("ADAM").learning_rate == 0.001


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: fw.optimizers.SGD(learning_rate=0), r"learning_rate must be in \(0.0, inf\), got learning_rate=0.0"),
        (lambda: fw.optimizers.SGD(learning_rate="fast"), r"learning_rate must be a number"),
        (lambda: fw.optimizers.SGD(momentum=1.0), r"momentum must be in \[0.0, 1.0\)"),
        (lambda: fw.optimizers.Adam(beta_1=-0.1), r"beta_1 must be in \[0.0, 1.0\)"),
        (lambda: fw.optimizers.Adam(epsilon=0), r"epsilon must be in"),
    ],
)
def test_bad_hyperparameters(make, pattern):
    with pytest.raises(InvalidArgumentError, match=pattern):
        make()


def test_config_round_trip():
    for optimizer in (fw.optimizers.SGD(0.3, momentum=0.5, nesterov=True), fw.optimizers.Adam(0.002, beta_2=0.99)):
        clone = type(optimizer).from_config(optimizer.get_config())
        assert clone.get_config() == optimizer.get_config()


def test_adam_moments_of_dead_units_do_not_linger_as_denormals(backend):
    """A gradient that stays 0 makes m decay by beta_1 a step: from step ~810 it is a float32
    denormal (slow on CPUs), and without flushing it would still be one at step 900.

    On the CPU the flush makes it 0. CuPy flushes every float32 denormal result
    to zero (its kernels are compiled with -ftz=true): there m's step,
    (1 - beta_1) m, becomes 0 once it is below the smallest normal float, and
    m stays a normal number under 10x that one; never a denormal either way."""
    optimizer = fw.optimizers.Adam()
    params = {"a/W": backend.asarray(np.ones(4, dtype="float32"))}
    optimizer.update(params, {"a/W": backend.asarray(np.ones(4, dtype="float32"))})
    zero = {"a/W": backend.asarray(np.zeros(4, dtype="float32"))}
    for _ in range(899):
        optimizer.update(params, zero)
    assert 0.1 * 0.9**899 < np.finfo(np.float32).tiny  # where the unflushed moment would be
    m = backend.to_numpy(optimizer.state["m"]["a/W"])
    tiny = np.finfo(np.float32).tiny
    assert m.dtype == np.float32
    assert not np.any((m != 0) & (np.abs(m) < tiny)), m  # no denormal
    assert np.all(m == 0) if backend.name != "cupy" else np.all(np.abs(m) < 10 * tiny), m
