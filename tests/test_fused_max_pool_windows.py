"""MaxPooling2D's compiled pass over any windows gives the layer's own NumPy lines' numbers, bit for bit.

The reference is the layer's plain code (im2col, argmax, max, col2im), run
with ``FRAMEWORK_NUMBA=off``; the same forward and backward then run
through backends/numpy_fused_max_pool_windows.py, on images and gradients
full of ties (+0.0 against -0.0), NaNs with payloads, and infinities.
"""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.backends import numpy_fused_max_pool_windows

from .test_fused_pooling import _image, assert_a_convnet_trains_alike, run_pooling
from .test_fused_updates import _bits, spy_on_kernels

pytest.importorskip("numba")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf in the backward: intended

# (pool_size, strides, padding): overlapping, with gaps, padded, stride 1, rectangular
GEOMETRIES = [(3, 2, "valid"), (3, 2, "same"), (3, 1, "same"), (2, 1, "valid"), ((2, 3), (1, 2), "same"),
              (3, 3, 1), (2, 3, "valid"), (4, 2, "same"), (2, 2, "same")]


def _run(x, dout, pool_size, strides, padding, data_format):
    layer, out, dx = run_pooling(layers.MaxPooling2D, x, dout, data_format, pool_size, strides=strides,
                                 padding=padding)
    return {"out": out, "arg": layer.arg.copy(), "dx": dx}


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool_size, strides, padding", GEOMETRIES)
def test_the_kernels_give_the_lines_bits(pool_size, strides, padding, dtype, data_format, monkeypatch):
    rng = np.random.default_rng(11)
    x = _image(rng, (10, 6, 19, 17), dtype)
    pooling = layers.MaxPooling2D(pool_size, strides=strides, padding=padding)
    dout = _image(rng, pooling.compute_output_shape(x.shape), dtype)
    calls = spy_on_kernels(monkeypatch, numpy_fused_max_pool_windows)
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = _run(x, dout, pool_size, strides, padding, data_format)
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    calls.clear()
    got = _run(x, dout, pool_size, strides, padding, data_format)

    assert calls == [True, True], "the compiled kernels did not run"
    np.testing.assert_array_equal(got["arg"], expected["arg"])
    for key in ("out", "dx"):
        assert got[key].dtype == dtype and got[key].shape == expected[key].shape, key
        np.testing.assert_array_equal(_bits(got[key]), _bits(expected[key]), err_msg=key)


def test_the_kernels_decline_what_they_cannot_do(monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 8, 12, 12)).astype(np.float32)
    backend = fw.get_backend()
    valid = ((0, 0), (0, 0))
    cases = {
        "one window an image (NumPy reduces it in vector registers)": (x, (12, 12), (1, 1)),
        "fewer than FUSE_MIN numbers": (x[:2], (3, 3), (5, 5)),
        "half precision": (x.astype(np.float16), (3, 3), (5, 5)),
        "integers": (x.astype(np.int32), (3, 3), (5, 5)),
        "3-d": (x.reshape(64, 96, 12), (3, 3), (5, 5)),
    }
    for case, (image, pool, out_size) in cases.items():
        assert backend.fused_max_pool_windows(image, pool, (2, 2), valid, out_size) is None, case
    out, arg = backend.fused_max_pool_windows(x, (3, 3), (2, 2), valid, (5, 5))
    assert backend.fused_max_pool_windows_backward(out, arg, (3, 3), (2, 2), valid, x.shape).shape == x.shape
    assert backend.fused_max_pool_windows_backward(out, arg.astype(np.int32), (3, 3), (2, 2), valid, x.shape) is None
    assert backend.fused_max_pool_windows_backward(out, arg[:, :, :-1], (3, 3), (2, 2), valid, x.shape) is None
    # Where NumPy's max or argmax picks otherwise (found once per process), the layer runs its lines.
    monkeypatch.setattr(numpy_fused_max_pool_windows, "_reduces", {np.dtype(np.float32): False})
    assert backend.fused_max_pool_windows(x, (3, 3), (2, 2), valid, (5, 5)) is None


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_a_convnet_with_overlapping_pooling_trains_to_the_same_weights_with_and_without(data_format, monkeypatch):
    def body():
        return [layers.Conv2D(8, 3, data_format=data_format), layers.ReLU(),
                layers.MaxPooling2D(3, strides=2, padding="same", data_format=data_format),
                layers.Conv2D(6, 3, padding="same", activation="relu", data_format=data_format),
                layers.MaxPooling2D(3, strides=1, data_format=data_format)]

    assert_a_convnet_trains_alike(monkeypatch, numpy_fused_max_pool_windows, body, (192, 1, 20, 20), data_format,
                                  seed=6)
