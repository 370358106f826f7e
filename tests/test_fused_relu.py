"""ReLU's compiled pass gives the layer's own NumPy lines' numbers, bit for bit.

The reference is the layer's plain code, run with ``FRAMEWORK_NUMBA=off``;
the same forward and backward then run through backends/numpy_fused_relu.py
on activations with signed zeros, infinities, denormals and NaNs with
payloads, and gradients with infinities and NaNs where the mask is off
(``inf * 0`` is NaN in the lines). The bits are compared as they are, NaN
payloads included: the kernels pass them on as NumPy does.
"""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.backend import get_backend
from framework.backends import numpy_fused_relu

from .test_fused_pooling import _image, assert_a_convnet_trains_alike
from .test_fused_updates import assert_same_with_and_without_kernels, spy_on_kernels

pytest.importorskip("numba")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf * 0: intended

LAYOUTS = {
    # name: (the array's shape as made, the axes the layer sees it in)
    "rows": ((256, 300), (0, 1)),
    "maps": ((32, 12, 13, 15), (0, 1, 2, 3)),
    # A channels-last view of channels-first memory, as a channels-last convolution hands over.
    "channels last over channels first": ((32, 12, 13, 15), (0, 2, 3, 1)),
}


def _raw(array):
    """The bit patterns as they are: unlike `test_fused_updates._bits`, NaN payloads count (ReLU passes each NaN on as it is)."""
    return np.ascontiguousarray(array).view(np.uint32 if array.dtype == np.float32 else np.uint64)


def _run_relu(x, dout):
    layer = layers.ReLU()
    out = layer.forward(x, training=True)
    return out, layer.mask, layer.backward(dout)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_fused_relu_gives_the_plain_lines_bits(layout, dtype, monkeypatch):
    made, axes = LAYOUTS[layout]
    rng = np.random.default_rng(len(layout))
    x = _image(rng, (1, 1, 1, int(np.prod(made))), dtype).reshape(made).transpose(axes)
    dout = _image(rng, (1, 1, 1, int(np.prod(made))), dtype).reshape(made).transpose(axes)
    calls = spy_on_kernels(monkeypatch, numpy_fused_relu)
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = _run_relu(x, dout)
    assert not any(calls)
    calls.clear()
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    got = _run_relu(x, dout)

    assert calls == [True, True], "the compiled kernels did not run"
    for name, a, b in zip(("out", "mask", "dx"), got, expected):
        assert a.dtype == b.dtype and a.shape == b.shape == x.shape, name
        assert np.argsort(a.strides).tolist() == np.argsort(b.strides).tolist(), f"{name} laid out otherwise"
        if a.dtype == np.bool_:
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            np.testing.assert_array_equal(_raw(a), _raw(b), err_msg=name)
    # The cases were there: -0.0 in, +0.0 out; NaN kept; NaN from inf * 0.
    out, mask, dx = expected
    assert (np.signbit(x) & (x == 0)).any() and not np.signbit(out[x == 0]).any()
    assert np.isnan(out).any() and (np.isinf(dout) & ~mask & np.isnan(dx)).any()


def test_fused_relu_declines_what_it_cannot_do():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 16, 12, 12)).astype(np.float32)
    backend = get_backend()
    cases = {
        "every other column (a strided view)": x[..., ::2],
        "fewer than RELU_MIN numbers": x[:8],
        "half precision": x.astype(np.float16),
        "integers": np.ones((64, 1024), dtype=np.int32),
        "reversed rows": x[::-1],
    }
    for case, values in cases.items():
        assert backend.fused_relu(values) is None, case
    out, mask = backend.fused_relu(x)
    assert backend.fused_relu_backward(x, mask).shape == x.shape
    assert backend.fused_relu_backward(x, mask.astype(np.float32)) is None  # not a boolean mask
    assert backend.fused_relu_backward(x[:32], mask[:32, :, :, :6]) is None  # another shape
    assert backend.fused_relu_backward(np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
                                       mask) is None  # laid out otherwise than the mask


def test_an_mlp_trains_to_the_same_weights_with_and_without(monkeypatch):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((512, 40)).astype(np.float32)
    t = rng.integers(0, 3, 512)
    calls = spy_on_kernels(monkeypatch, numpy_fused_relu)

    def weights_after_fit():
        fw.set_seed(0)
        model = fw.Sequential([layers.Affine(300), layers.ReLU(), layers.Affine(300, activation="relu"),
                               layers.Affine(3), layers.SoftmaxWithLoss()])
        model.compile(optimizer=fw.optimizers.SGD(0.1, momentum=0.9))
        model.fit(x, t, batch_size=256, epochs=3, verbose=0)  # 256 x 300: above RELU_MIN
        return model.get_weights()

    assert_same_with_and_without_kernels(monkeypatch, weights_after_fit)
    assert any(calls) and all(calls[len(calls) // 2:]), "the compiled kernels did not run"


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_a_convnet_trains_to_the_same_weights_with_and_without(data_format, monkeypatch):
    def body():
        return [layers.Conv2D(8, 3, activation="relu", data_format=data_format),
                layers.MaxPooling2D(2, data_format=data_format),
                layers.Conv2D(24, 3, padding="same", data_format=data_format), layers.ReLU(),
                layers.MaxPooling2D(2, data_format=data_format)]

    # 17 x 17 images: (64, 24, 7, 7) maps after the first pooling, above RELU_MIN.
    assert_a_convnet_trains_alike(monkeypatch, numpy_fused_relu, body, (192, 1, 17, 17), data_format, seed=10)
