"""Optimizer updates in one compiled pass over the weights, through Numba (optional).

An optimizer's update is a handful of elementwise lines. NumPy runs each line
as a separate pass over every weight: Adam's three lines are twelve passes,
reading and writing about 12 bytes per weight each time. Compiled, the same
lines run in one pass, each weight read once and written once. Measured on
a 2-core machine, Adam's update of the benchmark MLP's 270,000 weights took
0.27 ms instead of 0.86 ms, and an Adam epoch a sixth to a quarter less time;
SGD's two passes become one (0.11 ms instead of 0.18-0.24 ms).

The kernels below compute each weight's new value with the very operations
of the optimizer's own NumPy lines, in the same order and the same precision
(float32 weights get float32 scalars, as NumPy 2 casts a Python float), and
Numba compiles them without fast-math, so nothing is reordered or fused into
one rounding: the numbers are the same bit for bit, signed zeros,
infinities and denormals included, and a NaN stays a NaN
(tests/test_fused_updates.py checks it against the NumPy lines). Two things
differ: where both operands of a sum are NaN, which NaN's sign comes out is
the compiler's choice (as it is between NumPy's own loops); and the kernels
do not warn "invalid value encountered" as NumPy does. The optimizers keep
their NumPy lines as the reference and run them wherever a kernel does not
apply.

Numba is optional (``pip install 'dlfs-framework[fast]'``). Without it, with
``FRAMEWORK_NUMBA=off``, for arrays of fewer than `FUSE_MIN` weights, for
arrays that are not contiguous NumPy arrays of one float dtype, or where
Numba fails to load or compile, `update` returns False and the optimizer
runs its NumPy lines. Numba is imported when the first update asks for it,
never by ``import framework``; each kernel compiles once per dtype (about a
second, cached on disk for the next process).
"""

import math
import os

import numpy

# Below this many weights in one array, the plain lines cost no more than a
# call into compiled code (8 us), and a small model never pays Numba's import
# (0.4-0.5 s) and first call (0.4 s, loading the cached kernels).
FUSE_MIN = 16384

_numba = None  # the module once imported; False where it cannot be
_compiled = {}  # key -> compiled kernel, None where compiling failed: (rule, dtype) here, numpy_fused_bn's too


def enabled():
    """Whether `update` may use Numba: it is installed and ``FRAMEWORK_NUMBA`` is not ``off``."""
    if os.environ.get("FRAMEWORK_NUMBA", "").strip().lower() == "off":
        return False
    return bool(_import_numba())


def update(rule, arrays, scalars):
    """Run `rule` over `arrays` (updated in place) with `scalars`; False if it cannot, and then nothing changed.

    `arrays` are ``(param, grad, slots...)`` of one shape, as `KERNELS` lists
    them; `scalars` Python floats, cast here to the arrays' dtype.
    """
    # This runs for every large weight array at every step, and the kernel
    # may take only 20 us: the checks are kept cheap (4 us a call with the
    # kernel's own call, measured; 9 us when they read dtype.name each time).
    first = arrays[0]
    if first.size < FUSE_MIN:
        return False
    dtype = first.dtype
    if dtype not in _FLOATS or not enabled():
        return False
    shape = first.shape
    for array in arrays:
        if type(array) is not numpy.ndarray or array.dtype != dtype or array.shape != shape:
            return False
        flags = array.flags
        if not (flags.c_contiguous and flags.writeable):
            return False
    kernel = compile_kernel((rule, dtype), KERNELS[rule], _signature, dtype, len(arrays), len(scalars))
    if kernel is None:
        return False
    cast = dtype.type
    kernel(*[array.ravel() for array in arrays], *[cast(value) for value in scalars])
    return True


_FLOATS = frozenset({numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)})
_MISSING = object()  # not in `_compiled` yet


def _import_numba():
    global _numba
    if _numba is None:
        try:
            import numba
        except Exception:  # noqa: BLE001  not installed; or LLVM cannot load (a memory limit): the NumPy lines run
            numba = False
        _numba = numba
    return _numba


def _signature(dtype, n_arrays, n_scalars):
    """A rule's argument types: `n_arrays` contiguous arrays of `dtype`, then `n_scalars` scalars of it."""
    scalar = _numba.from_dtype(dtype)
    return _numba.types.void(*[scalar[::1]] * n_arrays, *[scalar] * n_scalars)


def compile_kernel(key, function, signature=None, *arguments):
    """`function` compiled by Numba once per `key` (cached on disk); None where that fails, then asked no more.

    `signature(*arguments)` gives the argument types, made only when
    compiling (Numba types cost 30 us to build); without it Numba compiles
    for the types of each call, as for a helper the kernels call. Call it
    only once `enabled()` is true.
    """
    kernel = _compiled.get(key, _MISSING)
    if kernel is _MISSING:
        # error_model="numpy": a division by zero gives inf or NaN, as in
        # NumPy, instead of a check that also keeps the loop from being vectorised.
        options = {"nogil": True, "error_model": "numpy"}
        kernel = _compiled[key] = None
        for cache in (True, False):  # no writable cache folder: compile in every process
            try:
                types = (signature(*arguments),) if signature else ()
                kernel = _compiled[key] = _numba.njit(*types, cache=cache, **options)(function)
                break
            except Exception:  # noqa: BLE001, S112  (no memory for LLVM, ...): the NumPy lines run instead
                continue
    return kernel


# Each kernel is the optimizer's NumPy lines written for one weight i; the
# comments give those lines. Every temporary that NumPy rounds to the dtype is
# rounded here too, because each operation's operands are of that dtype.

def _sgd(param, grad, lr):
    # param -= lr * grad
    for i in range(param.size):
        param[i] = param[i] - lr * grad[i]


def _momentum(param, grad, velocity, lr, momentum):
    # velocity *= momentum; velocity -= lr * grad; param += velocity
    for i in range(param.size):
        v = velocity[i] * momentum - lr * grad[i]
        velocity[i] = v
        param[i] = param[i] + v


def _nesterov(param, grad, velocity, lr, momentum):
    # velocity as in _momentum; param += momentum * velocity - lr * grad
    for i in range(param.size):
        g = lr * grad[i]
        v = velocity[i] * momentum - g
        velocity[i] = v
        param[i] = param[i] + (momentum * v - g)


def _adam(param, grad, m, v, one_minus_beta_1, one_minus_beta_2, epsilon, lr_t):
    # step = grad - m; step *= 1 - b1; m += step
    # step = grad * grad; step -= v; step *= 1 - b2; v += step
    # step = sqrt(v); step += epsilon; step = m / step; step *= lr_t; param -= step
    for i in range(param.size):
        g = grad[i]
        m_i = m[i] + (g - m[i]) * one_minus_beta_1
        v_i = v[i] + (g * g - v[i]) * one_minus_beta_2
        m[i] = m_i
        v[i] = v_i
        param[i] = param[i] - m_i / (math.sqrt(v_i) + epsilon) * lr_t


def _nadam(param, grad, m, v, one_minus_beta_1, one_minus_beta_2, m_scale, g_scale, v_scale, epsilon, lr):
    # m += (1 - b1) * (grad - m); v += (1 - b2) * (grad * grad - v)
    # m_hat = m_scale * m; m_hat += g_scale * grad
    # denominator = sqrt(v_scale * v) + epsilon; param -= lr * (m_hat / denominator)
    for i in range(param.size):
        g = grad[i]
        m_i = m[i] + one_minus_beta_1 * (g - m[i])
        v_i = v[i] + one_minus_beta_2 * (g * g - v[i])
        m[i] = m_i
        v[i] = v_i
        m_hat = m_scale * m_i + g_scale * g
        param[i] = param[i] - lr * (m_hat / (math.sqrt(v_scale * v_i) + epsilon))


def _rmsprop(param, grad, s, rho, one_minus_rho, epsilon, lr):
    # s *= rho; s += (1 - rho) * (grad * grad)
    # step = s + epsilon; step = sqrt(step); step = grad / step; step *= lr; param -= step
    for i in range(param.size):
        g = grad[i]
        s_i = s[i] * rho + one_minus_rho * (g * g)
        s[i] = s_i
        param[i] = param[i] - g / math.sqrt(s_i + epsilon) * lr


def _adagrad(param, grad, h, epsilon, lr):
    # h += grad * grad; step = h + epsilon; step = sqrt(step); step = grad / step; step *= lr; param -= step
    for i in range(param.size):
        g = grad[i]
        h_i = h[i] + g * g
        h[i] = h_i
        param[i] = param[i] - g / math.sqrt(h_i + epsilon) * lr


KERNELS = {"sgd": _sgd, "momentum": _momentum, "nesterov": _nesterov, "adam": _adam, "nadam": _nadam,
           "rmsprop": _rmsprop, "adagrad": _adagrad}
