"""MaxPooling2D's general windows (overlapping, padded, any size), forward and backward in one compiled pass each.

Where windows do not tile the image (3x3 with stride 2, "same" padding,
stride 1, ...), the layer's lines (framework/layers/pooling.py) copy every
window into a column matrix with `im2col` (-inf in the padding), take
`argmax` and `max` over it, and send the gradient back through a column
matrix of the same size and `col2im`. These kernels visit each window's
cells in place, and the backward adds each window's gradient to its
winning cell only. Measured on a 2-core machine, 3x3 windows with stride 2
on (64, 32, 24, 24) float32 maps: forward 3.3 ms instead of 12.1, backward
1.8 instead of 7.7 (PyTorch: 5.5 and 1.0); with stride 1 and "same"
padding, 4.7 instead of 54.4 and 6.6 instead of 31.4 (docs/speed.md).

Same numbers:

- The maximum is the lines' ``col.max(axis=2)``: NumPy's `maximum`
  applied cell after cell in window order, ``a if a > b or a is NaN else
  b`` (checked once per process, see `numpy_picks_so`).
- The winner is `argmax`'s: the first cell strictly greater than all
  before it, or the first NaN; padded cells are -inf, so they win only a
  window whose real cells are all -inf (and then the gradient goes to the
  padding and is dropped, as `col2im` drops it).
- Backward: `col2im` adds, for each cell, the windows' terms in window
  offset order, which is the windows' reverse row-major order; so does the
  kernel, starting from +0.0. A window's other cells get ``0 * dout``: a
  no-op where dout is finite (the running sum, from +0.0, is never -0.0),
  NaN where dout is an infinity or NaN, which the kernel adds too.

`tests/test_fused_max_pool_windows.py` compares outputs, winners and
gradients with the lines bit for bit (a NaN need only stay a NaN). The
layer runs its lines for one window an image (where NumPy reduces the
window in vector registers), for fewer than `numpy_fused.FUSE_MIN` numbers,
for arrays that are not NumPy arrays of one float dtype, and wherever the
optimizer kernels would not run (no Numba, ``FRAMEWORK_NUMBA=off``, a
failed compile).
"""

import math

import numpy

from framework.backends import numpy_fused
from framework.backends.numpy_fused_pool import numpy_picks_so
from framework.backends.numpy_pool_tiles import ORDERS, layout_of, permuted, takes_image


def forward(x, pool_size, strides, pads, out_size):
    """``(out, arg)`` of the layer's general forward on (N, C, H, W) `x`; None if not done here.

    `out` is (N, C, OH, OW), laid out in memory as `x`; `arg` (N, C, OH * OW)
    holds each window's winning cell, ``i * pw + j``, as the lines' `argmax`.
    """
    if not _takes(x, x.size, out_size) or not numpy_reduces_so(x.dtype):
        return None
    kernel = _kernel("max_pool_windows", _forward_for, pool_size, strides, x.dtype)
    if kernel is None:
        return None
    n, c = x.shape[:2]
    out = _like(x, (n, c, *out_size))
    arg = numpy.empty((n, c, *out_size), dtype=numpy.intp)
    kernel(_padded(x, pads), out, arg)
    return out, arg.reshape(n, c, -1)


def backward(dout, arg, pool_size, strides, pads, x_shape):
    """dx (`x_shape`) of the layer's general backward from `dout` and forward's `arg`; None if not done here.

    dx is laid out in memory as `dout` (channels first or channels last).
    """
    if not _takes(dout, math.prod(x_shape), dout.shape[2:]) or not numpy_reduces_so(dout.dtype):
        return None
    windows = (*dout.shape[:2], math.prod(dout.shape[2:]))
    if type(arg) is not numpy.ndarray or arg.dtype != numpy.intp or arg.shape != windows:
        return None
    kernel = _kernel("max_pool_windows_backward", _backward_for, pool_size, strides, dout.dtype)
    if kernel is None:
        return None
    n, c, h, w = x_shape
    (top, bottom), (left, right) = pads
    dx = _like(dout, (n, c, h + top + bottom, w + left + right), zeros=True)
    kernel(dout, numpy.ascontiguousarray(arg).reshape(dout.shape), dx)
    return dx[:, :, top:top + h, left:left + w]  # the padding's gradient is dropped, as col2im drops it


def _takes(array, image_size, out_size):
    """Whether the kernels take `array` (`numpy_pool_tiles.takes_image`) for more than one window an image."""
    return math.prod(out_size) >= 2 and takes_image(array, image_size)  # one window: NumPy reduces it in vectors


def _like(array, shape, zeros=False):
    """A new (N, C, H, W) array of `shape`, channels last in memory where `array` is (else C-ordered)."""
    order, back = ORDERS["_channels_last" if layout_of(array) == "_channels_last" else ""]
    return (numpy.zeros if zeros else numpy.empty)(permuted(shape, order), dtype=array.dtype).transpose(back)


def _padded(x, pads):
    """`x` with `pads` cells of -inf around each image (the lines' `im2col` padding), laid out as `x`."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    n, c, h, w = x.shape
    image = _like(x, (n, c, h + top + bottom, w + left + right))
    image.fill(-numpy.inf)
    image[:, :, top:top + h, left:left + w] = x
    return image


def numpy_reduces_so(dtype):
    """Whether the lines' ``max`` and ``argmax`` over a window axis pick as the kernel does (once per process).

    `numpy_picks_so` covers `maximum` itself; this runs the forward kernel on
    windows of 3 cells holding ties of signed zeros, NaNs and infinities,
    and the lines' reductions over the same windows laid out as the layer
    lays its columns, (1, 1, K, P), and compares them bit for bit.
    """
    agrees = _reduces.get(dtype)
    if agrees is None:
        agrees = _reduces[dtype] = numpy_picks_so() and _reduces_so(dtype)
    return agrees


_reduces = {}


def _reduces_so(dtype):
    kernel = _kernel("max_pool_windows", _forward_for, (1, 3), (1, 3), dtype)
    if kernel is None:
        return False
    nan, inf = numpy.nan, numpy.inf
    windows = numpy.array([[0.0, -0.0, -0.0], [-0.0, 0.0, 0.0], [1.0, nan, 2.0], [nan, 1.0, nan], [-inf, -inf, -inf],
                           [2.0, 2.0, 1.0], [-1.0, inf, inf], [3.0, -0.0, 3.0], [-inf, nan, -inf]] * 5, dtype=dtype)
    count = len(windows)
    columns = numpy.ascontiguousarray(windows.T).reshape(1, 1, 3, count)
    out, arg = numpy.empty((1, 1, 1, count), dtype=dtype), numpy.empty((1, 1, 1, count), dtype=numpy.intp)
    kernel(windows.reshape(1, 1, 1, -1), out, arg)
    expected = columns.max(axis=2).reshape(out.shape)
    bits = f"u{dtype.itemsize}"
    same = (out.view(bits) == expected.view(bits)) | (out != out) & (expected != expected)  # NaN as NaN
    return bool(same.all()) and numpy.array_equal(arg.reshape(-1), columns.argmax(axis=2).reshape(-1))


def _kernel(name, make, pool_size, strides, dtype):
    """The kernel for this window geometry, compiled on first use: the sizes are constants in it,
    which lets the compiler unroll the windows' loops (2.3 times as fast as sizes passed at run time)."""
    key = (name, tuple(pool_size), tuple(strides), dtype)
    return numpy_fused.compile_kernel(key, make(*pool_size, *strides), _signatures, name, dtype)


def _signatures(name, dtype):
    """The kernels' argument types: images (4-d) C-contiguous, or any strides (channels last); winners C-contiguous."""
    numba = numpy_fused._numba
    scalar = numba.from_dtype(dtype)
    winners = numba.types.intp[:, :, :, ::1]
    kinds = [(scalar[:, :, :, ::1], scalar[:, :, :, ::1]), (scalar[:, :, :, :], scalar[:, :, :, :])]
    if name == "max_pool_windows":  # (x, out, arg)
        return [numba.types.void(image, result, winners) for image, result in kinds]
    return [numba.types.void(grads, winners, result) for grads, result in kinds]  # (dout, arg, dx)


# The kernels: the layer's lines, written for one window, made for one geometry
# (pool ph x pw, strides sh, sw) over images already padded with -inf.

def _forward_for(ph, pw, sh, sw):
    def forward(x, out, arg):
        # col = im2col(x, value=-inf); out = col.max(axis=2); arg = col.argmax(axis=2)
        n, c = x.shape[:2]
        oh, ow = out.shape[2], out.shape[3]
        for a in range(n):
            for b in range(c):
                image, maxima, winners = x[a, b], out[a, b], arg[a, b]
                for oy in range(oh):
                    for ox in range(ow):
                        # maximum(largest, value), cell after cell: the first if greater or NaN, else the second
                        largest = image[oy * sh, ox * sw]
                        for i in range(ph):
                            for j in range(pw):
                                value = image[oy * sh + i, ox * sw + j]
                                largest = largest if (largest > value) | (largest != largest) else value
                        # argmax: the first cell equal to the maximum, or the first NaN if there is
                        # one (a second pass from the last cell: a running argmax took twice as long)
                        at = 0
                        nan = largest != largest
                        for i in range(ph - 1, -1, -1):
                            for j in range(pw - 1, -1, -1):
                                value = image[oy * sh + i, ox * sw + j]
                                at = i * pw + j if (value == largest) | ((value != value) & nan) else at
                        maxima[oy, ox] = largest
                        winners[oy, ox] = at

    return forward


def _backward_for(ph, pw, sh, sw):
    def backward(dout, arg, dx):
        # dcol = (arange(k) == arg) * dout; dx = col2im(dcol): each cell's terms in window
        # offset order, which is the windows' reverse row-major order
        n, c, oh, ow = dout.shape
        for a in range(n):
            for b in range(c):
                grads, winners, image = dout[a, b], arg[a, b], dx[a, b]
                for oy in range(oh - 1, -1, -1):
                    for ox in range(ow - 1, -1, -1):
                        d = grads[oy, ox]
                        at = winners[oy, ox]
                        if d - d == 0:  # finite: only the winner gets a term that is not a no-op
                            image[oy * sh + at // pw, ox * sw + at % pw] += d
                            continue
                        nan = d - d  # what the others get, 0 * d: NaN for an infinite or NaN d
                        for i in range(ph):
                            for j in range(pw):
                                image[oy * sh + i, ox * sw + j] += d if i * pw + j == at else nan

    return backward
