"""AveragePooling2D's 2x2 windows, forward and backward, each in one compiled pass (Numba, optional).

Where 2x2 windows tile the image (stride 2, no padding), the layer adds
the pool's four strided views of the image to zeros and divides by the
window's cells (framework/layers/pooling.py): five passes over the
output, each reading every other number of the image. Its backward adds
each window's share to four strided views of a zero gradient. These
kernels visit each window once. Measured on a 2-core machine, float32
maps, alternating with the lines in one process:

    maps                             forward          backward
                                     lines   kernel   lines   kernel
    (64, 32, 32, 32)                 1.5     0.57     2.8     0.69  ms
    (100, 30, 24, 24)                1.4     0.47     2.5     0.58  ms
    (64, 32, 32, 32), channels last  2.3     0.27     3.9     0.75  ms

Same numbers: a window's sum starts from +0.0 and adds its cells row by
row, (0, 0), (0, 1), (1, 0), (1, 1), then divides by 4, each step rounded
to the dtype as the lines round it; the backward gives each cell
``0.0 + dout / 4``, as the lines' zeros plus the share. Numba compiles
without fast-math. Channels-last images (transposed views, as for max
pooling: see `numpy_pool_tiles`) get kernels with the channels innermost.
`tests/test_fused_average_pooling.py` compares them with the layer's lines
bit for bit.

The layer runs its lines for other windows, for fewer than
`numpy_fused.FUSE_MIN` cells, for images laid out neither way, and
wherever the optimizer kernels would not run.
"""

import math

import numpy

from framework.backends import numpy_fused
from framework.backends.numpy_pool_tiles import ORDERS, layout_of, new_gradient, permuted, takes, tiles


def forward(x, pool_size):
    """The 2x2 tiled average of (N, C, H, W) `x`, (N, C, H // 2, W // 2) laid out as `x`; None if not done here."""
    layout = layout_of(x)
    if layout is None or not takes(x, pool_size, x.size):
        return None
    kernel = _kernel(f"average_pool_2x2{layout}", _KERNELS[layout][0], x.dtype)
    if kernel is None:
        return None
    n, c, h, w = x.shape
    order, back = ORDERS[layout]
    out = numpy.empty(permuted((n, c, h // 2, w // 2), order), dtype=x.dtype)
    kernel(x.transpose(order), out, x.dtype.type(0.0), x.dtype.type(4.0))
    return out.transpose(back)


def backward(dout, pool_size, x_shape):
    """dx (`x_shape`) of the 2x2 tiled average, laid out as `dout`; None if not done here."""
    layout = layout_of(dout)
    if layout is None or not tiles(x_shape, dout.shape) or not takes(dout, pool_size, math.prod(x_shape)):
        return None
    kernel = _kernel(f"average_pool_2x2_backward{layout}", _KERNELS[layout][1], dout.dtype)
    if kernel is None:
        return None
    order, back = ORDERS[layout]
    dx = new_gradient(x_shape, order, dout.dtype)
    kernel(dout.transpose(order), dx, dout.dtype.type(0.0), dout.dtype.type(4.0))
    return dx.transpose(back)


def _kernel(name, function, dtype):
    return numpy_fused.compile_kernel((name, dtype), function, _signature, dtype)


def _signature(dtype):
    numba = numpy_fused._numba
    scalar = numba.from_dtype(dtype)
    images = scalar[:, :, :, ::1]
    return numba.types.void(images, images, scalar, scalar)  # in, out, +0.0 and 4 in the dtype


# The layer's lines, per window of rows r0, r1 and columns 2j, 2j + 1: the
# sum from +0.0, cell by cell row by row, over the cells; the backward's
# share, from +0.0, to each cell. `zero` and `cells` come in the images'
# dtype, so every operation rounds as NumPy's does.

def _forward(x, out, zero, cells):
    n, c, oh, ow = out.shape
    for s in range(n):
        for k in range(c):
            for i in range(oh):
                r0 = 2 * i
                r1 = r0 + 1
                for j in range(ow):
                    total = zero + x[s, k, r0, 2 * j]
                    total += x[s, k, r0, 2 * j + 1]
                    total += x[s, k, r1, 2 * j]
                    total += x[s, k, r1, 2 * j + 1]
                    out[s, k, i, j] = total / cells


def _backward(dout, dx, zero, cells):
    n, c, oh, ow = dout.shape
    for s in range(n):
        for k in range(c):
            for i in range(oh):
                r0 = 2 * i
                r1 = r0 + 1
                for j in range(ow):
                    share = zero + dout[s, k, i, j] / cells
                    dx[s, k, r0, 2 * j] = share
                    dx[s, k, r0, 2 * j + 1] = share
                    dx[s, k, r1, 2 * j] = share
                    dx[s, k, r1, 2 * j + 1] = share


# Channels last, (N, H, W, C): the same lines, the channels innermost.

def _forward_last(x, out, zero, cells):
    n, oh, ow, c = out.shape
    for s in range(n):
        for i in range(oh):
            r0 = 2 * i
            r1 = r0 + 1
            for j in range(ow):
                for k in range(c):
                    total = zero + x[s, r0, 2 * j, k]
                    total += x[s, r0, 2 * j + 1, k]
                    total += x[s, r1, 2 * j, k]
                    total += x[s, r1, 2 * j + 1, k]
                    out[s, i, j, k] = total / cells


def _backward_last(dout, dx, zero, cells):
    n, oh, ow, c = dout.shape
    for s in range(n):
        for i in range(oh):
            r0 = 2 * i
            r1 = r0 + 1
            for j in range(ow):
                for k in range(c):
                    share = zero + dout[s, i, j, k] / cells
                    dx[s, r0, 2 * j, k] = share
                    dx[s, r0, 2 * j + 1, k] = share
                    dx[s, r1, 2 * j, k] = share
                    dx[s, r1, 2 * j + 1, k] = share


_KERNELS = {"": (_forward, _backward), "_channels_last": (_forward_last, _backward_last)}
