"""Array backends: the one place where NumPy and CuPy differ.

Layers never import NumPy for their math. They ask for the current backend and
use its array module ``xp``, which has NumPy's API on every backend. What does
*not* have the same API on NumPy and CuPy (moving data to and from the host,
scatter-add, synchronisation), or is fast on one only (``where``, an
optimizer's update in one pass), is a method of the backend object.
"""

import os

from framework import registry
from framework.errors import BackendError, InvalidArgumentError


class Backend:
    """Base class of backends. Subclasses set `name` and `xp` and override what differs.

    Attributes:
        name: the registered name (``"numpy"``, ``"cupy"``).
        xp: the array module, with NumPy's API.
    """

    name = None
    xp = None

    def asarray(self, x, dtype=None):
        """Host (NumPy) data -> a backend array."""
        return self.xp.asarray(x, dtype=dtype)

    def to_numpy(self, x):
        """A backend array -> a NumPy array on the host."""
        raise NotImplementedError

    def scatter_add(self, a, indices, values):
        """``a[indices] += values`` with repeated indices accumulated, in place."""
        raise NotImplementedError

    def where(self, condition, x, y):
        """``xp.where(condition, x, y)``: `x` where `condition` holds, else `y`.

        A backend may compute it faster; it must give the same array, bit for bit.
        """
        return self.xp.where(condition, x, y)

    def fused_update(self, rule, arrays, scalars):
        """Apply optimizer `rule` to `arrays` in place in one compiled pass; False if this backend cannot.

        `rule` is ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``,
        ``"nadam"``, ``"rmsprop"`` or ``"adagrad"`` (`backends.numpy_fused.KERNELS`);
        `arrays` are ``(param, grad, slots...)`` and `scalars` Python floats,
        in the order the optimizer passes them. A backend that does it must
        give the optimizer's own numbers bit for bit. By default it cannot:
        the optimizer runs its plain lines (see `backends.numpy_fused`).
        """
        return False

    def fused_relu(self, x):
        """``(out, mask)`` of ReLU's forward on `x` in one compiled pass; None if this backend cannot.

        `out` is ``maximum(x, 0)`` and `mask` ``out > 0``, both laid out as
        `x`, bit for bit those of the layer's own lines. By default it
        cannot: the layer runs its lines (see `backends.numpy_fused_relu`).
        """
        return None

    def fused_relu_backward(self, dout, mask):
        """``dout * mask``, ReLU's backward, as `fused_relu`; None by default."""
        return None

    def fused_pick(self, x, t):
        """``x[arange(n), t]``, each row's entry at its class index, in one compiled pass; None by default.

        For scores `x` (N, C) and class indices `t` (N,), as SoftmaxWithLoss
        picks each row's true class. A backend that does it must give the
        line's numbers (see `backends.cupy_fused_softmax`); where it returns
        None, the layer runs its line.
        """
        return None

    def fused_softmax_loss_backward(self, y, t, scale):
        """``(y - one_hot(t)) * scale`` for class indices `t` (N,), as `fused_pick`; None by default.

        SoftmaxWithLoss's backward before sample weights: `y` (N, C) the
        softmax, `scale` the Python number ``dout / N``.
        """
        return None

    def fused_batch_norm(self, x, axis, gamma, beta, epsilon):
        """BatchNormalization's training forward on `x` in fewer passes; None if this backend cannot.

        `axis` is the feature axis. Returns ``(out, xhat, std, mean, var)``:
        `out` and `xhat` shaped as `x`, the statistics (C,), bit for bit
        those of the layer's own lines. By default it cannot: the layer runs
        its lines (see `backends.numpy_fused_bn`, one compiled pass, and
        `backends.cupy_fused_bn`, CuPy's sums with one kernel between two).
        """
        return None

    def fused_batch_norm_backward(self, dout, axis, xhat, gamma, std):
        """``(dx, dgamma, dbeta)`` of BatchNormalization's training backward, as `fused_batch_norm`; None by default."""
        return None

    def fused_max_pool(self, x, pool_size):
        """MaxPooling2D's forward over windows that tile (N, C, H, W) `x`, in one compiled pass; None if not.

        Returns ``(out, arg_h, arg_w)``: the maxima and the layer's boolean
        masks "the second row (column) of the window wins", bit for bit those
        of the layer's own lines. By default it cannot: the layer runs its
        lines (see `backends.numpy_fused_pool`).
        """
        return None

    def fused_max_pool_backward(self, dout, arg_h, arg_w, pool_size, x_shape):
        """dx of MaxPooling2D's backward from `fused_max_pool`'s masks, as that method; None by default."""
        return None

    def fused_average_pool(self, x, pool_size):
        """AveragePooling2D's forward over windows that tile (N, C, H, W) `x`, in one compiled pass; None if not.

        The same numbers as the layer's own lines, or None (by default): see
        `backends.numpy_fused_avg_pool`.
        """
        return None

    def fused_average_pool_backward(self, dout, pool_size, x_shape):
        """dx of AveragePooling2D's backward over windows that tile, as `fused_average_pool`; None by default."""
        return None

    def fused_max_pool_windows(self, x, pool_size, strides, pads, out_size):
        """``(out, arg)`` of MaxPooling2D's general forward (any windows) in one compiled pass; None if not.

        The same numbers as the layer's own lines, or None (by default): see
        `backends.numpy_fused_max_pool_windows`.
        """
        return None

    def fused_max_pool_windows_backward(self, dout, arg, pool_size, strides, pads, x_shape):
        """dx of MaxPooling2D's general backward, as `fused_max_pool_windows`; None by default."""
        return None

    def fused_im2col(self, x, kernel, strides, pads, value, out=None):
        """`framework.layers.im2col.im2col` in one compiled pass: the same matrix, or None (by default).

        See `backends.numpy_fused_im2col`; the layers then run `im2col`'s lines.
        """
        return None

    def fused_col2im(self, col, input_shape, kernel, strides, pads):
        """`framework.layers.im2col.col2im` in one compiled pass: the same numbers, or None (by default).

        See `backends.numpy_fused_col2im`; the layers then run `col2im`'s lines.
        """
        return None

    def synchronize(self):
        """Wait until queued device work is done (for timing); a no-op on the CPU."""

    def prepare_loop(self):
        """Called as `fit`, `evaluate` or `predict` starts: set up what makes a loop of steps fast.

        A no-op by default; the NumPy backend keeps freed memory for reuse
        there (see `backends.numpy_backend`), as CuPy's memory pool does.
        """

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


_current = None
_instances = {}


def _create(name):
    if not isinstance(name, str):
        raise InvalidArgumentError(f"backend name must be a string, got {name!r}")
    if name not in _instances:
        entry = registry.get("backends", name, what="backend")
        try:
            backend = entry.obj()
        except BackendError:
            raise  # already says what is missing (CuPy, a device)
        except Exception as exc:
            raise BackendError(f"the backend {entry.name!r} of plugin {entry.plugin!r} (package {entry.package}) "
                               f"failed to start: {type(exc).__name__}: {exc}") from exc
        backend.name = entry.name
        _instances[name] = backend
    return _instances[name]


def get_backend():
    """The current backend (its `name` and `xp`).

    Chosen by `set_backend`, else by the environment variable
    ``FRAMEWORK_BACKEND``, else NumPy.
    """
    global _current
    if _current is None:
        _current = _create(os.environ.get("FRAMEWORK_BACKEND") or "numpy")
    return _current


def set_backend(name):
    """Make `name` (``"numpy"``, ``"cupy"`` or a plugin's backend) the current backend.

    Create models after choosing the backend: weights live where they were
    created. An unknown name raises `UnknownNameError` listing the installed
    backends, and the current backend stays as it was.
    """
    global _current
    _current = name if isinstance(name, Backend) else _create(name)
    return _current
