"""col2im as one compiled loop (Numba, optional).

`framework.layers.im2col.col2im` adds the column gradients back onto the
image with one strided ``+=`` of the whole batch per window offset (kh*kw
of them). NumPy runs each as many short inner loops, one per image row, and
reads and writes the image once per offset. This kernel adds each window's
entries onto its cells in one loop per sample and channel, while that
image stays in cache. Measured on a 2-core machine, (100, 30, 24, 24)
float32 images: a 3x3 convolution with "same" padding 31 -> 18 ms, 3x3
pooling with stride 2 12 -> 6.5 ms, 2x2 average pooling 10 -> 5 ms.
With a stride of 1 along the rows, each window column's terms are added to
an image row as one contiguous run, which the compiler turns into vector
instructions (each cell still gets one term at a time, in order): 3x3
"same" 17.0 -> 13.6 ms, 5x5 "valid" 34 -> 27 ms, and 2.2 -> 1.6 ms on
(64, 16, 14, 14) images. It is
the backward of every convolution that passes a gradient on. (The
forward's twin is `numpy_fused_im2col`.)

Same numbers. Each image cell receives the entries of the windows that
covered it in the lines' order (window offsets row by row), starting from
+0.0 as their zeros do; entries that fall on the padding are left out,
where the lines add them to padded cells they then cut away. So every
cell is the same sum, added in the same order; Numba compiles without
fast-math. The result is a contiguous array (the lines return a view of
their padded image). `tests/test_fused_col2im.py` compares it with the
lines bit for bit.

The lines run instead for fewer than `numpy_fused.FUSE_MIN` column
entries, for columns that are not a C-contiguous NumPy array of one float
dtype, and wherever the optimizer kernels would not run (no Numba,
``FRAMEWORK_NUMBA=off``, a failed compile).
"""

import numpy

from framework.backends import numpy_fused
from framework.backends.window_geometry import window_geometry


def col2im(col, input_shape, kernel, strides, pads):
    """dx of `input_shape` (N, C, H, W) from column gradients `col` (N, C*kh*kw, OH*OW); None if not done here."""
    if len(input_shape) != 4 or type(col) is not numpy.ndarray or col.dtype not in numpy_fused._FLOATS:
        return None
    n, c, h, w = input_shape
    geometry = window_geometry(h, w, kernel, strides, pads)
    if geometry is None:
        return None
    kh, kw, sh, sw, top, left, oh, ow = geometry
    if col.shape != (n, c * kh * kw, oh * ow):
        return None
    if col.size < numpy_fused.FUSE_MIN or not col.flags.c_contiguous or not numpy_fused.enabled():
        return None
    compiled = numpy_fused.compile_kernel(("col2im", col.dtype), _col2im, _signature, col.dtype)
    if compiled is None:
        return None
    dx = numpy.zeros(tuple(input_shape), dtype=col.dtype)  # +0.0, where the lines' sums start
    compiled(col.reshape(n, c, kh, kw, oh, ow), kh, kw, sh, sw, top, left, dx)
    return dx


def _signature(dtype):
    numba = numpy_fused._numba
    scalar = numba.from_dtype(dtype)
    return numba.types.void(scalar[:, :, :, :, :, ::1], *[numba.types.intp] * 6, scalar[:, :, :, ::1])


def _col2im(col, kh, kw, sh, sw, top, left, dx):
    # Column entry (s, k, i, j, oy, ox) came from padded cell (oy*sh + i, ox*sw + j),
    # image cell (that - top, that - left). For one offset (i, j) the output
    # columns whose image column lies inside are [lo, hi).
    n, c, h, w = dx.shape
    oh, ow = col.shape[4], col.shape[5]
    for s in range(n):
        for k in range(c):
            for i in range(kh):  # each cell's terms in the lines' order: offsets row by row
                for j in range(kw):
                    lo = min(ow, max(0, -((j - left) // sw)))
                    hi = max(lo, min(ow, (w - 1 - j + left) // sw + 1))
                    for oy in range(oh):
                        y = oy * sh + i - top
                        if 0 <= y < h:
                            if sw == 1:  # both rows contiguous: the compiler adds them in vector instructions
                                row, terms, shift = dx[s, k, y], col[s, k, i, j, oy], j - left
                                for ox in range(lo, hi):
                                    row[ox + shift] += terms[ox]
                            else:
                                for ox in range(lo, hi):
                                    dx[s, k, y, ox * sw + j - left] += col[s, k, i, j, oy, ox]
