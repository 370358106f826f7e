"""BatchNormalization against an independent NumPy implementation, the conformance kit and bad input."""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError
from framework.testing import check_layer

from .conftest import to_host


def reference_batch_norm(x, axis, gamma, beta, moving_mean, moving_var, momentum, epsilon, training):
    """Keras's BatchNormalization in plain NumPy: (output, new moving mean, new moving variance)."""
    axis = axis % x.ndim
    reduce = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    if training:
        mean = x.mean(axis=reduce)
        var = x.var(axis=reduce)  # biased, as Keras
        moving_mean = momentum * moving_mean + (1 - momentum) * mean
        moving_var = momentum * moving_var + (1 - momentum) * var
    else:
        mean, var = moving_mean, moving_var
    out = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon)
    return out * gamma.reshape(shape) + beta.reshape(shape), moving_mean, moving_var


CASES = [
    pytest.param((8, 5), 1, id="2d"),
    pytest.param((4, 3, 5, 6), 1, id="channels-first"),
    pytest.param((4, 5, 6, 3), -1, id="channels-last"),
    pytest.param((4, 5, 6, 3), 3, id="channels-last-positive-axis"),
]


@pytest.mark.parametrize("shape, axis", CASES)
def test_forward_and_moving_statistics_match_a_numpy_reference(backend, float64, shape, axis):
    rng = np.random.default_rng(0)
    layer = layers.BatchNormalization(axis=axis, momentum=0.9, epsilon=1e-3)
    layer.build(shape)
    features = shape[axis]
    gamma, beta = rng.normal(1.0, 0.3, features), rng.normal(0.0, 0.3, features)
    layer.set_weights([gamma, beta, np.zeros(features), np.ones(features)])
    moving_mean, moving_var = np.zeros(features), np.ones(features)
    for step in range(5):
        x = rng.normal(2.0, 3.0, shape)
        out = layer.forward(backend.asarray(x), training=True)
        expected, moving_mean, moving_var = reference_batch_norm(
            x, axis, gamma, beta, moving_mean, moving_var, 0.9, 1e-3, training=True
        )
        np.testing.assert_allclose(to_host(backend, out), expected, rtol=1e-10, atol=1e-12)
    got = layer.get_weights()
    np.testing.assert_allclose(got[2], moving_mean, rtol=1e-12)
    np.testing.assert_allclose(got[3], moving_var, rtol=1e-12)
    assert not np.allclose(moving_mean, 0.0)  # the statistics did move
    x = rng.normal(2.0, 3.0, shape)
    out = layer.forward(backend.asarray(x), training=False)
    expected, _, _ = reference_batch_norm(x, axis, gamma, beta, moving_mean, moving_var, 0.9, 1e-3, training=False)
    np.testing.assert_allclose(to_host(backend, out), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.get_weights()[2], moving_mean, rtol=1e-12)  # inference updates nothing


def test_float32_stays_float32_and_matches_the_reference(backend):
    rng = np.random.default_rng(1)
    layer = layers.BatchNormalization()
    x = rng.normal(0.5, 2.0, (16, 4)).astype(np.float32)
    out = layer.forward(backend.asarray(x), training=True)
    dx = layer.backward(backend.asarray(np.ones_like(x)))
    assert out.dtype == dx.dtype == np.float32
    assert {w.dtype for w in layer.get_weights()} == {np.dtype(np.float32)}
    expected, mean, var = reference_batch_norm(x.astype(np.float64), 1, np.ones(4), np.zeros(4), np.zeros(4),
                                               np.ones(4), 0.99, 1e-3, True)
    np.testing.assert_allclose(to_host(backend, out), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[2], mean, rtol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[3], var, rtol=1e-5)


BN_LAYERS = [
    pytest.param(lambda: layers.BatchNormalization(), (6, 4), id="2d"),
    pytest.param(lambda: layers.BatchNormalization(momentum=0.5, epsilon=0.1), (3, 2, 4, 5), id="channels-first"),
    pytest.param(lambda: layers.BatchNormalization(axis=-1, center=False), (3, 4, 5, 2), id="channels-last-no-center"),
    pytest.param(lambda: layers.BatchNormalization(scale=False), (5, 3), id="no-scale"),
    pytest.param(lambda: layers.BatchNormalization(axis=2), (4, 3, 5), id="3d-axis-2"),
]


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("make, input_shape", BN_LAYERS)
def test_conformance_kit(backend, make, input_shape, training):
    layer = make()
    report = check_layer(layer, input_shape, training=training)
    assert report.max_relative_error < 1e-6
    assert set(report.parameters) == {"input"} | set(layer.params)
    assert set(layer.state) == {"moving_mean", "moving_variance"} and not set(layer.state) & set(layer.grads)


def test_training_gradient_check_restores_the_moving_statistics(float64):
    layer = layers.BatchNormalization()
    layer.build((6, 3))
    before = layer.get_weights()
    report = fw.gradient_check(layer, np.random.default_rng(2).normal(size=(6, 3)), training=True)
    assert report.max_relative_error < 1e-6
    for a, b in zip(layer.get_weights(), before):
        assert np.array_equal(a, b)


def test_training_mode_gradient_differs_from_inference_mode(float64):
    """The check really runs in training mode: there dx depends on the whole batch."""
    x = np.random.default_rng(3).normal(size=(5, 2))
    layer = layers.BatchNormalization()
    layer.forward(fw.get_backend().asarray(x), training=True)
    dx_training = layer.backward(np.eye(5, 2))
    layer.forward(fw.get_backend().asarray(x), training=False)
    dx_inference = layer.backward(np.eye(5, 2))
    # In training, the sum over the batch of dx is 0 for every feature (a shift of x changes nothing).
    np.testing.assert_allclose(dx_training.sum(axis=0), 0.0, atol=1e-12)
    assert not np.allclose(dx_inference.sum(axis=0), 0.0)


def test_model_gradient_check_in_training_mode(float64):
    model = fw.Sequential([layers.Affine(4), layers.BatchNormalization(), layers.ReLU(), layers.Affine(3),
                           layers.SoftmaxWithLoss()])
    rng = np.random.default_rng(4)
    x, t = rng.normal(size=(7, 5)), rng.integers(0, 3, 7)
    assert fw.gradient_check(model, x, t, training=True).max_relative_error < 1e-6


def test_a_model_with_batch_normalization_learns_digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(x))  # a shuffled split: the last digits come from other writers
    train, test = order[:1400], order[1400:]
    model = fw.Sequential([layers.Affine(32), layers.BatchNormalization(), layers.ReLU(), layers.Affine(10)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[train], y[train], epochs=5, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x[test], y[test])  # inference: the moving statistics
    assert accuracy > 0.9
    moving_mean = model.layers[1].get_weights()[2]
    assert moving_mean.dtype == np.float32 and np.abs(moving_mean).max() > 0.1  # the statistics moved


@pytest.mark.parametrize("kwargs, argument", [
    ({"axis": 0}, "axis"), ({"axis": 1.0}, "axis"), ({"axis": True}, "axis"), ({"axis": "1"}, "axis"),
    ({"momentum": 1.5}, "momentum"), ({"momentum": -0.1}, "momentum"), ({"momentum": "0.9"}, "momentum"),
    ({"epsilon": 0.0}, "epsilon"), ({"epsilon": -1e-3}, "epsilon"), ({"epsilon": float("nan")}, "epsilon"),
    ({"epsilon": float("inf")}, "epsilon"), ({"center": 1}, "center"), ({"scale": None}, "scale"),
])
def test_bad_arguments_are_refused(kwargs, argument):
    with pytest.raises(InvalidArgumentError, match=f"{argument}="):
        layers.BatchNormalization(**kwargs)


@pytest.mark.parametrize("axis, shape", [(2, (4, 3)), (-3, (4, 3)), (4, (2, 3, 4, 5)), (1, (4,))])
def test_an_axis_the_input_does_not_have_is_refused_before_building(axis, shape):
    layer = layers.BatchNormalization(axis=axis)
    with pytest.raises(InvalidArgumentError, match=f"axis={axis}"):
        layer.build(shape)
    assert not layer.built and layer.params == {} and layer.state == {}


def test_a_built_layer_refuses_another_number_of_features():
    layer = layers.BatchNormalization()
    layer.build((None, 3))
    with pytest.raises(InvalidArgumentError, match="3 features on axis 1"):
        layer.compute_output_shape((None, 4))
    with pytest.raises(InvalidArgumentError, match="built for"):
        fw.Sequential([layer]).build((None, 4))
    with pytest.raises(InvalidArgumentError, match="3 features on axis 1"):
        layer.forward(np.ones((2, 4), dtype=np.float32), training=True)
    assert np.array_equal(layer.get_weights()[2], np.zeros(3))  # nothing changed


@pytest.mark.parametrize("shape, axis", [((100, 30, 24, 24), 1), ((100, 24, 24, 30), -1), ((4096, 64), 1)])
def test_float32_batch_statistics_are_as_accurate_as_numpy_mean(shape, axis):
    """The layer sums the samples first (its `_sum`): its float32 mean and variance are as close to
    float64's as NumPy's own ``mean(axis=...)`` of the same float32 data."""
    rng = np.random.default_rng(3)
    x = (rng.random(shape) * 4 + 100).astype(np.float32)  # a large offset: rounding shows
    layer = layers.BatchNormalization(axis=axis, momentum=0.0)  # the moving statistics become the batch's
    layer.forward(x, training=True)
    axes = tuple(i for i in range(x.ndim) if i != axis % x.ndim)
    exact_mean = x.astype(np.float64).mean(axis=axes)
    exact_var = x.astype(np.float64).var(axis=axes)
    numpy_mean = x.mean(axis=axes)
    numpy_var = ((x - x.mean(axis=axes, keepdims=True)) ** 2).mean(axis=axes)
    for got, numpy_result, exact in ((layer.state["moving_mean"], numpy_mean, exact_mean),
                                     (layer.state["moving_variance"], numpy_var, exact_var)):
        error = np.abs(got.astype(np.float64) - exact).max()
        numpy_error = np.abs(numpy_result.astype(np.float64) - exact).max()
        assert error <= max(2 * numpy_error, np.finfo(np.float32).eps * np.abs(exact).max()), (error, numpy_error)
