"""ReLU's forward (output and mask) in one CUDA kernel, and its backward: the CuPy backend's
`fused_relu` and `fused_relu_backward`.

ReLU's lines (framework/layers/relu.py) are two launches forward,
``maximum(x, 0)`` then ``out > 0``, and one backward, ``dout * mask``. On a
GPU a small model's step is bound by the host's work per launch, and the
lines also spend host time on their zeros shaped like a sample. Here the
forward is one ``ElementwiseKernel`` that writes the output and the mask;
the backward, one launch either way, is the same product as a kernel.

Same numbers: the output is CuPy's own ``maximum`` for floats, its
expression copied (a NaN in gives CuPy's NaN out, other values
``max(x, zero)`` with the zero passed in as the lines pass theirs); the mask
is ``out > 0``, and the backward ``dout * mask`` with the mask as 1 or 0 of
the dtype, as CuPy's multiply casts a boolean. tests/test_cupy_fused_layers.py
compares them with the lines, bit for bit, on a GPU: signed zeros,
infinities, denormals, NaNs. Arrays that are not C-contiguous are left to
the lines, which lay their results out as CuPy's ufuncs do.
"""

_NAN = "#ifndef NAN\n#define NAN __int_as_float(0x7fffffff)\n#endif\n"  # as CuPy's maximum defines it

_FORWARD_BODY = "T o = (isnan(x) | isnan(zero)) ? T(NAN) : T(max(x, zero)); out = o; mask = o > (T)0;"

_BACKWARD_BODY = "dx = dout * (T)mask;"

_kernels = {}  # name -> its ElementwiseKernel (CuPy compiles it once per dtype, cached on disk)


def forward(cupy, x):
    """``(out, mask)`` of ReLU's lines for `x`; None if not done here."""
    if not _takes(cupy, x):
        return None
    kernel = _kernels.get("forward")
    if kernel is None:
        kernel = _kernels["forward"] = cupy.ElementwiseKernel(
            "T x, T zero", "T out, bool mask", _FORWARD_BODY, name="framework_relu", preamble=_NAN)
    return kernel(x, x.dtype.type(0.0))


def backward(cupy, dout, mask):
    """``dout * mask`` as ReLU's backward computes it; None if not done here."""
    if (not _takes(cupy, dout) or type(mask) is not cupy.ndarray or mask.dtype != cupy.bool_
            or mask.shape != dout.shape or not mask.flags.c_contiguous):
        return None
    kernel = _kernels.get("backward")
    if kernel is None:
        kernel = _kernels["backward"] = cupy.ElementwiseKernel(
            "T dout, bool mask", "T dx", _BACKWARD_BODY, name="framework_relu_backward")
    return kernel(dout, mask)


def _takes(cupy, x):
    return type(x) is cupy.ndarray and x.dtype.kind == "f" and x.dtype.itemsize in (4, 8) and x.flags.c_contiguous
