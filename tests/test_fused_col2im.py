"""col2im's compiled loop gives the lines' numbers, bit for bit.

The reference is `framework.layers.im2col.col2im`'s own lines, run with
``FRAMEWORK_NUMBA=off``; the same call then runs through
backends/numpy_fused_col2im.py. Cells covered by several windows add
several terms, so their order matters: the column gradients hold special
values (signed zeros, infinities, denormals, NaNs), and geometries where
windows overlap, leave gaps, and reach into the padding.
"""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.backend import get_backend
from framework.backends import numpy_fused_col2im
from framework.layers import im2col as windows

from .test_fused_updates import _bits, assert_same_with_and_without_kernels, spy_on_kernels, with_specials

pytest.importorskip("numba")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf in the sums: intended


# (input shape, window, strides, padding ((top, bottom), (left, right))): a 3x3 convolution
# with "same" padding; 5x5 "valid"; overlapping pooling; pooling that tiles; an asymmetric
# stride and padding; windows with gaps between them; padding wider than a window's reach.
GEOMETRIES = [
    ((16, 8, 12, 12), (3, 3), (1, 1), ((1, 1), (1, 1))),
    ((8, 3, 20, 20), (5, 5), (1, 1), ((0, 0), (0, 0))),
    ((16, 8, 13, 13), (3, 3), (2, 2), ((0, 0), (0, 0))),
    ((16, 8, 12, 12), (3, 3), (2, 2), ((1, 1), (1, 1))),
    ((32, 8, 12, 12), (2, 2), (2, 2), ((0, 0), (0, 0))),
    ((16, 8, 12, 11), (3, 2), (1, 2), ((0, 1), (1, 0))),
    ((32, 8, 14, 14), (2, 2), (3, 3), ((0, 0), (0, 0))),
    ((16, 4, 9, 9), (3, 3), (1, 1), ((2, 2), (2, 2))),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, window, strides, pads", GEOMETRIES)
def test_fused_col2im_gives_the_lines_bits(shape, window, strides, pads, dtype, monkeypatch):
    n, c, h, w = shape
    oh, ow = (windows.output_length(size, k, s, p) for size, k, s, p in zip((h, w), window, strides, pads))
    col = with_specials(np.random.default_rng(sum(shape)), dtype, shape=(n, c * window[0] * window[1], oh * ow))
    calls = spy_on_kernels(monkeypatch, numpy_fused_col2im, names=("col2im",))
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = windows.col2im(col, shape, window, strides, pads)
    calls.clear()
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    got = windows.col2im(col, shape, window, strides, pads)
    assert calls == [True], "the compiled kernel did not run"
    assert got.shape == expected.shape == shape and got.dtype == dtype
    np.testing.assert_array_equal(_bits(got), _bits(expected))
    assert (expected == 0).any() and np.isnan(expected).any()  # both kinds of cell were there


# (MaxPooling2D's windows that do not tile have a backward kernel of their own:
# tests/test_fused_max_pool_windows.py.)
@pytest.mark.parametrize("layer", [lambda: layers.Conv2D(6, 3, padding="same"), lambda: layers.Conv2D(6, 3, strides=2)])
def test_the_layers_backward_gives_the_same_dx(layer, monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 4, 15, 15)).astype(np.float32)

    def dx():
        fw.set_seed(0)
        built = layer()
        built.build(x.shape)
        built.needs_input_grad = True
        out = built.forward(x, training=True)
        return built.backward(with_specials(rng, np.float32, shape=out.shape))

    calls = spy_on_kernels(monkeypatch, numpy_fused_col2im, names=("col2im",))
    rng = np.random.default_rng(1)
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = dx()
    calls.clear()
    rng = np.random.default_rng(1)
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    got = dx()
    assert calls == [True]
    np.testing.assert_array_equal(_bits(got), _bits(expected))


def test_fused_col2im_declines_what_it_cannot_do():
    backend = get_backend()
    shape, window, strides, pads = (16, 8, 12, 12), (3, 3), (1, 1), ((1, 1), (1, 1))
    col = np.random.default_rng(2).standard_normal((16, 72, 144)).astype(np.float32)
    assert backend.fused_col2im(col, shape, window, strides, pads) is not None
    cases = {
        "fewer than FUSE_MIN entries": (col[:1], (1, 8, 12, 12)),
        "a strided view": (col[:, ::2], (16, 4, 12, 12)),
        "another shape than the geometry's": (col, (16, 8, 13, 12)),
        "half precision": (col.astype(np.float16), shape),
        "integers": (col.astype(np.int32), shape),
        "3-d input": (col, (16, 8, 144)),
    }
    for case, (columns, input_shape) in cases.items():
        assert backend.fused_col2im(columns, input_shape, window, strides, pads) is None, case


def test_a_convnet_with_two_convolutions_trains_to_the_same_weights_with_and_without(monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.random((128, 1, 12, 12), dtype=np.float32)
    t = rng.integers(0, 3, 128)
    calls = spy_on_kernels(monkeypatch, numpy_fused_col2im, names=("col2im",))

    def weights_after_fit():
        fw.set_seed(0)
        model = fw.Sequential([layers.Conv2D(8, 3, padding="same"), layers.ReLU(), layers.Conv2D(8, 3), layers.ReLU(),
                               layers.AveragePooling2D(2), layers.Flatten(), layers.Affine(3), layers.SoftmaxWithLoss()])
        model.compile(optimizer=fw.optimizers.Adam(0.01))
        model.fit(x, t, batch_size=64, epochs=2, verbose=0)
        return model.get_weights()

    assert_same_with_and_without_kernels(monkeypatch, weights_after_fit)
    assert any(calls), "the compiled kernel did not run"
