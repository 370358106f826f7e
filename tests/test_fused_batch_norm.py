"""BatchNormalization's compiled training pass gives the layer's own NumPy lines' numbers, bit for bit.

The reference is the layer's plain code, run with ``FRAMEWORK_NUMBA=off``;
the same forward and backward then run through the kernels of
backends/numpy_fused_bn.py, on activations and gradients that hold the
special values in some features as well as ordinary numbers in others.
Every bit must agree, signed zeros, infinities and denormals included; a
NaN must stay a NaN.
"""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.backend import get_backend
from framework.backends import numpy_fused_bn

from .test_fused_updates import SPECIAL, _bits, assert_same_with_and_without_kernels, spy_on_kernels

pytest.importorskip("numba")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf in the plain lines: intended


def _activations(rng, shape, dtype, axis=1):
    """Normal numbers, with special values in a third of the features and one feature all -0.0."""
    x = np.moveaxis((rng.standard_normal(shape) * 3 + 1).astype(dtype), axis, 0)  # features first, a view
    features = x.shape[0]
    special = rng.choice(features, size=max(1, features // 3), replace=False)
    for feature in special:
        values = x[feature]
        at = rng.random(values.shape) < 0.2
        values[at] = np.asarray(SPECIAL, dtype)[rng.integers(0, len(SPECIAL), size=int(at.sum()))]
    x[special[0]] = -0.0  # a sum that must start from NumPy's start: 0 + (-0.0) is +0.0
    return np.ascontiguousarray(np.moveaxis(x, 0, axis))


def _layer_pass(x, dout, gamma, beta, axis, steps=2):
    """Everything a layer's training forward and backward produce, over `steps` calls."""
    layer = layers.BatchNormalization(axis=axis, momentum=0.9)
    layer.build(x.shape)
    layer.params["gamma"] = gamma.copy()
    layer.params["beta"] = beta.copy()
    layer.state = {key: value.astype(x.dtype) for key, value in layer.state.items()}
    layer.needs_input_grad = True
    results = {}
    for step in range(steps):
        out = layer.forward(x * x.dtype.type(step + 1), training=True)  # -0.0 stays -0.0
        dx = layer.backward(dout)
        results.update({f"out{step}": out, f"xhat{step}": layer.xhat, f"std{step}": layer.std, f"dx{step}": dx,
                        f"dgamma{step}": layer.grads["gamma"], f"dbeta{step}": layer.grads["beta"]})
    results.update(layer.state)
    return results


# (shape, feature axis): rows of features; images with the channels on axis 1, whose
# maps NumPy sums pairwise (maps of one number, under 8, up to 128 and over 128); channels last.
CASES = [((128, 256), 1), ((4096, 8), 1), ((3, 8192), 1), ((1, 16384), 1), ((257, 67), -1),
         ((100, 30, 24, 24), 1), ((64, 16, 4, 4), 1), ((40, 3, 11, 13), 1), ((6, 2, 33, 50), 1),
         ((2, 4, 16, 129), 1), ((300, 20, 7), 1), ((1, 9, 45, 45), 1), ((2048, 8, 1, 1), 1),
         ((16, 12, 12, 8), -1), ((64, 20, 24), -1), ((1, 128, 128, 3), 3)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", CASES)
def test_fused_batch_norm_gives_the_plain_lines_bits(shape, axis, dtype, monkeypatch):
    rng = np.random.default_rng(sum(shape))
    x, dout = _activations(rng, shape, dtype, axis), _activations(rng, shape, dtype, axis) * dtype(0.1)
    features = shape[axis]
    gamma = _activations(rng, (1, features), dtype)[0]
    beta = rng.standard_normal(features).astype(dtype)
    calls = spy_on_kernels(monkeypatch, numpy_fused_bn)
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = _layer_pass(x, dout, gamma, beta, axis)
    assert not any(calls)
    calls.clear()
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    got = _layer_pass(x, dout, gamma, beta, axis)

    assert calls == [True] * 4, "the compiled kernels did not run"
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key].dtype == dtype and got[key].shape == expected[key].shape, key
        np.testing.assert_array_equal(_bits(got[key]), _bits(expected[key]), err_msg=key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(100, 24, 24, 30), (16, 12, 12, 8), (40, 11, 13, 3), (2, 129, 65, 2)])
def test_fused_batch_norm_on_channels_last_images_in_channels_first_memory(shape, dtype, monkeypatch):
    # A channels-last convolution's output: (N, H, W, C) seen, (N, C, H, W) in memory. The kernels
    # take it as it lies (PIXELS_IN_MAPS), with the bits of the lines on a C-ordered copy,
    # and hand back out, xhat and dx laid out as it.
    rng = np.random.default_rng(sum(shape))
    channels_first = (shape[0], shape[3], shape[1], shape[2])
    x, dout = (_activations(rng, channels_first, dtype).transpose(0, 2, 3, 1) for _ in range(2))
    gamma = _activations(rng, (1, shape[3]), dtype)[0]
    beta = rng.standard_normal(shape[3]).astype(dtype)
    calls = spy_on_kernels(monkeypatch, numpy_fused_bn)
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = _layer_pass(x, dout, gamma, beta, -1)
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    calls.clear()
    got = _layer_pass(x, dout, gamma, beta, -1)

    assert calls == [True] * 4, "the compiled kernels did not run"
    for key in expected:
        np.testing.assert_array_equal(_bits(got[key]), _bits(expected[key]), err_msg=key)
    for key in ("out1", "xhat1", "dx1"):
        assert got[key].strides == x.strides, key


def test_fused_batch_norm_declines_what_it_cannot_do():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((128, 256)).astype(np.float32)
    gamma, beta = np.ones(256, np.float32), np.zeros(256, np.float32)
    maps = x.reshape(128, 16, 4, 4)
    backend = get_backend()
    cases = {
        "features on a middle axis": (maps, 2, gamma[:4], beta[:4]),
        "a strided view": (x[:, ::2].copy().T, 1, np.ones(128, np.float32), np.zeros(128, np.float32)),
        "channels last in memory, features on axis 1": (maps.transpose(0, 3, 1, 2), 1, gamma[:4], beta[:4]),
        "channels first in memory, features on axis 2": (maps.transpose(0, 2, 3, 1), 2, gamma[:4], beta[:4]),
        "mixed dtypes": (x.astype(np.float64), 1, gamma, beta),
        "gamma of another size": (x, 1, gamma[:-1], beta),
        "fewer than FUSE_MIN activations": (x[:8], 1, gamma, beta),
        "one value a sample": (x.reshape(-1, 1), 1, gamma[:1], beta[:1]),
        "integers": (x.astype(np.int32), 1, gamma.astype(np.int32), beta.astype(np.int32)),
    }
    for case, (inputs, axis, g, b) in cases.items():
        assert backend.fused_batch_norm(inputs, axis, g, b, 1e-3) is None, case
    assert backend.fused_batch_norm(x, 1, gamma, beta, 1e-3) is not None
    assert backend.fused_batch_norm(maps, 1, gamma[:16], beta[:16], 1e-3) is not None
    assert backend.fused_batch_norm_backward(x, 1, x, gamma, np.ones((1, 256), np.float32)) is not None
    assert backend.fused_batch_norm_backward(x, 1, x.astype(np.float64), gamma, np.ones(256, np.float32)) is None
    in_maps = maps.transpose(0, 2, 3, 1)  # channels last, channels-first memory: taken
    assert backend.fused_batch_norm(in_maps, -1, gamma[:16], beta[:16], 1e-3) is not None
    laid_out_otherwise = np.ascontiguousarray(in_maps)  # the same images in another layout than dout's
    assert backend.fused_batch_norm_backward(in_maps, -1, laid_out_otherwise, gamma[:16],
                                             np.ones(16, np.float32)) is None


@pytest.mark.parametrize("options", [{"scale": False}, {"center": False}])
def test_a_layer_without_gamma_or_beta_runs_its_lines(options, monkeypatch):
    monkeypatch.setattr(numpy_fused_bn, "forward", lambda *args: pytest.fail("no kernel for this layer"))
    monkeypatch.setattr(numpy_fused_bn, "backward", lambda *args: pytest.fail("no kernel for this layer"))
    layer = layers.BatchNormalization(**options)
    x = np.random.default_rng(5).standard_normal((128, 256)).astype(np.float32)
    layer.build(x.shape)
    layer.needs_input_grad = True
    layer.backward(layer.forward(x, training=True))


MODELS = {  # (x's shape, the layers before the classifier); batches of 64 samples have at least FUSE_MIN activations
    "mlp": ((512, 100), lambda: [layers.Affine(256), layers.BatchNormalization(), layers.ReLU()]),
    "cnn": ((192, 1, 14, 14), lambda: [layers.Conv2D(8, 3), layers.BatchNormalization(), layers.ReLU(),
                                      layers.MaxPooling2D(2), layers.Flatten()]),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_model_with_batch_normalization_trains_to_the_same_weights_with_and_without(name, monkeypatch):
    shape, body = MODELS[name]
    rng = np.random.default_rng(6)
    x = rng.random(shape, dtype=np.float32)
    t = rng.integers(0, 4, shape[0])
    calls = []
    real = numpy_fused_bn.forward
    monkeypatch.setattr(numpy_fused_bn, "forward", lambda *args: calls.append(real(*args)) or calls[-1])

    def weights_after_fit():
        fw.set_seed(0)
        model = fw.Sequential([*body(), layers.Affine(4), layers.SoftmaxWithLoss()])
        model.compile(optimizer=fw.optimizers.SGD(0.05, momentum=0.9))
        model.fit(x, t, batch_size=64, epochs=2, verbose=0)
        return model.get_weights() + [model.layers[1].state[key] for key in ("moving_mean", "moving_variance")]

    assert_same_with_and_without_kernels(monkeypatch, weights_after_fit)
    assert any(result is not None for result in calls), "the compiled kernels did not run"


@pytest.mark.parametrize("refuse", ["the disk cache", "everything"])
def test_where_numba_refuses_the_layer_still_gives_its_numbers(refuse, monkeypatch):
    from framework.backends import numpy_fused

    numba = numpy_fused._import_numba()
    real_njit = numba.njit

    def njit(*args, cache=False, **options):
        if cache or refuse == "everything":
            raise RuntimeError("cannot cache function: no locator available")  # as on a read-only install
        return real_njit(*args, cache=cache, **options)

    x = np.random.default_rng(7).standard_normal((32, 16, 12, 12)).astype(np.float32)

    def layer_pass():
        layer = layers.BatchNormalization()
        layer.build(x.shape)
        layer.needs_input_grad = True
        out = layer.forward(x, training=True)
        return [out, layer.backward(x * np.float32(0.5)), layer.grads["gamma"], layer.grads["beta"]]

    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = layer_pass()
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    monkeypatch.setattr(numba, "njit", njit)
    monkeypatch.setattr(numpy_fused, "_compiled", {})  # compile afresh, through the refusing njit
    monkeypatch.setattr(numpy_fused_bn, "_pairwise", None)
    monkeypatch.setattr(numpy_fused_bn, "_totals", None)
    monkeypatch.setattr(numpy_fused_bn, "_spread", None)
    got = layer_pass()
    compiled = numpy_fused._compiled[("batch_norm_forward", x.dtype)]
    assert (compiled is None) == (refuse == "everything")
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(_bits(a), _bits(b))


def test_the_plans_of_the_sums_stay_few_whatever_the_batch_sizes():
    gamma, beta = np.ones(64, np.float32), np.zeros(64, np.float32)
    rng = np.random.default_rng(8)
    for n in range(256, 600):  # more batch sizes than the cache keeps
        x = rng.standard_normal((n, 64)).astype(np.float32)
        out = numpy_fused_bn.forward(x, 1, gamma, beta, 1e-3)[0]
        assert len(numpy_fused_bn._sum_plans) <= 256
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)  # still normalizing after the cache was cleared


@pytest.mark.parametrize("numba", ["on", "off"])
@pytest.mark.parametrize("axis, order", [(-1, (0, 3, 1, 2)), (1, (0, 2, 3, 1)), (1, (1, 0))])
def test_the_layer_gives_the_same_bits_for_its_input_in_any_memory_layout(axis, order, numba, monkeypatch):
    # A channels-last convolution hands over a transposed view of channels-first memory.
    # The sums add in an order that follows memory, so the layer sums C-ordered copies.
    if numba == "off":
        monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    shape = (16, 12, 10, 8) if len(order) == 4 else (128, 256)
    rng = np.random.default_rng(7)
    x, dout = _activations(rng, shape, np.float32, axis), _activations(rng, shape, np.float32, axis)
    features = shape[axis]
    gamma, beta = rng.standard_normal(features).astype(np.float32), rng.standard_normal(features).astype(np.float32)
    expected = _layer_pass(x, dout, gamma, beta, axis)

    back = np.argsort(order)  # memory in `order`, seen in the layer's shape
    x_view, dout_view = (np.ascontiguousarray(a.transpose(order)).transpose(back) for a in (x, dout))
    assert not x_view.flags.c_contiguous and np.array_equal(x_view, x, equal_nan=True)
    got = _layer_pass(x_view, dout_view, gamma, beta, axis)
    for key in expected:
        np.testing.assert_array_equal(_bits(got[key]), _bits(expected[key]), err_msg=key)
