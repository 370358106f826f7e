"""The CuPy backend's one-kernel im2col and col2im give the lines' numbers on CuPy, bit for bit.

The reference is `framework.layers.im2col`'s own lines run by CuPy (the
kernels switched off); the same calls then run through
backends/cupy_fused_im2col.py: im2col on images holding special values
(signed zeros, infinities, denormals, NaNs with payloads), channels first
and as channels-last views, with the convolution's zeros and max pooling's
-inf in the padding, and written over an earlier matrix; col2im on column
gradients holding them. Runs where CuPy and a CUDA device exist.
"""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.backends import cupy_fused_im2col
from framework.layers import im2col as windows

from .conftest import GPU_ONLY
from .test_fused_col2im import GEOMETRIES
from .test_fused_pooling import _image, channels_last
from .test_fused_updates import _bits, with_specials

pytestmark = GPU_ONLY


@pytest.fixture(autouse=True)
def _on_cupy(cupy_backend):
    """Every test here runs on CuPy (`cupy_backend` is conftest's)."""


def _spy(monkeypatch, real, name="im2col"):
    """A list that records, for each call of the kernel module's `name` (`real`), whether it did the work."""
    calls = []

    def spy(*args):
        result = real(*args)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(cupy_fused_im2col, name, spy)
    return calls


@pytest.mark.parametrize("layout", ["channels_first", "channels_last view"])
@pytest.mark.parametrize("value", [0.0, float("-inf")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, window, strides, pads", GEOMETRIES)
def test_fused_im2col_gives_the_lines_matrix(cupy_backend, shape, window, strides, pads, dtype, value, layout,
                                             monkeypatch):
    cupy = cupy_backend.xp
    x = cupy.asarray(_image(np.random.default_rng(sum(shape)), shape, dtype))
    if layout == "channels_last view":  # what a channels-last convolution passes
        x = cupy.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    real = cupy_fused_im2col.im2col
    monkeypatch.setattr(cupy_fused_im2col, "im2col", lambda *args: None)
    expected = cupy.asnumpy(windows.im2col(x, window, strides, pads, value=value))
    calls = _spy(monkeypatch, real)
    earlier = cupy.full(expected.shape, 7.0, dtype=dtype)
    got = windows.im2col(x, window, strides, pads, value=value, out=earlier)

    assert calls == [True], "the kernel did not run"
    assert got is earlier  # written over, as the lines write over `out`
    assert got.shape == expected.shape and got.dtype == dtype
    np.testing.assert_array_equal(_bits(cupy.asnumpy(got)), _bits(expected))


def test_fused_im2col_declines_what_it_cannot_do(cupy_backend):
    cupy = cupy_backend.xp
    x = cupy.asarray(np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32))
    same = ((1, 1), (1, 1))
    im2col = cupy_fused_im2col.im2col
    assert im2col(cupy, x.astype(np.float16), (3, 3), (1, 1), same, 0.0) is None
    assert im2col(cupy, x.astype(np.int32), (3, 3), (1, 1), same, 0.0) is None
    assert im2col(cupy, x[0], (3, 3), (1, 1), same, 0.0) is None  # 3-d
    assert im2col(cupy, cupy.asnumpy(x), (3, 3), (1, 1), same, 0.0) is None  # a NumPy array
    done = im2col(cupy, x, (3, 3), (1, 1), same, 0.0)
    elsewhere = cupy.empty(done.shape[::-1], dtype=np.float32).T  # the right shape, not C-ordered: not written over
    assert im2col(cupy, x, (3, 3), (1, 1), same, 0.0, out=elsewhere) is not elsewhere


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, window, strides, pads", GEOMETRIES)
def test_fused_col2im_gives_the_lines_bits(cupy_backend, shape, window, strides, pads, dtype, monkeypatch):
    cupy = cupy_backend.xp
    n, c, h, w = shape
    oh, ow = (windows.output_length(size, k, s, p) for size, k, s, p in zip((h, w), window, strides, pads))
    col = cupy.asarray(with_specials(np.random.default_rng(sum(shape)), dtype,
                                     shape=(n, c * window[0] * window[1], oh * ow)))
    real = cupy_fused_im2col.col2im
    monkeypatch.setattr(cupy_fused_im2col, "col2im", lambda *args: None)
    expected = windows.col2im(col, shape, window, strides, pads)
    calls = _spy(monkeypatch, real, "col2im")
    got = windows.col2im(col, shape, window, strides, pads)

    assert calls == [True], "the kernel did not run"
    assert got.shape == expected.shape and got.dtype == dtype
    assert got.strides == expected.strides  # the same view of a padded image
    np.testing.assert_array_equal(_bits(cupy.asnumpy(got)), _bits(cupy.asnumpy(expected)))


def test_fused_col2im_declines_what_it_cannot_do(cupy_backend):
    cupy = cupy_backend.xp
    col = cupy.zeros((4, 3 * 9, 64), dtype=np.float32)
    same = ((1, 1), (1, 1))
    col2im = cupy_fused_im2col.col2im
    assert col2im(cupy, col.astype(np.float16), (4, 3, 8, 8), (3, 3), (1, 1), same) is None
    assert col2im(cupy, col[:, :-1], (4, 3, 8, 8), (3, 3), (1, 1), same) is None  # not the input's windows
    assert col2im(cupy, cupy.asnumpy(col), (4, 3, 8, 8), (3, 3), (1, 1), same) is None
    assert col2im(cupy, col, (4, 3, 8, 8), (3, 3), (1, 1), same).shape == (4, 3, 8, 8)


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_a_convnet_trains_to_the_same_weights_with_and_without(data_format, monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.random((128, 3, 12, 12), dtype=np.float32)
    if data_format == "channels_last":
        (x,) = channels_last(x)
    t = rng.integers(0, 4, 128)

    def weights_after_fit():
        fw.set_seed(0)
        model = fw.Sequential([layers.Conv2D(8, 3, padding="same", data_format=data_format), layers.ReLU(),
                               layers.MaxPooling2D(3, strides=2, padding="same", data_format=data_format),
                               layers.Conv2D(8, 3, strides=2, data_format=data_format), layers.ReLU(),
                               layers.Flatten(), layers.Affine(4), layers.SoftmaxWithLoss()])
        model.compile(optimizer=fw.optimizers.SGD(0.05, momentum=0.9))
        model.fit(x, t, batch_size=64, epochs=2, verbose=0)
        return model.get_weights()

    calls = {name: _spy(monkeypatch, getattr(cupy_fused_im2col, name), name) for name in ("im2col", "col2im")}
    got = weights_after_fit()
    for name, made in calls.items():
        assert made and all(made), f"the {name} kernel did not run"
        monkeypatch.setattr(cupy_fused_im2col, name, lambda *args: None)
    expected = weights_after_fit()
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(_bits(np.asarray(a)), _bits(np.asarray(b)))
