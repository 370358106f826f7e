"""The NumPy backend: arrays in host memory.

Memory: every step allocates the same large temporaries again (a
convolution's column matrix, the activations, the gradients). With glibc's
default settings an array over 128 KiB may be mapped fresh from the kernel
and given back when freed, and freed memory at the top of the heap is
returned once 128 KiB pile up; either way the next step's array of the same
size is built from new pages, each zero-filled on first touch. Measured on
a 2-core machine, that page-filling took a quarter of the book's
SimpleConvNet epoch. So when a loop starts (`prepare_loop`), on glibc, the
backend lets arrays up to 32 MiB come from the heap and keeps up to 64 MiB
of freed memory for reuse: what CuPy's memory pool does on the GPU, done by
the C library. ``FRAMEWORK_MALLOC=off`` leaves glibc's settings alone.
"""

import ctypes
import os
import sys

import numpy

from framework.backend import Backend
from framework.backends import (numpy_fused, numpy_fused_avg_pool, numpy_fused_bn, numpy_fused_col2im,
                                numpy_fused_im2col, numpy_fused_max_pool_windows, numpy_fused_pool,
                                numpy_fused_relu)
from framework.hookspecs import hookimpl

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
HEAP_UP_TO = 32 * 2**20  # arrays this large at most come from the heap (glibc's own ceiling for its adaptive rule)
KEEP_FREED = 64 * 2**20  # freed memory kept at the top of the heap before it goes back to the kernel

_malloc_tuned = False


class NumpyBackend(Backend):
    name = "numpy"
    xp = numpy

    def to_numpy(self, x):
        return numpy.asarray(x)

    def scatter_add(self, a, indices, values):
        numpy.add.at(a, indices, values)

    def where(self, condition, x, y):
        # NumPy's where branches on every element; on a mask such as ReLU's,
        # true for about half the units at random, the processor mispredicts
        # half of those branches: 4-5 ns an element. Picking the bits with
        # integer AND and OR has no branches and copies the same bits: ~3x
        # faster on 32k elements, ~5x on 262k (measured); below SELECT_MIN
        # elements the five array operations cost more than they save.
        dtype = _select_dtype(condition, x, y)
        if dtype is None:
            return numpy.where(condition, x, y)
        bits = numpy.dtype(f"i{dtype.itemsize}")
        keep = condition.astype(bits)  # 1 where x is taken (NumPy casts any nonzero byte to 1, as where reads it)
        numpy.negative(keep, out=keep)  # -1: all bits set
        out = numpy.bitwise_and(numpy.asarray(x, dtype).view(bits), keep)
        numpy.invert(keep, out=keep)  # all bits set where y is taken
        numpy.bitwise_and(numpy.asarray(y, dtype).view(bits), keep, out=keep)
        out |= keep
        return out.view(dtype)

    def fused_update(self, rule, arrays, scalars):
        return numpy_fused.update(rule, arrays, scalars)  # through Numba, where installed

    def fused_relu(self, x):
        return numpy_fused_relu.forward(x)  # through Numba, where installed

    def fused_relu_backward(self, dout, mask):
        return numpy_fused_relu.backward(dout, mask)

    def fused_batch_norm(self, x, axis, gamma, beta, epsilon):
        return numpy_fused_bn.forward(x, axis, gamma, beta, epsilon)  # through Numba, where installed

    def fused_batch_norm_backward(self, dout, axis, xhat, gamma, std):
        return numpy_fused_bn.backward(dout, axis, xhat, gamma, std)

    def fused_max_pool(self, x, pool_size):
        return numpy_fused_pool.forward(x, pool_size)  # 2x2 windows, through Numba where installed

    def fused_max_pool_backward(self, dout, arg_h, arg_w, pool_size, x_shape):
        return numpy_fused_pool.backward(dout, arg_h, arg_w, pool_size, x_shape)

    def fused_average_pool(self, x, pool_size):
        return numpy_fused_avg_pool.forward(x, pool_size)  # 2x2 windows, through Numba where installed

    def fused_average_pool_backward(self, dout, pool_size, x_shape):
        return numpy_fused_avg_pool.backward(dout, pool_size, x_shape)

    def fused_max_pool_windows(self, x, pool_size, strides, pads, out_size):
        return numpy_fused_max_pool_windows.forward(x, pool_size, strides, pads, out_size)  # through Numba

    def fused_max_pool_windows_backward(self, dout, arg, pool_size, strides, pads, x_shape):
        return numpy_fused_max_pool_windows.backward(dout, arg, pool_size, strides, pads, x_shape)

    def fused_im2col(self, x, kernel, strides, pads, value, out=None):
        return numpy_fused_im2col.im2col(x, kernel, strides, pads, value, out)  # through Numba, where installed

    def fused_col2im(self, col, input_shape, kernel, strides, pads):
        return numpy_fused_col2im.col2im(col, input_shape, kernel, strides, pads)

    def prepare_loop(self):
        global _malloc_tuned
        if not _malloc_tuned:
            _malloc_tuned = True  # once per process: the settings stay
            keep_freed_memory()


SELECT_MIN = 8192  # elements from which `where` picks bits instead of branching


def _select_dtype(condition, x, y):
    """The dtype of ``numpy.where(condition, x, y)`` if `NumpyBackend.where` can pick its bits, else None.

    That is: a boolean `condition` of at least `SELECT_MIN` elements and of
    the result's shape, and `x` and `y` each an array or NumPy scalar of the
    result's numeric dtype, or a Python float or int (which NumPy's where
    casts to that dtype, as ``asarray(value, dtype)`` does).
    """
    if not isinstance(condition, numpy.ndarray) or condition.dtype != bool or condition.size < SELECT_MIN:
        return None
    dtype = numpy.result_type(x, y)
    if dtype.kind not in "fiu" or not dtype.isnative:
        return None
    for value in (x, y):
        if isinstance(value, (numpy.ndarray, numpy.generic)):
            if value.dtype != dtype or value.ndim > condition.ndim or any(
                    size not in (1, full) for size, full in zip(value.shape[::-1], condition.shape[::-1])):
                return None
        elif type(value) not in (float, int):
            return None
    return dtype


def keep_freed_memory():
    """Tell glibc's malloc to reuse freed memory for the next step's arrays; True if it was told.

    Does nothing (False) off glibc, or with ``FRAMEWORK_MALLOC=off``.
    """
    if os.environ.get("FRAMEWORK_MALLOC", "").strip().lower() == "off" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt  # glibc and a few others; musl has none
        libc.gnu_get_libc_version  # noqa: B018  (glibc only: other libcs' parameters differ)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, HEAP_UP_TO)) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP_FREED))


@hookimpl
def register_backends(register):
    register(NumpyBackend, name="numpy")
