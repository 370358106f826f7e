"""im2col's compiled loop gives the lines' column matrix, bit for bit.

The reference is `framework.layers.im2col.im2col`'s own lines, run with
``FRAMEWORK_NUMBA=off``; the same call then runs through
backends/numpy_fused_im2col.py, on images holding special values (signed
zeros, infinities, denormals, NaNs with payloads), channels first and as
channels-last views, with the convolution's zeros and max pooling's -inf
in the padding, and written over an earlier matrix.
"""

import numpy as np
import pytest

from framework import layers
from framework.backends import numpy_fused_im2col
from framework.layers import im2col as windows

from .test_fused_col2im import GEOMETRIES
from .test_fused_pooling import _image, assert_a_convnet_trains_alike
from .test_fused_updates import _bits, spy_on_kernels

pytest.importorskip("numba")


@pytest.mark.parametrize("layout", ["channels_first", "channels_last view"])
@pytest.mark.parametrize("value", [0.0, float("-inf")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, window, strides, pads", GEOMETRIES)
def test_fused_im2col_gives_the_lines_matrix(shape, window, strides, pads, dtype, value, layout, monkeypatch):
    x = _image(np.random.default_rng(sum(shape)), shape, dtype)
    if layout == "channels_last view":  # what a channels-last convolution passes
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    calls = spy_on_kernels(monkeypatch, numpy_fused_im2col, names=("im2col",))
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = windows.im2col(x, window, strides, pads, value=value)
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    calls.clear()
    earlier = np.full(expected.shape, 7.0, dtype=dtype)
    got = windows.im2col(x, window, strides, pads, value=value, out=earlier)

    assert calls == [True], "the compiled kernel did not run"
    assert got is earlier  # written over, as the lines write over `out`
    assert got.shape == expected.shape and got.dtype == dtype
    np.testing.assert_array_equal(_bits(got), _bits(expected))


def test_fused_im2col_declines_what_it_cannot_do():
    x = np.random.default_rng(0).standard_normal((16, 8, 12, 12)).astype(np.float32)
    same = ((1, 1), (1, 1))
    assert numpy_fused_im2col.im2col(x[:1, :1], (3, 3), (1, 1), same, 0.0) is None  # under FUSE_MIN entries
    assert numpy_fused_im2col.im2col(x.astype(np.float16), (3, 3), (1, 1), same, 0.0) is None
    assert numpy_fused_im2col.im2col(x.astype(np.int32), (3, 3), (1, 1), same, 0.0) is None
    assert numpy_fused_im2col.im2col(x[0], (3, 3), (1, 1), same, 0.0) is None  # 3-d
    done = numpy_fused_im2col.im2col(x, (3, 3), (1, 1), same, 0.0)
    elsewhere = np.empty(done.shape[::-1], dtype=np.float32).T  # the right shape, not C-ordered: not written over
    assert numpy_fused_im2col.im2col(x, (3, 3), (1, 1), same, 0.0, out=elsewhere) is not elsewhere


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_a_convnet_trains_to_the_same_weights_with_and_without(data_format, monkeypatch):
    def body():
        return [layers.Conv2D(8, 3, padding="same", data_format=data_format), layers.ReLU(),
                layers.Conv2D(8, 3, strides=2, data_format=data_format), layers.ReLU()]

    assert_a_convnet_trains_alike(monkeypatch, numpy_fused_im2col, body, (128, 3, 12, 12), data_format, seed=3,
                                  names=("im2col",))
