"""MaxPooling2D's 2x2 windows, forward and backward, each in one compiled pass (Numba, optional).

Where 2x2 windows tile the image (stride 2, no padding: Keras's default and
the book's SimpleConvNet), the layer takes each window's maximum one axis at
a time over strided views (framework/layers/pooling.py): NumPy walks every
other number of the image, several times, and the backward writes the
gradient back through strided views the same way. These kernels visit each
window once. Measured on a 2-core machine, (100, 30, 24, 24) float32 maps:
forward 1.0-1.5 ms instead of 3.8-5.0, backward 0.6-0.9 ms instead of
2.5-3.2; a quarter of the SimpleConvNet's step.

Same numbers. Forward only compares and picks, so the outputs are the
image's own numbers, picked as the layer's lines pick them:

- `maximum(a, b)` is ``a if a > b or a is NaN else b``: on a tie (+0.0 and
  -0.0) the second, and a NaN wins from either side (the first one if
  both are). NumPy does not document this, so `numpy_picks_so` checks it
  once per process, on contiguous and strided arrays; where NumPy picks
  otherwise (another machine's SIMD), the layer runs its lines.
- "the second wins" (the layer's ``arg`` masks) is ``b > a``, strictly.

Backward multiplies by 0 or 1 and subtracts, as the layer's `_spread` does:
the second cell of a pair gets ``d * wins`` and the first ``d - d * wins``,
so a -0.0, an infinity or a NaN in `dout` goes where it goes in the
layer's lines. A 0 or 1 is taken from a table by the mask's byte rather
than by a branch, which the processor mispredicts on half of the windows
(that made the backward three times slower). Numba compiles both without
fast-math. `tests/test_fused_pooling.py` compares the outputs, the masks and
the gradient with the layer's lines bit for bit.

Channels-last images reach the layer as transposed views, (N, H, W, C)
memory under (N, C, H, W) shapes. A second pair of kernels takes them in
their own order, with a window's cells as whole rows of channels, so the
innermost loop runs along memory: the same lines, the same numbers. (One
kernel for both layouts, over (N, C, H, W, 1) or (N, 1, H, W, C) arrays,
took 3-4 times as long on channels-first maps, its innermost loop being a
single step.) Measured on channels-last float32 images, the lines on
strided views against the kernels: (64, 14, 14, 32) forward 0.49 against
0.11 ms, backward 1.75 against 0.19 ms; (100, 24, 24, 30) forward 2.5
against 1.5 ms, backward 7.7 against 0.9 ms.

The layer runs its NumPy lines for other windows (3x3, overlapping,
padded), for fewer than `numpy_fused.FUSE_MIN` numbers, for images laid
out neither way or not NumPy arrays of one float dtype, and wherever the
optimizer kernels would not run (no Numba, ``FRAMEWORK_NUMBA=off``, a
failed compile).
"""

import math

import numpy

from framework.backends import numpy_fused
from framework.backends.numpy_pool_tiles import ORDERS, layout_of, new_gradient, permuted, takes, tiles


def forward(x, pool_size):
    """``(out, arg_h, arg_w)`` of the layer's 2x2 tiled forward on (N, C, H, W) `x`; None if not done here.

    `out` is (N, C, H // 2, W // 2); `arg_h` (N, C, H // 2, W // 2) and
    `arg_w` (N, C, 2 * (H // 2), W // 2) are the boolean masks "the second
    row (column) of the window wins" that the layer's backward reads. `x`
    may be C-contiguous or a channels-last image seen channels first
    (``image.transpose(0, 3, 1, 2)``, as the layer passes it); the results
    are then laid out likewise, channels last under channels-first shapes.
    """
    layout = layout_of(x)
    if layout is None or not _usable(x, pool_size, x.size):
        return None
    kernel = _kernel(f"max_pool_2x2{layout}", _KERNELS[layout][0], x.dtype)
    if kernel is None:
        return None
    n, c, h, w = x.shape
    order, back = ORDERS[layout]
    out = numpy.empty(permuted((n, c, h // 2, w // 2), order), dtype=x.dtype)
    arg_h = numpy.empty(out.shape, dtype=bool)
    arg_w = numpy.empty(permuted((n, c, 2 * (h // 2), w // 2), order), dtype=bool)
    kernel(x.transpose(order), out, arg_h, arg_w)
    return tuple(array.transpose(back) for array in (out, arg_h, arg_w))


def backward(dout, arg_h, arg_w, pool_size, x_shape):
    """dx (`x_shape`) of the layer's 2x2 tiled backward from `dout` and forward's masks; None if not done here.

    dx is laid out as the masks are (see `forward`); a `dout` laid out
    otherwise is copied to their layout first.
    """
    layout = layout_of(arg_h)
    if layout is None or not tiles(x_shape, dout.shape) or not _usable(dout, pool_size, math.prod(x_shape)):
        return None
    n, c, oh, ow = dout.shape
    if arg_h.shape != dout.shape or arg_w.shape != (n, c, 2 * oh, ow):
        return None
    for mask in (arg_h, arg_w):
        if type(mask) is not numpy.ndarray or mask.dtype != bool or layout_of(mask) != layout:
            return None
    kernel = _kernel(f"max_pool_2x2_backward{layout}", _KERNELS[layout][1], dout.dtype)
    if kernel is None:
        return None
    order, back = ORDERS[layout]
    if layout_of(dout) != layout:  # the next layer's gradient in the other layout: a copy, the same numbers
        dout = numpy.ascontiguousarray(dout.transpose(order)).transpose(back)
    dx = new_gradient(x_shape, order, dout.dtype)
    factors = numpy.array([0, 1], dtype=dout.dtype)  # by the mask's byte: d * wins without a branch
    masks = (mask.transpose(order).view(numpy.uint8) for mask in (arg_h, arg_w))
    kernel(dout.transpose(order), *masks, factors, dx)
    return dx.transpose(back)


def _usable(array, pool_size, image_size):
    """Whether the kernels take `array` (`numpy_pool_tiles.takes`), and NumPy's maximum picks as they do."""
    return takes(array, pool_size, image_size) and numpy_picks_so()


def numpy_picks_so():
    """Whether `numpy.maximum` picks as the kernels do: the first if it is greater or NaN, else the second.

    Checked once per process, bit for bit, on ties of signed zeros, NaNs with
    payloads and infinities, in float32 and float64, on contiguous arrays
    long enough for NumPy's vector loop and its tail, and on strided views
    (the layer's first maximum runs over every other column).
    """
    global _picks_checked
    if _picks_checked is None:
        _picks_checked = all(_picks_so(dtype) for dtype in numpy_fused._FLOATS)
    return _picks_checked


_picks_checked = None


def _picks_so(dtype):
    bits = numpy.dtype(f"u{dtype.itemsize}")
    quiet = numpy.array([numpy.nan], dtype=dtype).view(bits)[0]
    nan_a, nan_b = (numpy.array([quiet | payload], dtype=bits).view(dtype)[0] for payload in (1, 2))
    pairs = [(-0.0, 0.0), (0.0, -0.0), (nan_a, 1.0), (1.0, nan_b), (nan_a, nan_b), (-numpy.inf, numpy.inf),
             (numpy.inf, -numpy.inf), (1.0, 2.0), (2.0, 1.0), (-1.0, -1.0), (-numpy.inf, nan_b)]
    wide = numpy.array([pairs[i % len(pairs)] for i in range(2 * 41)], dtype=dtype)  # (82, 2)
    for a, b in ((wide[:41, 0], wide[:41, 1]), (wide[::2, 0], wide[::2, 1]), (wide[:, 0].reshape(2, 41)[:, ::2],
                                                                               wide[:, 1].reshape(2, 41)[:, ::2])):
        expected = numpy.where((a > b) | (a != a), a, b)
        if not numpy.array_equal(numpy.maximum(a, b).view(bits), expected.view(bits)):
            return False
    return True


def _kernel(name, function, dtype):
    return numpy_fused.compile_kernel((name, dtype), function, _signature, dtype, name)


def _signature(dtype, name):
    numba = numpy_fused._numba
    images = numba.from_dtype(dtype)[:, :, :, ::1]
    if not name.startswith("max_pool_2x2_backward"):  # x, out, arg_h, arg_w
        return numba.types.void(images, images, *[numba.types.boolean[:, :, :, ::1]] * 2)
    masks = numba.types.uint8[:, :, :, ::1]  # dout, arg_h, arg_w, factors, dx
    return numba.types.void(images, masks, masks, numba.from_dtype(dtype)[::1], images)


# The layer's lines, per window of rows r0, r1 and columns 2j, 2j + 1: the max
# of each row's two cells (`wins` = the second is greater), then of the two rows.

def _forward(x, out, arg_h, arg_w):
    n, c, oh, ow = out.shape
    for s in range(n):
        for k in range(c):
            for i in range(oh):
                r0 = 2 * i
                r1 = r0 + 1
                for j in range(ow):
                    a = x[s, k, r0, 2 * j]
                    b = x[s, k, r0, 2 * j + 1]
                    arg_w[s, k, r0, j] = b > a
                    top = a if (a > b) | (a != a) else b  # numpy.maximum(a, b)
                    a = x[s, k, r1, 2 * j]
                    b = x[s, k, r1, 2 * j + 1]
                    arg_w[s, k, r1, j] = b > a
                    bottom = a if (a > b) | (a != a) else b
                    arg_h[s, k, i, j] = bottom > top
                    out[s, k, i, j] = top if (top > bottom) | (top != top) else bottom


def _backward(dout, arg_h, arg_w, factors, dx):
    n, c, oh, ow = dout.shape
    for s in range(n):
        for k in range(c):
            for i in range(oh):
                r0 = 2 * i
                r1 = r0 + 1
                for j in range(ow):
                    # drows = _spread(dout, arg_h): the second row gets d * wins, the first the rest
                    d = dout[s, k, i, j]
                    second = d * factors[arg_h[s, k, i, j]]
                    first = d - second
                    # then each row's share to its two columns, likewise
                    share = first * factors[arg_w[s, k, r0, j]]
                    dx[s, k, r0, 2 * j + 1] = share
                    dx[s, k, r0, 2 * j] = first - share
                    share = second * factors[arg_w[s, k, r1, j]]
                    dx[s, k, r1, 2 * j + 1] = share
                    dx[s, k, r1, 2 * j] = second - share


# The same lines with the images channels last, (N, H, W, C): a window's
# four cells are whole rows of channels, so the innermost loop runs along
# memory, one channel after another.

def _forward_last(x, out, arg_h, arg_w):
    n, oh, ow, c = out.shape
    for s in range(n):
        for i in range(oh):
            r0 = 2 * i
            r1 = r0 + 1
            for j in range(ow):
                for k in range(c):
                    a = x[s, r0, 2 * j, k]
                    b = x[s, r0, 2 * j + 1, k]
                    arg_w[s, r0, j, k] = b > a
                    top = a if (a > b) | (a != a) else b
                    a = x[s, r1, 2 * j, k]
                    b = x[s, r1, 2 * j + 1, k]
                    arg_w[s, r1, j, k] = b > a
                    bottom = a if (a > b) | (a != a) else b
                    arg_h[s, i, j, k] = bottom > top
                    out[s, i, j, k] = top if (top > bottom) | (top != top) else bottom


def _backward_last(dout, arg_h, arg_w, factors, dx):
    n, oh, ow, c = dout.shape
    for s in range(n):
        for i in range(oh):
            r0 = 2 * i
            r1 = r0 + 1
            for j in range(ow):
                for k in range(c):
                    d = dout[s, i, j, k]
                    second = d * factors[arg_h[s, i, j, k]]
                    first = d - second
                    share = first * factors[arg_w[s, r0, j, k]]
                    dx[s, r0, 2 * j + 1, k] = share
                    dx[s, r0, 2 * j, k] = first - share
                    share = second * factors[arg_w[s, r1, j, k]]
                    dx[s, r1, 2 * j + 1, k] = share
                    dx[s, r1, 2 * j, k] = second - share


_KERNELS = {"": (_forward, _backward), "_channels_last": (_forward_last, _backward_last)}
