"""im2col and col2im as one CUDA kernel each: the CuPy backend's `fused_im2col` and `fused_col2im`.

`framework.layers.im2col.im2col`'s lines pad the batch (a copy), then copy
one strided view of it per window offset into the column matrix; `col2im`
adds the columns back with one strided ``+=`` per offset. On CuPy each of
those is a kernel launch whose host work (the views, the launch) costs far
more than the copy itself, and a 5x5 window makes 25 of them. Here one
``ElementwiseKernel`` writes every entry of the matrix from its image
cell, or the padding value where the window reaches past the image; and
one sums, for every cell of the padded image, the entries of the windows
that covered it.

Same numbers. im2col only copies, so every entry is the image's own
number (or the padding value), bit for bit. col2im adds each cell's
entries in the lines' order (window offsets row by row) onto +0.0, as the
lines add them onto their zeros, in the same dtype and with the same
compiler flags as CuPy's own additions (float32 denormals flushed), and
returns the same view of its padded image. tests/test_cupy_fused_im2col.py
compares both with the lines on a GPU. Arrays that are not C-contiguous
(a channels-last convolution's transposed view) are first copied into
C-contiguous memory, one more launch.
"""

from framework.backends.cupy_kernels import elementwise
from framework.backends.window_geometry import window_geometry

# One entry of the matrix (N, C*kh*kw, OH*OW), C-ordered as (N, C, kh, kw, OH, OW); `i` is its index.
_IM2COL_BODY = """
ptrdiff_t rest = i;
const ptrdiff_t ox = rest % OW; rest /= OW;
const ptrdiff_t oy = rest % OH; rest /= OH;
const ptrdiff_t kx = rest % KW; rest /= KW;
const ptrdiff_t ky = rest % KH; rest /= KH;  // rest: the image's n * C + c
const ptrdiff_t iy = oy * SH + ky - TOP, ix = ox * SW + kx - LEFT;
col = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? x[(rest * H + iy) * W + ix] : value;
"""

# One cell of the padded image (N, C, PH, PW); `i` is its index.
_COL2IM_BODY = """
ptrdiff_t rest = i;
const ptrdiff_t px = rest % PW; rest /= PW;
const ptrdiff_t py = rest % PH; rest /= PH;  // rest: the image's n * C + c
T total = 0;
for (ptrdiff_t ky = 0; ky < KH; ++ky) {
    const ptrdiff_t ry = py - ky;  // oy * SH for the window whose cell (ky, kx) this is
    if (ry < 0 || ry % SH != 0 || ry / SH >= OH) continue;
    for (ptrdiff_t kx = 0; kx < KW; ++kx) {
        const ptrdiff_t rx = px - kx;
        if (rx < 0 || rx % SW != 0 || rx / SW >= OW) continue;
        total = total + col[((rest * KH + ky) * KW + kx) * (OH * OW) + (ry / SH) * OW + rx / SW];
    }
}
img = total;
"""

def im2col(cupy, x, kernel, strides, pads, value, out=None):
    """The column matrix (N, C*kh*kw, OH*OW) of (N, C, H, W) `x`, as the lines make it; None if not done here.

    `out`: an earlier matrix to write over, where its shape, dtype and type
    match and it is C-contiguous.
    """
    if type(x) is not cupy.ndarray or x.ndim != 4 or x.dtype.kind != "f" or x.dtype.itemsize not in (4, 8):
        return None
    n, c, h, w = x.shape
    geometry = window_geometry(h, w, kernel, strides, pads)
    if geometry is None:
        return None
    kh, kw, sh, sw, top, left, oh, ow = geometry
    shape = (n, c * kh * kw, oh * ow)
    if (out is None or out.shape != shape or out.dtype != x.dtype or type(out) is not cupy.ndarray
            or not out.flags.c_contiguous):
        out = cupy.empty(shape, dtype=x.dtype)
    if out.size == 0:
        return out
    copy = elementwise(cupy, "framework_im2col",
                       "raw T x, int64 H, int64 W, int64 KH, int64 KW, int64 SH, int64 SW, int64 TOP, int64 LEFT, "
                       "int64 OH, int64 OW, T value", "T col", _IM2COL_BODY, no_return=True)
    copy(cupy.ascontiguousarray(x).reshape(-1), h, w, kh, kw, sh, sw, top, left, oh, ow, x.dtype.type(value), out)
    return out


def col2im(cupy, col, input_shape, kernel, strides, pads):
    """dx of `input_shape` (N, C, H, W) from column gradients `col` (N, C*kh*kw, OH*OW), as the lines; None if not here.

    Like the lines, it returns the (N, C, H, W) view of a padded image.
    """
    if type(col) is not cupy.ndarray or col.ndim != 3 or col.dtype.kind != "f" or col.dtype.itemsize not in (4, 8):
        return None
    n, c, h, w = input_shape
    geometry = window_geometry(h, w, kernel, strides, pads)
    if geometry is None:
        return None
    kh, kw, sh, sw, top, left, oh, ow = geometry
    if col.shape != (n, c * kh * kw, oh * ow):
        return None
    ph, pw = h + sum(pads[0]), w + sum(pads[1])  # the padded image's size, as the lines pad it
    img = cupy.empty((n, c, ph, pw), dtype=col.dtype)
    if img.size:
        add = elementwise(cupy, "framework_col2im",
                          "raw T col, int64 PH, int64 PW, int64 KH, int64 KW, int64 SH, int64 SW, int64 OH, int64 OW",
                          "T img", _COL2IM_BODY, no_return=True)
        add(cupy.ascontiguousarray(col).reshape(-1), ph, pw, kh, kw, sh, sw, oh, ow, img)
    return img[:, :, top:top + h, left:left + w]
