"""The activation layers: values against independent formulas, the conformance kit, names, bad input."""

import math

import numpy as np
import pytest

import framework as fw
from framework import activations, layers
from framework.errors import InvalidArgumentError, UnknownNameError
from framework.testing import check_layer

from .conftest import to_host

ACTIVATION_LAYERS = [
    pytest.param(lambda: layers.Tanh(), id="Tanh"),
    pytest.param(lambda: layers.LeakyReLU(), id="LeakyReLU"),
    pytest.param(lambda: layers.LeakyReLU(negative_slope=0.05), id="LeakyReLU-0.05"),
    pytest.param(lambda: layers.ELU(), id="ELU"),
    pytest.param(lambda: layers.ELU(alpha=0.5), id="ELU-0.5"),
    pytest.param(lambda: layers.Softmax(), id="Softmax"),
    pytest.param(lambda: layers.Activation("tanh"), id="Activation-tanh"),
    pytest.param(lambda: layers.Activation("leaky_relu"), id="Activation-leaky_relu"),
    pytest.param(lambda: layers.Activation("softmax"), id="Activation-softmax"),
]


@pytest.mark.parametrize("make", ACTIVATION_LAYERS)
def test_activation_layers_pass_the_kit(backend, make):
    report = check_layer(make(), (4, 5))
    assert report.max_relative_error < 1e-6


def test_softmax_over_a_middle_axis_passes_the_kit(backend):
    check_layer(layers.Softmax(axis=1), (3, 4, 2))


# Reference values, each written with math on Python floats (one element at a time).
def _elementwise(fn, x):
    return np.array([fn(float(v)) for v in x.reshape(-1)]).reshape(x.shape)


X = np.array([[-3.0, -0.5, 0.25, 2.0], [1.5, -1.0, 0.0, -40.0]])


@pytest.mark.parametrize("layer, reference", [
    (layers.Tanh(), math.tanh),
    (layers.LeakyReLU(), lambda v: v if v > 0 else 0.3 * v),
    (layers.LeakyReLU(alpha=0.1), lambda v: v if v > 0 else 0.1 * v),
    (layers.ELU(), lambda v: v if v > 0 else math.exp(v) - 1.0),
    (layers.ELU(alpha=2.0), lambda v: v if v > 0 else 2.0 * (math.exp(v) - 1.0)),
    (layers.Activation("leaky_relu"), lambda v: v if v > 0 else 0.2 * v),
    (layers.Activation("elu"), lambda v: v if v > 0 else math.exp(v) - 1.0),
])
def test_values_match_the_formulas(backend, float64, layer, reference):
    out = to_host(backend, layer.forward(backend.asarray(X)))
    np.testing.assert_allclose(out, _elementwise(reference, X), rtol=1e-12, atol=1e-15)


def test_softmax_values_and_backward_against_the_full_jacobian(backend, float64):
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    layer = layers.Softmax()
    y = to_host(backend, layer.forward(backend.asarray(x)))
    expected = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    dx = to_host(backend, layer.backward(backend.asarray(dout)))
    for i in range(3):  # the Jacobian diag(y) - y y^T, built here only as the reference
        jacobian = np.diag(expected[i]) - np.outer(expected[i], expected[i])
        np.testing.assert_allclose(dx[i], jacobian.T @ dout[i], rtol=1e-10, atol=1e-14)


def test_relu_gives_exact_positive_zero_and_keeps_infinity(backend):
    x = np.array([-0.0, -2.0, -np.inf, np.inf, 3.0, 0.0], dtype=np.float32)
    out = to_host(backend, layers.ReLU().forward(backend.asarray(x)))
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0, np.inf, 3.0, 0.0])
    assert not np.signbit(out).any() and not np.isnan(out).any()
    assert out.dtype == np.float32


def test_relu_still_passes_nan_on(backend):
    out = to_host(backend, layers.ReLU().forward(backend.asarray(np.array([np.nan, 1.0]))))
    assert np.isnan(out[0]) and out[1] == 1.0


def test_leaky_relu_alpha_is_the_older_name_and_the_config_uses_keras_name():
    layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1
    assert layer.get_config() == {"name": "leaky_re_lu", "negative_slope": 0.1}


def test_activation_names_are_keras_and_give_new_layers():
    assert {"relu", "sigmoid", "tanh", "leaky_relu", "elu", "softmax", "linear"} <= set(activations.names())
    first, second = activations.get("tanh"), activations.get("tanh")
    assert isinstance(first, layers.Tanh) and first is not second
    assert activations.get("leaky_relu").negative_slope == 0.2  # Keras's function default
    assert layers.LeakyReLU().negative_slope == 0.3  # Keras's layer default
    assert activations.get(None) is None


def test_float32_stays_float32(backend):
    x = backend.asarray(np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4))
    for name in ("tanh", "leaky_relu", "elu", "softmax", "relu"):
        layer = activations.get(name)
        out = layer.forward(x)
        assert str(out.dtype) == "float32" and str(layer.backward(out).dtype) == "float32", name


@pytest.mark.parametrize("make, pattern", [
    (lambda: layers.Activation("swish2"), r"activation: unknown activation 'swish2'; known: elu, .*tanh"),
    (lambda: layers.Affine(3, activation="rellu"), r"activation: unknown activation 'rellu'"),
    (lambda: layers.Activation(3), r"activation must be a name such as 'relu' or None, got activation=3"),
    (lambda: layers.LeakyReLU(negative_slope=-0.1), r"negative_slope must be a number >= 0, got negative_slope=-0.1"),
    (lambda: layers.ELU(alpha=float("nan")), r"alpha must be a finite number, got alpha=nan"),
    (lambda: layers.Softmax(axis=1.5), r"axis must be an integer, got axis=1.5"),
])
def test_bad_arguments_are_refused(make, pattern):
    with pytest.raises(InvalidArgumentError, match=pattern):
        make()


def test_unknown_activation_is_an_unknown_name_error_and_adds_nothing():
    model = fw.Sequential([layers.Affine(2)])
    with pytest.raises(UnknownNameError):
        model.add(layers.Activation("nope"))
    assert len(model.layers) == 1


def test_softmax_over_the_batch_axis_is_refused():
    with pytest.raises(InvalidArgumentError, match="axis=0 is not a feature axis"):
        fw.Sequential([layers.Softmax(axis=0)]).build((None, 3))


@pytest.mark.parametrize("shape", [(7,), (5, 9), (4, 3, 6, 6), (2, 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_forward_is_maximum_with_the_scalar_zero_bit_for_bit(backend, shape, dtype):
    # The layer compares against a cached array of zeros (NumPy's fast loop);
    # the backend's plain maximum(x, 0.0) is the reference, special values
    # included. (CuPy's differs from NumPy's in the bits it gives for them.)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    specials = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, np.finfo(dtype).tiny / 2, -np.finfo(dtype).max], dtype)
    x.reshape(-1)[: min(x.size, specials.size)] = specials[: x.size]
    layer = layers.ReLU()
    for _ in range(2):  # the second call reuses the cached zeros
        out = to_host(backend, layer.forward(backend.asarray(x)))
        expected = to_host(backend, backend.xp.maximum(backend.asarray(x), 0.0))
        assert out.dtype == x.dtype and out.shape == x.shape
        assert np.array_equal(out.view(np.uint8), expected.view(np.uint8))  # bit for bit: signed zeros, NaN


def test_relu_zeros_follow_the_input_shape_and_dtype(backend):
    layer = layers.ReLU()
    small = layer.forward(backend.asarray(-np.ones((3, 4), np.float32)))
    wide = layer.forward(backend.asarray(-np.ones((2, 6), np.float64)))
    assert small.shape == (3, 4) and wide.shape == (2, 6) and wide.dtype == np.float64
    assert not to_host(backend, wide).any()


@pytest.mark.parametrize("order", [(0, 2, 3, 1), (0, 3, 1, 2), (1, 0, 2, 3)])
def test_relu_lays_out_its_output_and_mask_as_its_input(order):
    # A channels-last convolution hands ReLU a transposed view of its channels-first
    # memory: the output and the mask keep that memory order (no copy into another),
    # with maximum(x, 0.0)'s bits, and a C-ordered input after it gets C-ordered results.
    rng = np.random.default_rng(0)
    memory = rng.standard_normal((4, 3, 6, 5)).astype(np.float32)
    memory.reshape(-1)[:5] = [-0.0, np.inf, -np.inf, np.nan, 0.0]
    x = memory.transpose(order)
    dout = rng.standard_normal(x.shape).astype(np.float32)
    layer = layers.ReLU()
    for _ in range(2):  # the second call reuses the zeros made for this layout
        out = layer.forward(x, training=True)
        assert out.strides == x.strides
        assert layer.mask.strides == tuple(stride // x.itemsize for stride in x.strides)  # bools, 1 byte each
        assert np.array_equal(out.view(np.uint32), np.maximum(x, 0.0).view(np.uint32))
        assert np.array_equal(layer.backward(dout), dout * (x > 0))
    plain = np.ascontiguousarray(x)
    out = layer.forward(plain, training=True)
    assert out.flags.c_contiguous and layer.mask.flags.c_contiguous
    assert np.array_equal(out.view(np.uint32), np.maximum(plain, 0.0).view(np.uint32))


@pytest.mark.parametrize("make, forward, backward", [
    (lambda: layers.LeakyReLU(0.3),
     lambda x: np.where(x > 0, x, x * 0.3), lambda x, out, d: np.where(x > 0, d, d * 0.3)),
    (lambda: layers.ELU(1.5),
     lambda x: np.where(x > 0, x, 1.5 * np.expm1(np.minimum(x, 0.0))),
     lambda x, out, d: d * np.where(x > 0, 1.0, out + 1.5)),
])
def test_where_activations_on_large_inputs_match_numpy_where_bit_for_bit(make, forward, backward):
    # Large enough for the NumPy backend's branch-free where: the plain np.where is the reference.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 300)).astype(np.float32)
    x.reshape(-1)[:6] = [-0.0, 0.0, np.inf, -np.inf, np.nan, -1e-40]
    dout = rng.standard_normal(x.shape).astype(np.float32)
    dout.reshape(-1)[6:9] = [-0.0, np.inf, np.nan]
    layer = make()
    out = layer.forward(x, training=True)
    expected = forward(x)
    assert out.dtype == np.float32 and np.array_equal(out.view(np.uint32), expected.view(np.uint32))
    dx = layer.backward(dout)
    assert np.array_equal(dx.view(np.uint32), backward(x, expected, dout).view(np.uint32))
