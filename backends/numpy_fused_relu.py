"""ReLU's forward (output and mask) and backward, each in one compiled pass (Numba, optional).

ReLU's lines (framework/layers/relu.py) take ``maximum(x, 0)``, then the
mask ``out > 0``: two passes, and NumPy's maximum runs its loop once per
row of the zeros it broadcasts. The backward multiplies a float by a
boolean array, which NumPy casts to floats chunk by chunk first. These
kernels make each number in one visit. Measured on a 2-core machine,
float32, alternating with the lines in one process (forward + backward):

    activations          the lines       the kernels     through the layer
    (1024, 256)          72 + 60 us      28 + 28 us      161 -> 85 us
    (512, 256)                                           74 -> 41 us
    (100, 30, 24, 24)    378 + 476 us    203 + 223 us    1.99 -> 1.08 ms
    (64, 32, 32, 32)     636 + 696 us    355 + 335 us

Same numbers: the output is NumPy's ``maximum(x, 0)``, which keeps `x`
where it is greater than +0.0 or a NaN (its payload too) and is +0.0
elsewhere, -0.0 included; `numpy_fused_pool.numpy_picks_so` checks once
per process that NumPy's maximum picks so. The mask is ``out > 0`` and
the backward ``dout * mask``, with the mask as 1 or 0 of the dtype: an
infinite or NaN `dout` where the mask is off gives NaN, as in the lines.
Numba compiles without fast-math. `tests/test_fused_relu.py` compares
the kernels with the layer's lines bit for bit.

The arrays are taken in the order their numbers lie in memory, so a
channels-last view of channels-first maps (a channels-last convolution's
output) is read as it lies, and the output and mask come back laid out
as `x`, as the lines lay them out. The layer runs its lines for arrays of
fewer than `RELU_MIN` numbers (there the calls cost what they save: 128
samples of 256 units took 19 us either way), for arrays that are not
one block of memory, for a gradient laid out otherwise than the mask,
and wherever the optimizer kernels would not run.
"""

import numpy

from framework.backends import numpy_fused
from framework.backends.numpy_fused_pool import numpy_picks_so


def forward(x):
    """``(out, mask)`` of ReLU's lines for `x`, both laid out as `x`; None if not done here."""
    if not _takes(x):  # first: the cheap checks decline most small arrays
        return None
    order = _memory_order(x)
    if order is None:
        return None
    kernel = _kernel("relu", _forward, x.dtype)
    if kernel is None:
        return None
    lying = x.transpose(order) if order else x  # C-contiguous: the numbers in memory order
    out = numpy.empty(lying.shape, dtype=x.dtype)
    mask = numpy.empty(lying.shape, dtype=numpy.bool_)
    kernel(lying.reshape(-1), out.reshape(-1), mask.reshape(-1), x.dtype.type(0.0))
    if order:
        back = _inverse(order)
        return out.transpose(back), mask.transpose(back)
    return out, mask


def backward(dout, mask):
    """``dout * mask`` as ReLU's backward computes it, laid out as both; None if not done here."""
    if not _takes(dout) or type(mask) is not numpy.ndarray or mask.dtype != numpy.bool_ or mask.shape != dout.shape:
        return None
    order = _memory_order(dout)
    if order is None or _memory_order(mask) != order:
        return None
    kernel = _kernel("relu_backward", _backward, dout.dtype)
    if kernel is None:
        return None
    lying, mask_lying = (dout.transpose(order), mask.transpose(order)) if order else (dout, mask)
    dx = numpy.empty(lying.shape, dtype=dout.dtype)
    kernel(lying.reshape(-1), mask_lying.reshape(-1), dx.reshape(-1), dout.dtype.type(0.0), dout.dtype.type(1.0))
    return dx.transpose(_inverse(order)) if order else dx


def _takes(x):
    return (type(x) is numpy.ndarray and x.size >= RELU_MIN and x.dtype in numpy_fused._FLOATS
            and numpy_fused.enabled() and numpy_picks_so())


# Below this many numbers the kernels' calls cost as much as they save.
RELU_MIN = 1 << 16


def _memory_order(a):
    """The axes of `a` from outermost to innermost in memory, () if C-contiguous; None if not one block."""
    if a.flags.c_contiguous:
        return ()
    order = tuple(sorted(range(a.ndim), key=lambda axis: -a.strides[axis]))
    return order if a.transpose(order).flags.c_contiguous else None


def _inverse(order):
    back = [0] * len(order)
    for position, axis in enumerate(order):
        back[axis] = position
    return tuple(back)


def _kernel(name, function, dtype):
    return numpy_fused.compile_kernel((name, dtype), function, _signature, dtype, name)


def _signature(dtype, name):
    numba = numpy_fused._numba
    scalar = numba.from_dtype(dtype)
    numbers, flags = scalar[::1], numba.types.boolean[::1]
    if name == "relu":
        return numba.types.void(numbers, numbers, flags, scalar)  # x, out, mask, +0.0
    return numba.types.void(numbers, flags, numbers, scalar, scalar)  # dout, mask, dx, 0.0, 1.0


# The layer's lines for one number i. `zero` and `one` come in the arrays'
# dtype, so the product rounds (and treats NaN and inf) as NumPy's does.

def _forward(x, out, mask, zero):
    # out = maximum(x, 0): x where it is greater or NaN, else the +0.0; mask = out > 0
    for i in range(x.size):
        value = x[i]
        kept = value if (value > zero or value != value) else zero
        out[i] = kept
        mask[i] = kept > zero


def _backward(dout, mask, dx, zero, one):
    # dx = dout * mask
    for i in range(dout.size):
        dx[i] = dout[i] * (one if mask[i] else zero)
