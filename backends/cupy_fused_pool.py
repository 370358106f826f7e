"""MaxPooling2D's 2x2 windows that tile the image, forward and backward, one CUDA kernel each:
the CuPy backend's `fused_max_pool` and `fused_max_pool_backward`.

Where 2x2 windows tile the image (stride 2, no padding: Keras's default and
the book's SimpleConvNet), the layer's lines (framework/layers/pooling.py)
take each window's maximum one axis at a time over strided views: a
comparison and a ``maximum`` per axis, four launches; the backward spreads
the gradient back with a product, a difference and two strided writes per
axis, eight launches and two fresh arrays. On a GPU a small model's step
is bound by the host's work per launch. Here each direction is one
``ElementwiseKernel`` launch, one thread per window.

Same numbers. The forward does the lines' steps for each window: along
each of its two rows ``wins = b > a`` (the mask `arg_w`) and CuPy's own
``maximum(a, b)`` for floats, its expression copied (a NaN gives CuPy's
NaN; else ``max(a, b)``); then the same down the two row maxima (`arg_h`).
The backward multiplies by the mask as 1 or 0 of the dtype and subtracts,
as the layer's `_spread` does: the second cell of a pair gets ``d * wins``
and the first ``d - d * wins``, compiled with ``--fmad=false`` so the
product and difference are not fused into one rounding; the rows and
columns no window covers ("valid" drops them) get +0.0, as the lines'
zeros. tests/test_cupy_fused_layers.py compares outputs, masks and
gradients with the lines, bit for bit, on a GPU. Images that are not
C-contiguous (a channels-last image seen channels first) are left to the
lines.
"""

from framework.backends.cupy_kernels import NAN_PREAMBLE, elementwise, maximum

_PICK = maximum("a", "b")

_FORWARD_BODY = f"""
long long nc = i / (OH * OW), cell = i % (OH * OW), oy = cell / OW, ox = cell % OW;
T row_max[2];
for (int r = 0; r < 2; ++r) {{
    long long at = (nc * H + 2 * oy + r) * W + 2 * ox;
    T a = x[at], b = x[at + 1];
    arg_w[(nc * 2 * OH + 2 * oy + r) * OW + ox] = b > a;
    row_max[r] = {_PICK};
}}
T a = row_max[0], b = row_max[1];
arg_h = b > a;
out = {_PICK};
"""

_BACKWARD_BODY = """
long long nc = i / (OH * OW), cell = i % (OH * OW), oy = cell / OW, ox = cell % OW;
T second = dout * (T)arg_h;
T rows[2] = {dout - second, second};
for (int r = 0; r < 2; ++r) {
    T d = rows[r];
    T right = d * (T)arg_w[(nc * 2 * OH + 2 * oy + r) * OW + ox];
    long long at = (nc * H + 2 * oy + r) * W + 2 * ox;
    dx[at] = d - right;
    dx[at + 1] = right;
}
"""

def forward(cupy, x, pool_size):
    """``(out, arg_h, arg_w)`` of the layer's 2x2 tiled lines on (N, C, H, W) `x`; None if not done here.

    `out` and `arg_h` (N, C, H // 2, W // 2), `arg_w` (N, C, 2 * (H // 2), W // 2),
    the masks "the second row (column) of the window wins", all C-contiguous.
    """
    if not _takes(cupy, x, pool_size):
        return None
    n, c, h, w = x.shape
    oh, ow = h // 2, w // 2
    out = cupy.empty((n, c, oh, ow), dtype=x.dtype)
    arg_h = cupy.empty(out.shape, dtype=cupy.bool_)
    arg_w = cupy.empty((n, c, 2 * oh, ow), dtype=cupy.bool_)
    if out.size:
        kernel = elementwise(cupy, "framework_max_pool_2x2", "raw T x, int64 H, int64 W, int64 OH, int64 OW",
                             "T out, bool arg_h, raw bool arg_w", _FORWARD_BODY, preamble=NAN_PREAMBLE, no_return=True)
        kernel(x, h, w, oh, ow, out, arg_h, arg_w)
    return out, arg_h, arg_w


def backward(cupy, dout, arg_h, arg_w, pool_size, x_shape):
    """dx (`x_shape`, C-contiguous) of the layer's 2x2 tiled lines from `dout` and forward's masks; None if not here."""
    if (type(dout) is not cupy.ndarray or dout.dtype.kind != "f" or dout.dtype.itemsize not in (4, 8)
            or tuple(pool_size) != (2, 2) or len(x_shape) != 4 or dout.ndim != 4):
        return None
    n, c, h, w = x_shape
    oh, ow = h // 2, w // 2
    if dout.shape != (n, c, oh, ow) or arg_h.shape != dout.shape or arg_w.shape != (n, c, 2 * oh, ow):
        return None
    for mask in (arg_h, arg_w):
        if type(mask) is not cupy.ndarray or mask.dtype != cupy.bool_ or not mask.flags.c_contiguous:
            return None
    covered = h % 2 == 0 and w % 2 == 0
    dx = (cupy.empty if covered else cupy.zeros)(tuple(x_shape), dtype=dout.dtype)  # +0.0 where no window reaches
    if dout.size:
        kernel = elementwise(cupy, "framework_max_pool_2x2_backward",
                             "T dout, bool arg_h, raw bool arg_w, int64 H, int64 W, int64 OH, int64 OW", "raw T dx",
                             _BACKWARD_BODY, options=("--fmad=false",), no_return=True)
        kernel(dout, arg_h, arg_w, h, w, oh, ow, dx)
    return dx


def _takes(cupy, x, pool_size):
    return (type(x) is cupy.ndarray and x.ndim == 4 and x.dtype.kind == "f" and x.dtype.itemsize in (4, 8)
            and tuple(pool_size) == (2, 2) and x.flags.c_contiguous)
