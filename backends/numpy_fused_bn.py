"""BatchNormalization's training forward and backward, each in one compiled kernel (Numba, optional).

The layer's NumPy lines (framework/layers/batch_normalization.py) make about
seven passes over the activations forward and eleven backward, each with a
temporary of its own. These kernels do the same arithmetic in three passes
forward and two backward, for features on the last axis (rows (N, D) after
an `Affine`, channels-last images) and for channels on axis 1 (this
framework's (N, C, H, W) images). Measured on a 2-core machine, forward and
backward of the layer: 128 x 256 float32 activations right after a matrix
product, 51-56 + 33-36 us instead of 96-102 + 106-115; (100, 30, 24, 24)
maps, 2.2 + 1.9-2.1 ms instead of 4.5-4.9 + 6.2-7.2; the same maps
channels last, 2.1-2.5 + 1.9-2.2 ms instead of 6.0-6.7 + 8.1-9.0.

Same numbers. The layer sums over the batch in the order of its `_sum`,
in the array's dtype: the samples added one after another, elementwise,
from where NumPy's sums start (+0.0, so a feature of -0.0 sums to +0.0);
then each feature's part of that sum: an image's map pairwise, as NumPy
sums a contiguous run (see `_pairwise_plan`), the pixels of channels-last
images one after another. A mean divides by the count, cast to the dtype.
The kernels add in just that order. A sample is one row of numbers and
the running sums another, so the inner loops are elementwise and Numba
compiles them to vector instructions without reordering anything; every
other operation is the layer's own, in its order and precision, and there
is no fast-math, so nothing is fused. (Summing each sample's map pairwise
first, as ``x.mean(axis=(0, 2, 3))`` does, took two thirds of the maps'
kernel time: 8 running sums that Numba leaves scalar, its SLP vectoriser
being off.) `tests/test_fused_batch_norm.py` compares every output with
the layer's NumPy lines bit for bit, for rows, maps of every size class
and channels last, signed zeros, infinities and denormals included; a NaN
need only stay a NaN (which NaN comes out of a sum of two is the
compiler's choice, as in `backends.numpy_fused`).

Channels-last images whose memory is channels first (a channels-last
convolution's output is such a transposed view) are taken as they lie: as
maps, each map's pixels added one after another, which is the order of a
C-ordered copy's pixels. The results come back laid out as the input.

The layer runs its NumPy lines instead for features on another axis,
without gamma or beta, for fewer than `numpy_fused.FUSE_MIN` activations
or one value a sample (NumPy sums such a batch pairwise),
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
    layout = _layout(x, axis, gamma, beta)
    if layout is None:
        return None
    kernel = _kernel("batch_norm_forward", _forward, x.dtype, "2 1 1 s s s n n i i i2 2 2 1 1 1")
    if kernel is None:
        return None
    dtype, rows = x.dtype, _rows(x, layout)
    out, xhat = numpy.empty_like(rows), numpy.empty_like(rows)
    mean, var, std = (numpy.empty(gamma.size, dtype=dtype) for _ in range(3))
    kernel(rows, gamma, beta, dtype.type(epsilon), *_sum_plan(layout, dtype), out, xhat, mean, var, std)
    return _shaped(out, x, layout), _shaped(xhat, x, layout), std, mean, var


def backward(dout, axis, xhat, gamma, std):
    """``(dx, dgamma, dbeta)`` of the layer's training backward; None if not done here.

    `dout` and `xhat` have the input's shape, `gamma` is (C,), `std` has C elements.
    """
    layout = _layout(dout, axis, xhat, gamma, std)
    if layout is None:
        return None
    kernel = _kernel("batch_norm_backward", _backward, dout.dtype, "2 2 1 1 s s n n i i i2 2 1 1")
    if kernel is None:
        return None
    rows = _rows(dout, layout)
    dx = numpy.empty_like(rows)
    dgamma, dbeta = numpy.empty_like(gamma), numpy.empty_like(gamma)
    kernel(rows, _rows(xhat, layout), gamma, std.reshape(-1), *_sum_plan(layout, dout.dtype), dx, dgamma, dbeta)
    return _shaped(dx, dout, layout), dgamma, dbeta


# How a batch's values are laid out, as (N, A, B), and so how `_feature_totals`
# adds up each feature's part of a sample's sums.
MAPS = 0  # images with channels on axis 1: (N, C, S), each channel's map summed pairwise
ROWS = 1  # 2-d inputs: (N, 1, C), the sum over the batch is the feature's
PIXELS = 2  # images with channels last: (N, S, C), the pixels summed one after another
# Channels-last images whose memory is channels first (a channels-last convolution's
# output is such a view): (N, C, S) as MAPS, each map's pixels summed as PIXELS sums them.
PIXELS_IN_MAPS = 3


def _layout(first, axis, *others):
    """``(layout, (N, A, B))`` of `first` for the kernels; None where not fused.

    All arrays must be NumPy arrays of one float dtype, `others` of
    `first`'s shape or of C elements. Those of `first`'s shape must be
    C-contiguous, or all be channels-last images with channels-first memory
    (PIXELS_IN_MAPS); those of C elements contiguous.
    """
    if first.size < numpy_fused.FUSE_MIN or first.ndim < 2 or first.size == len(first):
        return None  # (one value a sample: NumPy sums that batch pairwise, not one sample after another)
    dtype = first.dtype
    if dtype not in numpy_fused._FLOATS or not numpy_fused.enabled():
        return None
    features, last = first.shape[axis], axis in (-1, first.ndim - 1)
    in_maps = first.ndim > 2 and last and not first.flags.c_contiguous and _maps_of(first).flags.c_contiguous
    for array in (first, *others):
        if type(array) is not numpy.ndarray or array.dtype != dtype:
            return None
        if array.shape == first.shape:
            if not (_maps_of(array) if in_maps else array).flags.c_contiguous:
                return None
        elif array.size != features or not array.flags.c_contiguous:
            return None
    n, per_sample = len(first), first.size // len(first)
    if first.ndim == 2:
        return ROWS, (n, 1, features)
    if in_maps:
        return PIXELS_IN_MAPS, (n, features, per_sample // features)
    if axis == 1:
        return MAPS, (n, features, per_sample // features)
    if last:
        return PIXELS, (n, per_sample // features, features)
    return None


def _maps_of(array):
    """The channels-last `array` seen channels first: its memory's own order where that is channels first."""
    return numpy.moveaxis(array, -1, 1)


def _rows(array, layout):
    """`array`'s memory as (N, A * B), a sample a row (no copy)."""
    memory = _maps_of(array) if layout[0] == PIXELS_IN_MAPS else array
    return memory.reshape(len(array), -1)


def _shaped(rows, like, layout):
    """The kernel's `rows` shaped as `like`, laid out in memory as `like` is."""
    if layout[0] == PIXELS_IN_MAPS:
        return numpy.moveaxis(rows.reshape(_maps_of(like).shape), 1, -1)
    return rows.reshape(like.shape)


def _sum_plan(layout, dtype):
    """The kernels' arguments that say how to sum, for `_layout`'s answer: ``start, count, layout, A``
    and `_pairwise_plan`'s for a map (`count`: values per feature, in the dtype, as NumPy divides by it)."""
    plan = _sum_plans.get((layout, dtype))
    if plan is None:
        if len(_sum_plans) >= 256:  # batches of ever new sizes (a generator's) must not grow it forever
            _sum_plans.clear()
        kind, (n, a, b) = layout
        per_feature = b if kind in (MAPS, PIXELS_IN_MAPS) else a
        plan = _sum_plans[layout, dtype] = (_start(dtype), dtype.type(n * per_feature), kind, a,
                                            *_pairwise_plan(b if kind == MAPS else 1, dtype))
    return plan


_sum_plans = {}


def _kernel(name, function, dtype, kinds):
    """The compiled kernel for arguments of `kinds`, compiled (or loaded from the disk cache) on first use."""
    return numpy_fused.compile_kernel((name, dtype), function, _signature, dtype, kinds)


def _signature(dtype, kinds):
    """The argument types of `kinds`: "1", "2" (contiguous arrays of the dimensions given, of `dtype`),
    "i" and "i2" (integer arrays), "n" (an integer) and "s" (a scalar of `dtype`)."""
    if not _compile_helpers():
        # The kernels call them: compile_kernel records None, and the layer's lines run.
        raise RuntimeError("the sums' helpers did not compile")
    numba = numpy_fused._numba
    scalar = numba.from_dtype(dtype)
    types = {"1": scalar[::1], "2": scalar[:, ::1], "s": scalar,
             "i": numba.types.intp[::1], "i2": numba.types.intp[:, ::1], "n": numba.types.intp}
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
    """``(starts, lengths, pairs)``: the leaves of NumPy's pairwise sum of `size` numbers, and the sums
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
        _plans[key] = (numpy.array(starts, dtype=numpy.intp), numpy.array(lengths, dtype=numpy.intp),
                       numpy.array(pairs, dtype=numpy.intp).reshape(-1, 2))
    return _plans[key]


_plans = {}
# The helpers the kernels call, compiled (`_pairwise_sum`, `_feature_totals`, `_spread_values`)
_pairwise = _totals = _spread = None


def _compile_helpers():
    """Make `_pairwise`, `_totals` and `_spread` (compiled with the first kernel); False where Numba refuses."""
    global _pairwise, _totals, _spread
    _pairwise = numpy_fused.compile_kernel("pairwise_sum", _pairwise_sum)
    _totals = numpy_fused.compile_kernel("batch_norm_totals", _feature_totals)
    _spread = numpy_fused.compile_kernel("batch_norm_spread", _spread_values)
    return None not in (_pairwise, _totals, _spread)


def _pairwise_sum(row, starts, lengths, pairs, partial):
    """NumPy's pairwise sum of the contiguous `row` by the plan of `_pairwise_plan` (`partial` is scratch)."""
    for k in range(starts.size):
        begin, n = starts[k], lengths[k]
        if n < 8:
            partial[k] = 0  # +0.0 in the row's dtype
            total = partial[k]
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


# The kernels: the layer's lines, written for one value (the inner loops).
# A sample's values are one row of `x` (N, M), viewed as (A, B) by layout;
# a per-feature vector is first spread to such a row (`_spread`). A sum over
# the batch is the layer's `_sum`: the samples added one after another into
# `total`, a row set to `start` first (as NumPy's sums start, `_start`);
# then `_totals` adds up each feature's part of `total`.

def _forward(x, gamma, beta, epsilon, start, count, layout, a_size, starts, lengths, pairs,
             out, xhat, mean, var, std):
    n, m = x.shape
    total = numpy.empty_like(x[0])
    # mean = _mean(x)
    total[:] = start
    for i in range(n):
        for k in range(m):
            total[k] += x[i, k]
    _totals(total, layout, a_size, start, starts, lengths, pairs, mean)
    for j in range(mean.size):
        mean[j] = mean[j] / count
    # xc = x - mean (kept in xhat for now); var = _mean(xc * xc)
    mean_row = _spread(mean, layout, a_size, m)
    total[:] = start
    for i in range(n):
        for k in range(m):
            centered = x[i, k] - mean_row[k]
            xhat[i, k] = centered
            total[k] += centered * centered
    _totals(total, layout, a_size, start, starts, lengths, pairs, var)
    # std = sqrt(var + epsilon)
    for j in range(var.size):
        var[j] = var[j] / count
        std[j] = numpy.sqrt(var[j] + epsilon)
    # xhat = xc / std; out = xhat * gamma; out += beta
    std_row = _spread(std, layout, a_size, m)
    gamma_row, beta_row = _spread(gamma, layout, a_size, m), _spread(beta, layout, a_size, m)
    for i in range(n):
        for k in range(m):
            normalized = xhat[i, k] / std_row[k]
            xhat[i, k] = normalized
            out[i, k] = normalized * gamma_row[k] + beta_row[k]


def _backward(dout, xhat, gamma, std, start, count, layout, a_size, starts, lengths, pairs, dx, dgamma, dbeta):
    n, m = dout.shape
    # dbeta = _sum(dout); dgamma = _sum(dout * xhat); dxhat = dout * gamma;
    # and the sums of dxhat and of dxhat * xhat, divided into their means below
    gamma_row = _spread(gamma, layout, a_size, m)
    totals = numpy.empty((4, m), dtype=dout.dtype)
    totals[:] = start
    for i in range(n):
        for k in range(m):
            d, normalized = dout[i, k], xhat[i, k]
            dxhat = d * gamma_row[k]
            totals[0, k] += d
            totals[1, k] += d * normalized
            totals[2, k] += dxhat
            totals[3, k] += dxhat * normalized
    mean_dxhat, mean_dxhat_xhat = numpy.empty_like(gamma), numpy.empty_like(gamma)
    for k, result in enumerate((dbeta, dgamma, mean_dxhat, mean_dxhat_xhat)):
        _totals(totals[k], layout, a_size, start, starts, lengths, pairs, result)
    for j in range(gamma.size):
        mean_dxhat[j] = mean_dxhat[j] / count
        mean_dxhat_xhat[j] = mean_dxhat_xhat[j] / count
    # dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / std
    mean_row, mean_xhat_row = _spread(mean_dxhat, layout, a_size, m), _spread(mean_dxhat_xhat, layout, a_size, m)
    std_row = _spread(std, layout, a_size, m)
    for i in range(n):
        for k in range(m):
            dxhat = dout[i, k] * gamma_row[k]
            dx[i, k] = (dxhat - mean_row[k] - xhat[i, k] * mean_xhat_row[k]) / std_row[k]


def _spread_values(values, layout, a_size, m):
    """The per-feature `values` as one sample's row of `m` = A * B: value a at (a, b) in the two
    maps layouts, b otherwise."""
    if layout == ROWS:  # a sample's row is the features
        return values
    row = numpy.empty(m, dtype=values.dtype)
    b_size = m // a_size
    for a in range(a_size):
        for b in range(b_size):
            row[a * b_size + b] = values[a] if layout == MAPS or layout == PIXELS_IN_MAPS else values[b]
    return row


def _feature_totals(row, layout, a_size, start, starts, lengths, pairs, result):
    """Each feature's sum of one sample's `row` of sums (A * B), into `result`, in the layer's `_sum` order."""
    b_size = row.size // a_size
    total = row.reshape(a_size, b_size)
    if layout == MAPS:  # NumPy's pairwise sum of each map, from start
        partial = numpy.empty_like(total[0])
        for a in range(a_size):
            result[a] = start + _pairwise(total[a], starts, lengths, pairs, partial)
    elif layout == ROWS:  # no more to add: 2-d inputs have no pixels
        for b in range(b_size):
            result[b] = total[0, b]
    elif layout == PIXELS_IN_MAPS:  # as PIXELS, each feature's pixels one after another, from start
        for a in range(a_size):
            result[a] = start
            for b in range(b_size):
                result[a] += total[a, b]
    else:  # PIXELS: one after another, from start
        for b in range(b_size):
            result[b] = start
        for a in range(a_size):
            for b in range(b_size):
                result[b] += total[a, b]
