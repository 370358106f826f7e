"""BatchNormalization's training forward and backward with CuPy's own sums and fewer launches:
the CuPy backend's `fused_batch_norm` and `fused_batch_norm_backward`.

On a GPU a small model's step is bound by the host's work per launch, and
the layer's lines (framework/layers/batch_normalization.py) are nine
launches forward and thirteen backward, besides the moving averages. The
sums stay CuPy's: this module calls the layer's own `_sum` on the same
C-ordered arrays, so every sum adds what the lines add, in their order.
What lies between the sums becomes one ``ElementwiseKernel`` per stretch:
forward, ``x - mean`` with its square, then ``var`` with ``sqrt(var +
epsilon)``, then ``xhat`` with ``xhat * gamma + beta``; backward,
``dout * xhat``, ``dout * gamma`` and that times ``xhat`` in one pass, then
dx. Six launches forward and six backward.

Same numbers: each kernel does the lines' operations in their order and
dtype (the counts and epsilon cast to the dtype, as CuPy casts a Python
number for a float array), compiled with ``--fmad=false`` so no product
and sum are fused into one rounding. tests/test_cupy_fused_layers.py
compares every output with the lines bit for bit, on a GPU, for rows and
for (N, C, H, W) maps, special values included; a NaN need only stay a
NaN. Features on an axis other than 1 or the last, a layer without gamma
or beta, and arrays that are not CuPy arrays of one float dtype go to the
lines.
"""

import math

from framework.backends.cupy_kernels import elementwise

_CENTRE = "xc = x - mean; sq = xc * xc;"
_SPREAD = "var = total / count; sd = sqrt(var + epsilon);"
_SCALE = "T h = xc / sd; xhat = h; T o = h * gamma; out = o + beta;"
_PRODUCTS = "p = dout * xhat; T d = dout * gamma; dxhat = d; q = d * xhat;"
_DX = ("T m1 = s1 / count; T m2 = s2 / count; T a = dxhat - m1; T b = xhat * m2; T c = a - b;"
       " dx = c / sd;")

_KERNELS = {
    # name: (inputs, outputs, body)
    "centre": ("T x, T mean", "T xc, T sq", _CENTRE),
    "spread": ("T total, T count, T epsilon", "T var, T sd", _SPREAD),  # sd: the standard deviation
    "scale": ("T xc, T sd, T gamma, T beta", "T xhat, T out", _SCALE),
    "products": ("T dout, T xhat, T gamma", "T p, T dxhat, T q", _PRODUCTS),
    "dx": ("T dxhat, T xhat, T s1, T s2, T count, T sd", "T dx", _DX),
}


def forward(cupy, x, axis, gamma, beta, epsilon):
    """``(out, xhat, std, mean, var)`` of the layer's training forward; None if not done here.

    `out` and `xhat` have the shape of `x`, C-ordered as the lines make
    them; `std`, `mean` and `var` are (C,).
    """
    shape, axes = _geometry(cupy, x, axis, gamma, beta)
    if shape is None:
        return None
    sum_ = _layer_sum()
    x = cupy.ascontiguousarray(x)  # as the lines: their sums add in the order of a C-ordered array
    count = x.dtype.type(math.prod(x.shape[a] for a in axes))
    mean = sum_(x, axes) / count
    xc, sq = _kernel(cupy, "centre")(x, mean)
    var, std = _kernel(cupy, "spread")(sum_(sq, axes), count, x.dtype.type(epsilon))
    xhat, out = _kernel(cupy, "scale")(xc, std, gamma.reshape(shape), beta.reshape(shape))
    return out, xhat, std.reshape(-1), mean.reshape(-1), var.reshape(-1)


def backward(cupy, dout, axis, xhat, gamma, std):
    """``(dx, dgamma, dbeta)`` of the layer's training backward; None if not done here."""
    shape, axes = _geometry(cupy, dout, axis, gamma, None)
    if (shape is None or type(xhat) is not cupy.ndarray or xhat.shape != dout.shape or xhat.dtype != dout.dtype
            or type(std) is not cupy.ndarray or std.dtype != dout.dtype or std.size != shape[axis]):
        return None
    sum_ = _layer_sum()
    dout, xhat = cupy.ascontiguousarray(dout), cupy.ascontiguousarray(xhat)  # as the lines
    count = dout.dtype.type(math.prod(dout.shape[a] for a in axes))
    dbeta = sum_(dout, axes).reshape(-1)
    p, dxhat, q = _kernel(cupy, "products")(dout, xhat, gamma.reshape(shape))
    dgamma = sum_(p, axes).reshape(-1)
    dx = _kernel(cupy, "dx")(dxhat, xhat, sum_(dxhat, axes), sum_(q, axes), count, std.reshape(shape))
    return dx, dgamma, dbeta


def _geometry(cupy, x, axis, gamma, beta):
    """(the shape that puts a (C,) vector on `axis`, the axes summed over), or (None, None) if not done here."""
    if (type(x) is not cupy.ndarray or x.dtype.kind != "f" or x.dtype.itemsize not in (4, 8) or x.ndim < 2
            or axis not in (1, x.ndim - 1)):
        return None, None
    for vector in (gamma, beta) if beta is not None else (gamma,):
        if type(vector) is not cupy.ndarray or vector.dtype != x.dtype or vector.shape != (x.shape[axis],):
            return None, None
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return tuple(shape), tuple(a for a in range(x.ndim) if a != axis)


def _layer_sum():
    # The layer's own sums, so both paths add the same numbers in the same order
    # (imported here: the layers import the backend, not the other way round).
    from framework.layers.batch_normalization import _sum

    return _sum


def _kernel(cupy, name):
    return elementwise(cupy, f"framework_batch_norm_{name}", *_KERNELS[name], options=("--fmad=false",))
