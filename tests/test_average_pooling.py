"""AveragePooling2D sums strided views of the image: the numbers of the book's im2col columns, bit for bit.

The reference below is average pooling as a convolution is done in the
book: `im2col` copies every window into a column, the column's cells are
added up one after another (NumPy's `sum` would add a window of 8 cells or
more pairwise where it is an image's only one) and divided by the window's
real cells, and the backward hands each window's
share back with `col2im`. The layer never makes the columns; it must
still give every bit they give, in forward and backward, with windows that
tile, overlap, leave gaps and reach into "same" padding, on inputs full of
signed zeros, infinities, denormals and NaNs.
"""

import numpy as np
import pytest

from framework import layers
from framework.layers import im2col as windows

from .test_fused_updates import _bits, with_specials

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf: intended


def _by_columns(layer, x, dout):
    """The layer's forward and backward as im2col and col2im compute them."""
    n, c, h, w = x.shape
    oh, ow = dout.shape[2:]
    k = layer.pool_size[0] * layer.pool_size[1]
    col = windows.im2col(x, layer.pool_size, layer.strides, layer.pads).reshape(n, c, k, oh * ow)
    ones = np.ones((1, 1, h, w), dtype=x.dtype)
    cells = windows.im2col(ones, layer.pool_size, layer.strides, layer.pads).sum(axis=1).reshape(1, 1, oh * ow)
    total = np.zeros((n, c, oh * ow), dtype=x.dtype)
    for cell in range(k):  # one cell of every window at a time, row by row, as the layer promises
        total += col[:, :, cell]
    out = (total / cells).reshape(n, c, oh, ow)
    share = (dout.reshape(n, c, -1) / cells).reshape(n, c, 1, -1)
    dcol = np.empty((n, c, k, oh * ow), dtype=dout.dtype)
    dcol[...] = share
    dx = windows.col2im(dcol.reshape(n, c * k, -1), x.shape, layer.pool_size, layer.strides, layer.pads)
    return out, dx


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool, strides, padding, shape", [
    (2, None, "valid", (8, 3, 12, 12)),  # tiles: the common case
    (2, None, "valid", (4, 2, 9, 7)),  # an odd last row and column in no window
    (3, 1, "same", (4, 3, 8, 9)),  # overlapping, padded
    (3, 2, "valid", (4, 2, 11, 11)),
    ((2, 3), (3, 1), 1, (4, 2, 10, 9)),  # gaps between rows of windows; an integer pad
    (1, 2, "valid", (4, 2, 6, 6)),  # one cell a window
    (4, None, "valid", (4, 2, 4, 4)),  # one window an image
])
def test_average_pooling_gives_the_columns_numbers(pool, strides, padding, shape, dtype):
    rng = np.random.default_rng(sum(shape))
    x = with_specials(rng, dtype, shape=shape)
    x[0, 0] = -0.0  # windows of -0.0 alone: their sum is +0.0, as NumPy's sum starts from 0
    layer = layers.AveragePooling2D(pool, strides, padding)
    layer.build(shape)
    out = layer.forward(x)
    dout = with_specials(rng, dtype, shape=out.shape)
    dx = layer.backward(dout)

    expected_out, expected_dx = _by_columns(layer, x, dout)
    assert out.dtype == dx.dtype == dtype and dx.shape == shape
    np.testing.assert_array_equal(_bits(out), _bits(expected_out))
    np.testing.assert_array_equal(_bits(dx), _bits(expected_dx))
    assert (expected_out == 0).any() and np.isnan(expected_out).any()  # the special cases were there
