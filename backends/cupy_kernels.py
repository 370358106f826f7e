"""What the CuPy backend's kernel modules share: each ``ElementwiseKernel`` made once, and CuPy's maximum.

CuPy compiles a kernel once per dtype and keeps the binary on disk; the
kernel object is made here on first use, by its name, and reused.
"""

# CuPy's own maximum for floats, as its ufunc defines it: a NaN in gives
# CuPy's NaN out, else max(a, b). Kernels that must pick as the lines'
# `maximum` picks use this expression, with this preamble.
NAN_PREAMBLE = "#ifndef NAN\n#define NAN __int_as_float(0x7fffffff)\n#endif\n"

_made = {}  # name -> its ElementwiseKernel


def maximum(a, b):
    """CuPy's ``maximum(a, b)`` for floats of type T, as a CUDA expression (needs `NAN_PREAMBLE`)."""
    return f"(isnan({a}) | isnan({b})) ? T(NAN) : T(max({a}, {b}))"


def elementwise(cupy, name, in_params, out_params, body, **options):
    """The ``cupy.ElementwiseKernel`` called `name`, made with these arguments on first use."""
    kernel = _made.get(name)
    if kernel is None:
        kernel = _made[name] = cupy.ElementwiseKernel(in_params, out_params, body, name=name, **options)
    return kernel
