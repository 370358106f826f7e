"""BatchNormalization's training forward and backward, each in one compiled kernel (Numba, optional).

The layer's NumPy lines (framework/layers/batch_normalization.py) make about
seven passes over the activations forward and eleven backward, each with a
temporary of its own. These kernels do the same arithmetic in three passes
forward and two backward, for features on the last axis (rows (N, D) after
an `Affine`, channels-last images) and for channels on axis 1 (this
framework's (N, C, H, W) images). Measured on a 2-core machine, forward and
backward of the layer: 128 x 256 float32 activations right after a matrix
product, 49 + 30 us instead of 100 + 114; (100, 30, 24, 24) maps, 3.0 + 4.5
ms instead of 5.6 + 8.5; the same maps channels last, 2.6 + 2.3 ms instead
of 9.1 + 14.0.

Same numbers. NumPy sums over the batch in a fixed order, per feature, in
the array's dtype, from +0.0 (so a feature of -0.0 sums to +0.0): rows of
features one after another; an image's map of one channel pairwise (see
`_pairwise_plan`), then those maps' sums one sample after another. `mean`
divides the sum by the count in float64 (the count is a NumPy integer)
and rounds to the dtype. The kernels sum and divide exactly so, and every
other operation is the layer's own, in its order and precision; Numba
compiles them without fast-math, so nothing is reordered or fused.
`tests/test_fused_batch_norm.py` compares every output with the layer's
NumPy lines bit for bit, for rows, maps of every size class and channels
last, signed zeros, infinities and denormals included; a NaN need only
stay a NaN (which NaN comes out of a sum of two is the compiler's choice,
as in `backends.numpy_fused`).

The layer runs its NumPy lines instead for features on another axis,
without gamma or beta, for fewer than `numpy_fused.FUSE_MIN` activations,
for arrays that are not contiguous NumPy arrays of one float dtype, and
wherever the optimizer kernels would not run (no Numba,
``FRAMEWORK_NUMBA=off``, a failed compile).
"""

import numpy

from framework.backends import numpy_fused


def forward(x, axis, gamma, beta, epsilon):
    """``(out, xhat, std, mean, var)`` of the layer's training forward on `x`; None if not done here.

    `axis` is the feature axis (1 or the last); `out` and `xhat` have the
    shape of `x`; `gamma`, `beta`, `mean`, `var` and `std` are (C,);
    `epsilon` a Python float.
    """
    view = _view(x, axis, gamma, beta)
    if view is None:
        return None
    dtype, features = x.dtype, x.shape[axis]
    out, xhat = numpy.empty_like(view), numpy.empty_like(view)
    mean, var, std = (numpy.empty(features, dtype=dtype) for _ in range(3))
    epsilon, start = dtype.type(epsilon), _start(dtype)
    if view.ndim == 2:
        kernel = _kernel("batch_norm_forward", _forward, dtype, "2 1 1 s s 2 2 1 1 1")
        if kernel is None:
            return None
        kernel(view, gamma, beta, epsilon, start, out, xhat, mean, var, std)
    else:
        kernel = _kernel("batch_norm_maps_forward", _maps_forward, dtype, "3 1 1 s s s i i i2 3 3 1 1 1")
        if kernel is None:
            return None
        kernel(view, gamma, beta, epsilon, start, *_pairwise_plan(view.shape[2], dtype), out, xhat, mean, var, std)
    return out.reshape(x.shape), xhat.reshape(x.shape), std, mean, var


def backward(dout, axis, xhat, gamma, std):
    """``(dx, dgamma, dbeta)`` of the layer's training backward; None if not done here.

    `dout` and `xhat` have the input's shape, `gamma` is (C,), `std` has C elements.
    """
    view = _view(dout, axis, xhat, gamma, std)
    if view is None:
        return None
    dtype = dout.dtype
    xhat, std = xhat.reshape(view.shape), std.reshape(-1)
    dx = numpy.empty_like(view)
    dgamma, dbeta = numpy.empty_like(gamma), numpy.empty_like(gamma)
    if view.ndim == 2:
        kernel = _kernel("batch_norm_backward", _backward, dtype, "2 2 1 1 s 2 1 1")
        if kernel is None:
            return None
        kernel(view, xhat, gamma, std, _start(dtype), dx, dgamma, dbeta)
    else:
        kernel = _kernel("batch_norm_maps_backward", _maps_backward, dtype, "3 3 1 1 s s i i i2 3 1 1")
        if kernel is None:
            return None
        kernel(view, xhat, gamma, std, _start(dtype), *_pairwise_plan(view.shape[2], dtype), dx, dgamma, dbeta)
    return dx.reshape(dout.shape), dgamma, dbeta


def _view(first, axis, *others):
    """`first` as (rows, C) for features last, or (N, C, S) for features on axis 1; None where not fused.

    All arrays must be contiguous NumPy arrays of one float dtype, `others`
    of `first`'s shape or of C elements.
    """
    if first.size < numpy_fused.FUSE_MIN or first.ndim < 2:
        return None
    dtype = first.dtype
    if dtype not in numpy_fused._FLOATS or not numpy_fused.enabled():
        return None
    features = first.shape[axis]
    for array in (first, *others):
        if type(array) is not numpy.ndarray or array.dtype != dtype or not array.flags.c_contiguous:
            return None
        if array.shape != first.shape and array.size != features:
            return None
    if axis == first.ndim - 1:  # NumPy sums the rows of features one after another
        return first.reshape(-1, features)
    if axis == 1:  # each sample's map of a channel is one pairwise sum
        return first.reshape(first.shape[0], features, -1)
    return None


def _kernel(name, function, dtype, kinds):
    """The compiled kernel for arguments of `kinds`, compiled (or loaded from the disk cache) on first use."""
    return numpy_fused.compile_kernel((name, dtype), function, _signature, dtype, kinds)


def _signature(dtype, kinds):
    """The argument types of `kinds`: "1", "2", "3" (contiguous arrays of the dimensions given, of `dtype`),
    "i" and "i2" (integer arrays) and "s" (a scalar of `dtype`)."""
    if "i" in kinds.split() and not _compile_pairwise():
        # The maps' kernels call `_pairwise`: compile_kernel records None, and the layer's lines run.
        raise RuntimeError("NumPy's pairwise sum did not compile")
    numba = numpy_fused._numba
    scalar = numba.from_dtype(dtype)
    types = {"1": scalar[::1], "2": scalar[:, ::1], "3": scalar[:, :, ::1], "s": scalar,
             "i": numba.types.intp[::1], "i2": numba.types.intp[:, ::1]}
    return numba.types.void(*[types[kind] for kind in kinds.split()])


def _start(dtype):
    """What NumPy's sums start from: +0.0, its identity (NumPy 2.4 does so), or the first term.

    A sum of the single term -0.0 shows which: +0.0 + (-0.0) is +0.0, and
    starting from -0.0 instead leaves every first term exactly as it is.
    """
    start = _starts.get(dtype)
    if start is None:
        start = _starts[dtype] = numpy.add.reduce(numpy.array([[-0.0]], dtype=dtype), axis=0)[0]
    return start


_starts = {}


# -- NumPy's pairwise summation ----------------------------------------------
# NumPy sums a contiguous run of numbers pairwise (numpy/_core/src/umath/
# loops_utils.h.src): under 8 numbers one after another from +0.0; up to 128
# in 8 running sums combined as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)),
# then the rest one by one; above 128 the two halves (the first a multiple
# of 8) each so, then added. A channel's map of one sample is such a run.

PAIRWISE_BLOCK = 128


def _pairwise_plan(size, dtype):
    """``(zero, starts, lengths, pairs)``: the leaves of NumPy's pairwise sum of `size` numbers, and the sums
    that combine them (``partial[a] += partial[b]``, in order; the whole sum ends in ``partial[0]``)."""
    key = (size, dtype)
    if key not in _plans:
        starts, lengths, pairs = [], [], []

        def split(begin, n):
            if n <= PAIRWISE_BLOCK:
                starts.append(begin)
                lengths.append(n)
                return len(starts) - 1
            half = n // 2 - (n // 2) % 8
            left, right = split(begin, half), split(begin + half, n - half)
            pairs.append((left, right))
            return left

        split(0, size)
        _plans[key] = (dtype.type(0.0), numpy.array(starts, dtype=numpy.intp), numpy.array(lengths, dtype=numpy.intp),
                       numpy.array(pairs, dtype=numpy.intp).reshape(-1, 2))
    return _plans[key]


_plans = {}
_pairwise = None  # the compiled `_pairwise_sum`, which the maps' kernels call


def _compile_pairwise():
    """Make `_pairwise` (compiled with the first kernel that calls it); False where Numba refuses."""
    global _pairwise
    _pairwise = numpy_fused.compile_kernel("pairwise_sum", _pairwise_sum)
    return _pairwise is not None


def _pairwise_sum(row, zero, starts, lengths, pairs, partial):
    """NumPy's pairwise sum of the contiguous `row` by the plan of `_pairwise_plan` (`partial` is scratch)."""
    for k in range(starts.size):
        begin, n = starts[k], lengths[k]
        if n < 8:
            total = zero
            for i in range(begin, begin + n):
                total += row[i]
        else:
            r0, r1, r2, r3 = row[begin], row[begin + 1], row[begin + 2], row[begin + 3]
            r4, r5, r6, r7 = row[begin + 4], row[begin + 5], row[begin + 6], row[begin + 7]
            i = begin + 8
            while i < begin + n - n % 8:
                r0 += row[i]
                r1 += row[i + 1]
                r2 += row[i + 2]
                r3 += row[i + 3]
                r4 += row[i + 4]
                r5 += row[i + 5]
                r6 += row[i + 6]
                r7 += row[i + 7]
                i += 8
            total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
            while i < begin + n:
                total += row[i]
                i += 1
        partial[k] = total
    for p in range(pairs.shape[0]):
        partial[pairs[p, 0]] += partial[pairs[p, 1]]
    return partial[0]


# The kernels: the layer's lines, written for one feature j (the inner loops).
# Each sum starts from `start`, the value NumPy's own sums start from (`_start`).

def _forward(x, gamma, beta, epsilon, start, out, xhat, mean, var, std):
    n, d = x.shape
    count = numpy.float64(n)
    # mean = x.mean(axis=0)
    for j in range(d):
        mean[j] = start
    for i in range(n):
        for j in range(d):
            mean[j] += x[i, j]
    for j in range(d):
        mean[j] = numpy.float64(mean[j]) / count  # stored: rounded to the dtype
    # xc = x - mean (kept in xhat for now); var = (xc * xc).mean(axis=0)
    for j in range(d):
        var[j] = start
    for i in range(n):
        for j in range(d):
            centered = x[i, j] - mean[j]
            xhat[i, j] = centered
            var[j] += centered * centered
    # std = sqrt(var + epsilon)
    for j in range(d):
        var[j] = numpy.float64(var[j]) / count
        std[j] = numpy.sqrt(var[j] + epsilon)
    # xhat = xc / std; out = xhat * gamma; out += beta
    for i in range(n):
        for j in range(d):
            normalized = xhat[i, j] / std[j]
            xhat[i, j] = normalized
            out[i, j] = normalized * gamma[j] + beta[j]


def _backward(dout, xhat, gamma, std, start, dx, dgamma, dbeta):
    n, d = dout.shape
    count = numpy.float64(n)
    # dbeta = dout.sum(axis=0); dgamma = (dout * xhat).sum(axis=0); dxhat = dout * gamma;
    # and the sums of dxhat and of dxhat * xhat, divided into their means below
    mean_dxhat = numpy.empty_like(gamma)
    mean_dxhat_xhat = numpy.empty_like(gamma)
    for j in range(d):
        dbeta[j] = dgamma[j] = mean_dxhat[j] = mean_dxhat_xhat[j] = start
    for i in range(n):
        for j in range(d):
            dxhat = dout[i, j] * gamma[j]
            dbeta[j] += dout[i, j]
            dgamma[j] += dout[i, j] * xhat[i, j]
            mean_dxhat[j] += dxhat
            mean_dxhat_xhat[j] += dxhat * xhat[i, j]
    for j in range(d):
        mean_dxhat[j] = numpy.float64(mean_dxhat[j]) / count
        mean_dxhat_xhat[j] = numpy.float64(mean_dxhat_xhat[j]) / count
    # dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / std
    for i in range(n):
        for j in range(d):
            dxhat = dout[i, j] * gamma[j]
            dx[i, j] = (dxhat - mean_dxhat[j] - xhat[i, j] * mean_dxhat_xhat[j]) / std[j]


def _maps_forward(x, gamma, beta, epsilon, start, zero, starts, lengths, pairs, out, xhat, mean, var, std):
    # x (N, C, S): the same lines, each sum over a channel's map pairwise as NumPy's
    n, c, size = x.shape
    count = numpy.float64(n * size)
    row, partial = numpy.empty_like(x[0, 0]), numpy.empty_like(x[0, 0])
    # mean = x.mean(axis=(0, 2)): per sample, the map's pairwise sum
    for j in range(c):
        mean[j] = start
    for i in range(n):
        for j in range(c):
            mean[j] += _pairwise(x[i, j], zero, starts, lengths, pairs, partial)
    for j in range(c):
        mean[j] = numpy.float64(mean[j]) / count
    # xc = x - mean (kept in xhat for now); var = (xc * xc).mean(axis=(0, 2))
    for j in range(c):
        var[j] = start
    for i in range(n):
        for j in range(c):
            for k in range(size):
                centered = x[i, j, k] - mean[j]
                xhat[i, j, k] = centered
                row[k] = centered * centered
            var[j] += _pairwise(row, zero, starts, lengths, pairs, partial)
    for j in range(c):
        var[j] = numpy.float64(var[j]) / count
        std[j] = numpy.sqrt(var[j] + epsilon)
    # xhat = xc / std; out = xhat * gamma; out += beta
    for i in range(n):
        for j in range(c):
            for k in range(size):
                normalized = xhat[i, j, k] / std[j]
                xhat[i, j, k] = normalized
                out[i, j, k] = normalized * gamma[j] + beta[j]


def _maps_backward(dout, xhat, gamma, std, start, zero, starts, lengths, pairs, dx, dgamma, dbeta):
    n, c, size = dout.shape
    count = numpy.float64(n * size)
    row, partial = numpy.empty_like(dout[0, 0]), numpy.empty_like(dout[0, 0])
    mean_dxhat = numpy.empty_like(gamma)
    mean_dxhat_xhat = numpy.empty_like(gamma)
    for j in range(c):
        dbeta[j] = dgamma[j] = mean_dxhat[j] = mean_dxhat_xhat[j] = start
    # dbeta = dout.sum(axis=(0, 2)); dgamma = (dout * xhat).sum(...); dxhat = dout * gamma;
    # the sums of dxhat and dxhat * xhat: each map's terms made in `row`, summed pairwise
    for i in range(n):
        for j in range(c):
            dbeta[j] += _pairwise(dout[i, j], zero, starts, lengths, pairs, partial)
            for k in range(size):
                row[k] = dout[i, j, k] * xhat[i, j, k]
            dgamma[j] += _pairwise(row, zero, starts, lengths, pairs, partial)
            for k in range(size):
                row[k] = dout[i, j, k] * gamma[j]
            mean_dxhat[j] += _pairwise(row, zero, starts, lengths, pairs, partial)
            for k in range(size):
                row[k] = (dout[i, j, k] * gamma[j]) * xhat[i, j, k]
            mean_dxhat_xhat[j] += _pairwise(row, zero, starts, lengths, pairs, partial)
    for j in range(c):
        mean_dxhat[j] = numpy.float64(mean_dxhat[j]) / count
        mean_dxhat_xhat[j] = numpy.float64(mean_dxhat_xhat[j]) / count
    # dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / std
    for i in range(n):
        for j in range(c):
            for k in range(size):
                dxhat = dout[i, j, k] * gamma[j]
                dx[i, j, k] = (dxhat - mean_dxhat[j] - xhat[i, j, k] * mean_dxhat_xhat[j]) / std[j]
