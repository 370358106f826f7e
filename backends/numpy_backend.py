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

    def prepare_loop(self):
        global _malloc_tuned
        if not _malloc_tuned:
            _malloc_tuned = True  # once per process: the settings stay
            keep_freed_memory()


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
