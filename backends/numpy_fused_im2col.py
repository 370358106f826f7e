"""im2col as one compiled loop (Numba, optional).

`framework.layers.im2col.im2col` pads the batch (a copy), then copies one
strided view of it per window offset, kh*kw of them, into the column
matrix. NumPy runs each copy as one short inner loop per image row: on the
small maps of a CNN's later layers (15 x 15, 16 x 16) each loop moves a
few dozen bytes. This kernel writes the matrix row by row from the images
as they are, with the padding value where a window reaches past the
image: no padded copy. Measured on a 2-core machine, float32, 3x3 windows
with "same" padding, writing over the last step's matrix as `Convolution`
does: (64, 32, 15, 15) images 3.1 -> 1.9 ms, (64, 32, 16, 16) 3.9 -> 1.9 ms,
(64, 16, 28, 28) 4.6 -> 2.3 ms; the SimpleConvNet's (100, 1, 28, 28) with
5x5 windows 0.6 -> 0.3 ms. Indices are unsigned: with Python's signed ones
the compiler checks each for a count from the end and the copy is not
vectorised (3 times slower, slower than NumPy's).

Same numbers: it only copies, so every entry is the image's own number
(or the padding value), bit for bit; `tests/test_fused_im2col.py` compares
it with the lines. The lines run instead for fewer than
`numpy_fused.FUSE_MIN` entries, for images that are not NumPy arrays of
one float dtype, and wherever the optimizer kernels would not run (no
Numba, ``FRAMEWORK_NUMBA=off``, a failed compile).
"""

import numpy

from framework.backends import numpy_fused
from framework.backends.window_geometry import window_geometry


def im2col(x, kernel, strides, pads, value, out=None):
    """`framework.layers.im2col.im2col`'s column matrix (N, C*kh*kw, OH*OW) of (N, C, H, W) `x`; None if not done.

    `x` may have any strides (a channels-last image is a transposed view).
    `out`: an earlier matrix to write over, where its shape, dtype and type match.
    """
    if type(x) is not numpy.ndarray or x.dtype not in numpy_fused._FLOATS or x.ndim != 4:
        return None
    n, c, h, w = x.shape
    geometry = window_geometry(h, w, kernel, strides, pads)
    if geometry is None:
        return None
    kh, kw, sh, sw, top, left, oh, ow = geometry
    shape = (n, c * kh * kw, oh * ow)
    if n * c * kh * kw * oh * ow < numpy_fused.FUSE_MIN or not numpy_fused.enabled():
        return None
    compiled = numpy_fused.compile_kernel(("im2col", x.dtype), _im2col, _signatures, x.dtype)
    if compiled is None:
        return None
    if (out is None or out.shape != shape or out.dtype != x.dtype or type(out) is not numpy.ndarray
            or not out.flags.c_contiguous):
        out = numpy.empty(shape, dtype=x.dtype)
    compiled(x, kh, kw, sh, sw, top, left, x.dtype.type(value), out.reshape(n, c * kh * kw, oh, ow))
    return out


def _signatures(dtype):
    """The kernel's argument types: the images C-contiguous, or of any strides; the matrix C-contiguous."""
    numba = numpy_fused._numba
    scalar = numba.from_dtype(dtype)
    sizes = [numba.types.intp] * 6
    matrix = scalar[:, :, :, ::1]
    return [numba.types.void(images, *sizes, scalar, matrix) for images in (scalar[:, :, :, ::1], scalar[:, :, :, :])]


def _im2col(x, kh, kw, sh, sw, top, left, value, col):
    # col[s, (k, i, j), oy, ox] = x_padded[s, k, oy*sh + i, ox*sw + j]: image cell
    # (oy*sh + i - top, ox*sw + j - left), or `value` where that is in the padding.
    # For one offset (i, j) the output columns whose image column lies inside are [lo, hi).
    n, c, h, w = x.shape
    oh, ow = col.shape[2], col.shape[3]
    for s in range(n):
        for k in range(c):
            for i in range(kh):
                for j in range(kw):
                    rows = col[s, (k * kh + i) * kw + j]
                    lo = min(ow, max(0, -((j - left) // sw)))
                    hi = max(lo, min(ow, (w - 1 - j + left) // sw + 1))
                    start = lo * sw + j - left  # the image column of window column lo
                    for oy in range(oh):
                        y = oy * sh + i - top
                        row = rows[oy]
                        if not 0 <= y < h:
                            for ox in range(ow):
                                row[ox] = value
                            continue
                        image_row = x[s, k, y]
                        for ox in range(lo):
                            row[ox] = value
                        # Unsigned indices: the compiler need not check for negative ones
                        # (Python's count from the end), and copies the run in vectors.
                        for t in range(hi - lo):
                            row[numpy.uintp(lo + t)] = image_row[numpy.uintp(start + t * sw)]
                        for ox in range(hi, ow):
                            row[ox] = value
