"""SoftmaxWithLoss's picks of each row's true class, one CUDA kernel each: the CuPy backend's
`fused_pick` and `fused_softmax_loss_backward`.

With class indices `t`, the book's layer picks each row's true class with
``x[arange(n), t]`` in the forward, and subtracts the one-hot labels with
``dx[arange(n), t] -= 1`` in the backward. On CuPy, indexing by two
integer arrays is the slowest kind: the index arrays are broadcast,
checked and flattened into one, in Python and several launches, and the
``-=`` does it twice (a read, then a scatter). On a GPU a small model's
step is bound by the host's work per launch, and with these two lines
the layer took about 0.7 ms of the MLP's 2.2 ms step on an H200 (cProfile,
host time). Here each is one ``ElementwiseKernel`` launch.

Same numbers: the pick copies. The backward computes, for every entry, the
lines' ``y - 1`` at the true class (in the dtype, as CuPy subtracts a
Python 1 from a float array) and then ``* scale``, with `scale` cast to the
dtype as CuPy casts the Python float in ``dx *= dout / n``; compiled with
``--fmad=false``, as `backends.cupy_fused`, so no product and sum are fused
into one rounding. A class index out of range wraps around, as CuPy's
integer-array indexing wraps it (its default, where NumPy raises): row i
takes class ``t[i] mod C``. tests/test_cupy_fused_layers.py compares both
with the lines, bit for bit, on a GPU.
"""

from framework.backends.cupy_kernels import elementwise


def _wrap(index):
    """The class `k` that CuPy's indexing takes for `index` (its 'wrap' mode), as CUDA statements."""
    return f"long long k = {index} % classes; if (k < 0) k += classes;"


_PICK_BODY = _wrap("t") + " picked = x[i * classes + k];"

_BACKWARD_BODY = ("long long row = i / classes; S t_row = t[row]; " + _wrap("t_row")
                  + " T v = y; if (i - row * classes == k) v = v - (T)1; dx = v * scale;")


def pick(cupy, x, t):
    """``x[arange(n), t]`` for scores `x` (N, C) and class indices `t` (N,), as the line gives it; None if not here."""
    if not _takes(cupy, x, t):
        return None
    kernel = elementwise(cupy, "framework_pick", "raw T x, S t, int64 classes", "T picked", _PICK_BODY)
    return kernel(cupy.ascontiguousarray(x).reshape(-1), t, x.shape[1])


def softmax_loss_backward(cupy, y, t, scale):
    """``(y - one_hot(t)) * scale``, laid out C-contiguous, as the layer's lines compute it; None if not here.

    `y` (N, C) the softmax, `t` (N,) class indices, `scale` the Python
    number ``dout / N``.
    """
    if not _takes(cupy, y, t) or type(scale) not in (float, int):
        return None
    kernel = elementwise(cupy, "framework_softmax_loss_backward", "T y, raw S t, int64 classes, T scale", "T dx",
                         _BACKWARD_BODY, options=("--fmad=false",))
    return kernel(y, t, y.shape[1], y.dtype.type(scale))


def _takes(cupy, x, t):
    """CuPy float scores (N, C), C > 0, with C-contiguous integer indices (N,) on the device."""
    return (type(x) is cupy.ndarray and type(t) is cupy.ndarray and x.ndim == 2 and t.ndim == 1
            and x.shape[0] == t.shape[0] and x.shape[1] > 0 and x.dtype.kind == "f"
            and x.dtype.itemsize in (4, 8) and t.dtype.kind in "iu" and t.flags.c_contiguous)
