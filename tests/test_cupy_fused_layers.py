"""The CuPy backend's kernels for ReLU, SoftmaxWithLoss, BatchNormalization and 2x2 max pooling give the lines' bits.

The reference is each layer's own lines run by CuPy (the kernels switched
off); the same calls then run through backends/cupy_fused_relu.py and
backends/cupy_fused_softmax.py: ReLU on activations with signed zeros,
infinities, denormals and NaNs with payloads, and on gradients with
infinities and NaNs where the mask is off; SoftmaxWithLoss on scores
holding them, with class indices in and out of range (CuPy's indexing
wraps those), with and without sample weights; MaxPooling2D's 2x2 tiles on
images with ties of signed zeros and NaNs, odd edges included;
BatchNormalization on rows and maps, features on axis 1 or last, with
special values (a NaN need only stay a NaN there, as in its sums). Runs where CuPy and a CUDA
device exist.
"""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.backends import cupy_fused_bn, cupy_fused_pool, cupy_fused_relu, cupy_fused_softmax

from .conftest import GPU_ONLY
from .test_fused_batch_norm import _activations
from .test_fused_batch_norm import _layer_pass as _batch_norm_pass
from .test_fused_pooling import SHAPES, _image, _layer_pass
from .test_fused_relu import _raw
from .test_fused_updates import _bits, spy_on_kernels

pytestmark = GPU_ONLY + [pytest.mark.filterwarnings("ignore::RuntimeWarning")]


@pytest.fixture(autouse=True)
def _on_cupy(cupy_backend):
    """Every test here runs on CuPy (`cupy_backend` is conftest's)."""


LAYER = ("forward", "backward")  # the kernel functions of a layer's module
SOFTMAX = ("pick", "softmax_loss_backward")  # SoftmaxWithLoss's


def _off(monkeypatch, module, names):
    for name in names:
        monkeypatch.setattr(module, name, lambda *args: None)


def _host(arrays):
    return [np.asarray(a.get() if hasattr(a, "get") else a) for a in arrays]


def _lines_then_kernels(monkeypatch, module, run, names=LAYER):
    """``(expected, got, calls)``: `run()` with `module`'s kernels switched off (the lines), then with them.

    `calls` records, for each call of the kernel functions `names` in the
    second run, whether it did the work.
    """
    with monkeypatch.context() as off:
        _off(off, module, names)
        expected = run()
    calls = spy_on_kernels(monkeypatch, module, names)
    return expected, run(), calls


def _assert_trains_alike(monkeypatch, train, kernels, also_off=()):
    """`train()`'s arrays are the same, bit for bit, with the `kernels` and with them switched off.

    `kernels` and `also_off` are ``(module, names)`` pairs; every call of a
    kernel in `kernels` must do the work in the first run. The second runs
    with those and `also_off`'s switched off.
    """
    calls = [spy_on_kernels(monkeypatch, module, names) for module, names in kernels]
    got = train()
    for (module, _), made in zip(kernels, calls):
        assert made and all(made), f"the kernels of {module.__name__} did not run"
    for module, names in (*kernels, *also_off):
        _off(monkeypatch, module, names)
    expected = train()
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(_bits(_host([a])[0]), _bits(_host([b])[0]))


def _run_relu(x, dout):
    layer = layers.ReLU()
    out = layer.forward(x, training=True)
    return _host([out, layer.mask, layer.backward(dout)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(128, 256), (16, 8, 12, 12), (1000,)])
def test_fused_relu_gives_the_lines_bits(cupy_backend, shape, dtype, monkeypatch):
    cupy = cupy_backend.xp
    rng = np.random.default_rng(sum(shape))
    size = int(np.prod(shape))
    x = cupy.asarray(_image(rng, (1, 1, 1, size), dtype).reshape(shape))
    dout = cupy.asarray(_image(rng, (1, 1, 1, size), dtype).reshape(shape))
    expected, got, calls = _lines_then_kernels(monkeypatch, cupy_fused_relu, lambda: _run_relu(x, dout))

    assert calls == [True, True], "the kernels did not run"
    for name, a, b in zip(("out", "mask", "dx"), got, expected):
        assert a.dtype == b.dtype and a.shape == b.shape == shape, name
        np.testing.assert_array_equal(_raw(a) if a.dtype != np.bool_ else a, _raw(b) if b.dtype != np.bool_ else b,
                                      err_msg=name)
    out, mask, dx = expected  # the cases were there: -0.0 in, +0.0 out; a NaN out; NaN from inf * 0
    host_x = x.get()
    assert (np.signbit(host_x) & (host_x == 0)).any() and not np.signbit(out[host_x == 0]).any()
    assert np.isnan(out).any() and (np.isinf(dout.get()) & ~mask & np.isnan(dx)).any()


def test_fused_relu_leaves_other_layouts_to_the_lines(cupy_backend, monkeypatch):
    cupy = cupy_backend.xp
    x = cupy.asarray(np.random.default_rng(1).standard_normal((8, 5, 6, 7)).astype(np.float32)).transpose(0, 2, 3, 1)
    calls = spy_on_kernels(monkeypatch, cupy_fused_relu)
    out, mask, dx = _run_relu(x, x)
    assert calls == [False, False]
    np.testing.assert_array_equal(out, np.maximum(x.get(), 0))
    assert cupy_fused_relu.forward(cupy, x.astype(np.float16)) is None
    assert cupy_fused_relu.forward(cupy, x.get()) is None  # a NumPy array
    dense = cupy.ascontiguousarray(x)
    assert cupy_fused_relu.backward(cupy, dense, cupy.zeros(dense.shape[:-1], bool)) is None  # not the mask's shape
    assert cupy_fused_relu.backward(cupy, dense, (dense > 0).astype(np.float32)) is None  # not a boolean mask


def _scores(rng, n, classes, dtype):
    """Scores with normal rows, and rows holding infinities, NaNs, signed zeros and huge numbers."""
    x = (rng.standard_normal((n, classes)) * 3).astype(dtype)
    x[: n // 4] = _image(rng, (1, 1, n // 4, classes), dtype)[0, 0]
    return x


def _run_loss(x, t, dout, sample_weight=None):
    layer = layers.SoftmaxWithLoss()
    loss = layer.forward(x, t, sample_weight=sample_weight)
    return _host([loss, layer.backward(dout)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dout", [1.0, 0.37])
def test_fused_softmax_loss_gives_the_lines_bits(cupy_backend, dtype, index_dtype, weighted, dout, monkeypatch):
    cupy = cupy_backend.xp
    rng = np.random.default_rng(7)
    n, classes = 200, 10
    x = cupy.asarray(_scores(rng, n, classes, dtype))
    labels = rng.integers(0, classes, n)
    if index_dtype != np.uint8:  # out of range both ways: CuPy's indexing wraps them, and so must the kernels
        labels[:6] = [classes, -1, 2 * classes + 3, -classes - 2, classes - 1, 0]
    t = cupy.asarray(labels.astype(index_dtype))
    weights = cupy.asarray(rng.random(n).astype(dtype)) if weighted else None
    expected, got, calls = _lines_then_kernels(monkeypatch, cupy_fused_softmax, lambda: _run_loss(x, t, dout, weights),
                                               SOFTMAX)

    assert calls == [True, True], "the kernels did not run"
    for name, a, b in zip(("loss", "dx"), got, expected):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape, name
        np.testing.assert_array_equal(_bits(a), _bits(b), err_msg=name)
    assert np.isfinite(expected[1][n // 4:]).all() and np.isnan(expected[1]).any()  # both kinds of rows were there


def test_fused_softmax_picks_what_the_line_picks(cupy_backend):
    cupy = cupy_backend.xp
    x = cupy.arange(24, dtype=cupy.float32).reshape(4, 6)
    t = cupy.asarray([0, 5, 6, -1])
    np.testing.assert_array_equal(cupy_fused_softmax.pick(cupy, x, t).get(), x[cupy.arange(4), t].get())
    assert cupy_fused_softmax.pick(cupy, x, t.astype(cupy.float32)) is None  # not indices: the line raises
    assert cupy_fused_softmax.pick(cupy, x, t[::2]) is None  # not one label per row
    assert cupy_fused_softmax.pick(cupy, x[:, :0], t) is None  # no classes to wrap onto
    assert cupy_fused_softmax.softmax_loss_backward(cupy, x, t, cupy.float32(0.25)) is None  # a device scale


def test_an_mlp_trains_to_the_same_weights_with_and_without(monkeypatch):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((512, 20)).astype(np.float32)
    t = rng.integers(0, 5, 512)

    def weights_after_fit():
        fw.set_seed(0)
        model = fw.Sequential([layers.Affine(32), layers.ReLU(), layers.Affine(5),
                               layers.SoftmaxWithLoss()])
        model.compile(optimizer=fw.optimizers.Adam(0.01))
        history = model.fit(x, t, batch_size=64, epochs=2, verbose=0)
        return model.get_weights() + [np.asarray(history.history["loss"])]

    _assert_trains_alike(monkeypatch, weights_after_fit, [(cupy_fused_relu, LAYER), (cupy_fused_softmax, SOFTMAX)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_fused_max_pooling_gives_the_lines_bits(cupy_backend, shape, dtype, monkeypatch):
    cupy = cupy_backend.xp
    rng = np.random.default_rng(sum(shape))
    x = cupy.asarray(_image(rng, shape, dtype))
    dout = cupy.asarray(_image(rng, (shape[0], shape[1], shape[2] // 2, shape[3] // 2), dtype))
    expected, got, calls = _lines_then_kernels(
        monkeypatch, cupy_fused_pool, lambda: {key: _host([a])[0] for key, a in _layer_pass(x, dout).items()})

    assert calls == [True, True], "the kernels did not run"
    for key in ("out", "arg_h", "arg_w", "dx"):  # every bit, NaN payloads too
        assert got[key].dtype == expected[key].dtype and got[key].shape == expected[key].shape, key
        got_bits, expected_bits = (np.ascontiguousarray(r[key]).view(np.uint8) for r in (got, expected))
        np.testing.assert_array_equal(got_bits, expected_bits, err_msg=key)
    assert np.isnan(expected["out"]).any() and (expected["out"] == 0).any()  # the special cases were there


def test_fused_max_pooling_masks_serve_the_lines_and_channels_last_goes_to_the_lines(cupy_backend, monkeypatch):
    cupy = cupy_backend.xp
    rng = np.random.default_rng(3)
    x = cupy.asarray(_image(rng, (16, 8, 12, 12), np.float32))
    dout = cupy.asarray(_image(rng, (16, 8, 6, 6), np.float32))
    layer = layers.MaxPooling2D(2)
    layer.build(x.shape)
    layer.forward(x, training=True)  # the kernel's masks...
    with monkeypatch.context() as off:
        _off(off, cupy_fused_pool, ("backward",))
        plain = layer.backward(dout)  # ...read by the lines
    np.testing.assert_array_equal(_bits(layer.backward(dout).get()), _bits(plain.get()))

    def channels_last_pass():
        layer = layers.MaxPooling2D(2, data_format="channels_last")
        layer.build((16, 12, 12, 8))
        out = layer.forward(cupy.ascontiguousarray(x.transpose(0, 2, 3, 1)), training=True)
        return _host([out, layer.backward(cupy.ascontiguousarray(dout.transpose(0, 2, 3, 1)))])

    expected, got, calls = _lines_then_kernels(monkeypatch, cupy_fused_pool, channels_last_pass)
    assert calls[0] is False  # a channels-last image is a transposed view: the lines take it
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(_bits(a), _bits(b))


def test_a_convnet_trains_to_the_same_weights_with_and_without(monkeypatch):
    rng = np.random.default_rng(9)
    x = rng.random((128, 1, 15, 15), dtype=np.float32)
    t = rng.integers(0, 4, 128)

    def weights_after_fit():
        fw.set_seed(0)
        model = fw.Sequential([layers.Conv2D(6, 3), layers.ReLU(), layers.MaxPooling2D(2), layers.Flatten(),
                               layers.Affine(16), layers.ReLU(), layers.Affine(4), layers.SoftmaxWithLoss()])
        model.compile(optimizer=fw.optimizers.SGD(0.05, momentum=0.9))
        model.fit(x, t, batch_size=64, epochs=2, verbose=0)
        return model.get_weights()

    _assert_trains_alike(monkeypatch, weights_after_fit, [(cupy_fused_pool, LAYER)],
                         also_off=[(cupy_fused_relu, LAYER), (cupy_fused_softmax, SOFTMAX)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", [((128, 256), 1), ((100, 30, 24, 24), 1), ((40, 3, 11, 13), 1),
                                         ((16, 12, 12, 8), 3), ((64, 20, 24), -1)])
def test_fused_batch_norm_gives_the_lines_bits(cupy_backend, shape, axis, dtype, monkeypatch):
    cupy = cupy_backend.xp
    rng = np.random.default_rng(sum(shape))
    x, dout = (cupy.asarray(_activations(rng, shape, dtype, axis)) for _ in range(2))
    gamma = cupy.asarray((rng.standard_normal(shape[axis]) + 1).astype(dtype))
    beta = cupy.asarray(rng.standard_normal(shape[axis]).astype(dtype))

    def run():
        return {key: _host([a])[0] for key, a in _batch_norm_pass(x, dout, gamma, beta, axis).items()}

    expected, got, calls = _lines_then_kernels(monkeypatch, cupy_fused_bn, run)

    assert calls == [True, True, True, True], "the kernels did not run"  # two steps
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key].dtype == expected[key].dtype == dtype and got[key].shape == expected[key].shape, key
        np.testing.assert_array_equal(_bits(got[key]), _bits(expected[key]), err_msg=key)
    # The cases were there: a feature of -0.0 always; with six features or more, one holding NaNs and infinities.
    host_x = x.get()
    assert (np.signbit(host_x) & (host_x == 0)).any() and np.isfinite(expected["out0"]).any()
    assert np.isnan(expected["out0"]).any() or shape[axis] < 6


def test_fused_batch_norm_leaves_what_it_cannot_do_to_the_lines(cupy_backend):
    cupy = cupy_backend.xp
    x = cupy.ones((8, 6, 5), dtype=cupy.float32)
    gamma, beta = cupy.ones(6, dtype=cupy.float32), cupy.zeros(6, dtype=cupy.float32)
    forward = cupy_fused_bn.forward
    assert forward(cupy, x.transpose(1, 0, 2), 0, gamma, beta, 1e-3) is None  # features on the batch axis
    assert forward(cupy, x.astype(cupy.float16), 1, gamma, beta, 1e-3) is None
    assert forward(cupy, x, 1, gamma.astype(cupy.float64), beta, 1e-3) is None
    assert forward(cupy, x, 1, gamma[:5], beta[:5], 1e-3) is None
    assert forward(cupy, x.get(), 1, gamma, beta, 1e-3) is None  # a NumPy array
    out, xhat, std, mean, var = forward(cupy, x, 1, gamma, beta, 1e-3)
    assert out.shape == xhat.shape == x.shape and std.shape == mean.shape == var.shape == (6,)
    assert cupy_fused_bn.backward(cupy, x, 1, xhat, gamma, std.astype(cupy.float64)) is None


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_a_model_with_batch_normalization_trains_to_the_same_weights_with_and_without(model, monkeypatch):
    rng = np.random.default_rng(11)
    x = rng.random((256, 20) if model == "mlp" else (128, 1, 12, 12), dtype=np.float32)
    t = rng.integers(0, 4, len(x))
    body = ([layers.Affine(32), layers.BatchNormalization(), layers.ReLU(), layers.Dropout(0.2, seed=1)]
            if model == "mlp" else [layers.Conv2D(6, 3), layers.BatchNormalization(), layers.ReLU(),
                                    layers.MaxPooling2D(2), layers.Flatten()])

    def weights_after_fit():
        fw.set_seed(0)
        net = fw.Sequential([type(layer).from_config(layer.get_config()) for layer in body]
                            + [layers.Affine(4), layers.SoftmaxWithLoss()])
        net.compile(optimizer=fw.optimizers.Adam(0.01))
        net.fit(x, t, batch_size=64, epochs=2, verbose=0)
        norm = next(layer for layer in net.layers if isinstance(layer, layers.BatchNormalization))
        return net.get_weights() + [norm.state[key] for key in ("moving_mean", "moving_variance")]

    _assert_trains_alike(monkeypatch, weights_after_fit, [(cupy_fused_bn, LAYER)])
