"""AveragePooling2D's compiled 2x2 pass gives the layer's own NumPy lines' numbers, bit for bit.

The reference is the layer's plain code, run with ``FRAMEWORK_NUMBA=off``;
the same forward and backward then run through
backends/numpy_fused_avg_pool.py, channels first and channels last, on
images with signed zeros (windows of -0.0 alone average to +0.0 in the
lines), infinities, denormals and NaNs.
"""

import numpy as np
import pytest

from framework import layers
from framework.backend import get_backend
from framework.backends import numpy_fused_avg_pool

from .test_fused_pooling import SHAPES, _image, assert_a_convnet_trains_alike, run_pooling
from .test_fused_updates import _bits, spy_on_kernels

pytest.importorskip("numba")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf: intended


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_fused_average_pooling_gives_the_plain_lines_bits(shape, dtype, data_format, monkeypatch):
    rng = np.random.default_rng(sum(shape) + 1)
    x = _image(rng, shape, dtype)
    x[0, 0, :2, :2] = -0.0  # a window of -0.0 alone
    dout = _image(rng, (shape[0], shape[1], shape[2] // 2, shape[3] // 2), dtype)
    calls = spy_on_kernels(monkeypatch, numpy_fused_avg_pool)
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = run_pooling(layers.AveragePooling2D, x, dout, data_format)[1:]
    assert not any(calls)
    calls.clear()
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    got = run_pooling(layers.AveragePooling2D, x, dout, data_format)[1:]

    assert calls == [True, True], "the compiled kernels did not run"
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        np.testing.assert_array_equal(_bits(np.ascontiguousarray(a)), _bits(np.ascontiguousarray(b)))
    out = expected[0]
    assert np.isnan(out).any() and (out == 0).any() and not np.signbit(out[0, 0, 0, 0])  # the cases were there


def test_fused_average_pooling_declines_what_it_cannot_do():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 8, 12, 12)).astype(np.float32)
    backend = get_backend()
    cases = {
        "3x3 windows": (x, (3, 3)),
        "every other column (a strided view)": (x[..., ::2], (2, 2)),
        "fewer than FUSE_MIN numbers": (x[:2], (2, 2)),
        "half precision": (x.astype(np.float16), (2, 2)),
        "3-d": (x.reshape(64, 96, 12), (2, 2)),
    }
    for case, (image, pool) in cases.items():
        assert backend.fused_average_pool(image, pool) is None, case
    out = backend.fused_average_pool(x, (2, 2))
    assert backend.fused_average_pool_backward(out, (2, 2), x.shape).shape == x.shape
    assert backend.fused_average_pool_backward(out, (2, 2), (64, 8, 14, 12)) is None  # another x
    assert backend.fused_average_pool_backward(out, (3, 3), x.shape) is None


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_a_convnet_with_average_pooling_trains_to_the_same_weights_with_and_without(data_format, monkeypatch):
    def body():  # 13 x 13 maps: an odd edge
        return [layers.Conv2D(8, 3, activation="relu", data_format=data_format),
                layers.AveragePooling2D(2, data_format=data_format),
                layers.Conv2D(6, 3, padding="same", data_format=data_format)]

    assert_a_convnet_trains_alike(monkeypatch, numpy_fused_avg_pool, body, (192, 1, 15, 15), data_format, seed=9)
