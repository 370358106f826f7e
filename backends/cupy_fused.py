"""Optimizer updates in one CUDA kernel per weight array: the CuPy backend's `fused_update`.

On a GPU an optimizer's lines cost little arithmetic but one kernel launch
each, and every launch costs the host 10-50 us of Python and driver work
while the GPU idles: Adam's lines are twelve launches per weight array, 72
per step for a three-layer MLP. Here each rule is one CuPy
``ElementwiseKernel``, one launch per weight array.

The kernels' bodies are `backends.numpy_fused`'s per-weight kernels: the
optimizer's own lines, operation by operation, in the same order and the
same dtype (scalars are cast to the arrays' dtype, as CuPy casts a Python
float for a float32 array). CuPy compiles them as it compiles its own
ufuncs (``-ftz=true``: float32 denormals flushed to zero), and
``--fmad=false`` keeps NVRTC from contracting a product and a sum into one
fused multiply-add, which rounds once where the lines, one ufunc per
operation, round twice. So the numbers are the lines' bit for bit
(tests/test_cupy_fused.py, on a GPU), but for the sign of a NaN made from
two NaNs, which neither promises. CuPy is imported by the backend, never
by ``import framework``.
"""

from framework.backends.cupy_kernels import elementwise

RULES = {
    # rule: (inputs after grad, slots after param, the body for one weight)
    "sgd": ("T lr", "", "param = param - lr * grad;"),
    "momentum": ("T lr, T momentum", ", T velocity",
                 "T v = velocity * momentum - lr * grad; velocity = v; param = param + v;"),
    "nesterov": ("T lr, T momentum", ", T velocity",
                 "T g = lr * grad; T v = velocity * momentum - g; velocity = v;"
                 " param = param + (momentum * v - g);"),
    "adam": ("T one_minus_beta_1, T one_minus_beta_2, T epsilon, T lr_t", ", T m, T v",
             "T m_i = m + (grad - m) * one_minus_beta_1;"
             " T v_i = v + (grad * grad - v) * one_minus_beta_2; m = m_i; v = v_i;"
             " param = param - m_i / (sqrt(v_i) + epsilon) * lr_t;"),
    "nadam": ("T one_minus_beta_1, T one_minus_beta_2, T m_scale, T g_scale, T v_scale, T epsilon, T lr",
              ", T m, T v",
              "T m_i = m + one_minus_beta_1 * (grad - m);"
              " T v_i = v + one_minus_beta_2 * (grad * grad - v); m = m_i; v = v_i;"
              " T m_hat = m_scale * m_i + g_scale * grad;"
              " param = param - lr * (m_hat / (sqrt(v_scale * v_i) + epsilon));"),
    "rmsprop": ("T rho, T one_minus_rho, T epsilon, T lr", ", T s",
                "T s_i = s * rho + one_minus_rho * (grad * grad); s = s_i;"
                " param = param - grad / sqrt(s_i + epsilon) * lr;"),
    "adagrad": ("T epsilon, T lr", ", T h",
                "T h_i = h + grad * grad; h = h_i; param = param - grad / sqrt(h_i + epsilon) * lr;"),
}


def update(cupy, rule, arrays, scalars):
    """Run `rule` over ``(param, grad, slots...)`` in place; False, with nothing changed, if it cannot.

    It cannot where the arrays are not CuPy arrays of one shape and one
    float dtype (float32 or float64), or `rule` is not in `RULES`.
    """
    first = arrays[0]
    dtype, shape = first.dtype, first.shape
    if rule not in RULES or dtype.kind != "f" or dtype.itemsize not in (4, 8):
        return False
    for array in arrays:
        if type(array) is not cupy.ndarray or array.dtype != dtype or array.shape != shape:
            return False
    inputs, slots, body = RULES[rule]
    kernel = elementwise(cupy, f"framework_{rule}_update", f"T grad, {inputs}", f"T param{slots}", body,
                         options=("--fmad=false",), no_return=True)
    param, grad, *slots = arrays
    cast = dtype.type
    kernel(grad, *[cast(value) for value in scalars], param, *slots)
    return True
