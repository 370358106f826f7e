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

from framework.backends.cupy_kernels import NAN_PREAMBLE, elementwise, maximum

_FORWARD_BODY = f"T o = {maximum('x', 'zero')}; out = o; mask = o > (T)0;"

_BACKWARD_BODY = "dx = dout * (T)mask;"


def forward(cupy, x):
    """``(out, mask)`` of ReLU's lines for `x`; None if not done here."""
    if not _takes(cupy, x):
        return None
    kernel = elementwise(cupy, "framework_relu", "T x, T zero", "T out, bool mask", _FORWARD_BODY,
                         preamble=NAN_PREAMBLE)
    return kernel(x, x.dtype.type(0.0))


def backward(cupy, dout, mask):
    """``dout * mask`` as ReLU's backward computes it; None if not done here."""
    if (not _takes(cupy, dout) or type(mask) is not cupy.ndarray or mask.dtype != cupy.bool_
            or mask.shape != dout.shape or not mask.flags.c_contiguous):
        return None
    kernel = elementwise(cupy, "framework_relu_backward", "T dout, bool mask", "T dx", _BACKWARD_BODY)
    return kernel(dout, mask)


def _takes(cupy, x):
    return type(x) is cupy.ndarray and x.dtype.kind == "f" and x.dtype.itemsize in (4, 8) and x.flags.c_contiguous
