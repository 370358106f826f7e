"""The CuPy backend: arrays in NVIDIA GPU memory.

CuPy is imported when the backend is chosen, never by ``import framework``.
"""

from framework.backend import Backend
from framework.backends import (cupy_fused, cupy_fused_bn, cupy_fused_im2col, cupy_fused_pool, cupy_fused_relu,
                                cupy_fused_softmax)
from framework.errors import BackendError
from framework.hookspecs import hookimpl

INSTALL_HINT = "install CuPy for your CUDA version, e.g. pip install 'dlfs-framework[cuda12]' (cupy-cuda12x)"


class CupyBackend(Backend):
    name = "cupy"

    def __init__(self):
        try:
            import cupy
        except ImportError as exc:
            raise BackendError(f"backend 'cupy' needs CuPy, which is not installed ({exc}); {INSTALL_HINT}") from None
        try:
            devices = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # no driver, no device
            raise BackendError(f"backend 'cupy' found no usable CUDA device: {exc}") from None
        if devices < 1:
            raise BackendError("backend 'cupy' found no CUDA device")
        self.xp = cupy

    def to_numpy(self, x):
        return self.xp.asnumpy(x)

    def scatter_add(self, a, indices, values):
        import cupyx

        cupyx.scatter_add(a, indices, values)

    def fused_update(self, rule, arrays, scalars):
        return cupy_fused.update(self.xp, rule, arrays, scalars)  # one kernel launch per weight array

    def fused_relu(self, x):
        return cupy_fused_relu.forward(self.xp, x)  # out and mask in one launch, not two

    def fused_relu_backward(self, dout, mask):
        return cupy_fused_relu.backward(self.xp, dout, mask)

    def fused_pick(self, x, t):
        return cupy_fused_softmax.pick(self.xp, x, t)  # one launch, not CuPy's two-array indexing

    def fused_softmax_loss_backward(self, y, t, scale):
        return cupy_fused_softmax.softmax_loss_backward(self.xp, y, t, scale)

    def fused_batch_norm(self, x, axis, gamma, beta, epsilon):
        return cupy_fused_bn.forward(self.xp, x, axis, gamma, beta, epsilon)  # CuPy's sums, fewer launches between

    def fused_batch_norm_backward(self, dout, axis, xhat, gamma, std):
        return cupy_fused_bn.backward(self.xp, dout, axis, xhat, gamma, std)

    def fused_max_pool(self, x, pool_size):
        return cupy_fused_pool.forward(self.xp, x, pool_size)  # 2x2 tiles: one launch, not four

    def fused_max_pool_backward(self, dout, arg_h, arg_w, pool_size, x_shape):
        return cupy_fused_pool.backward(self.xp, dout, arg_h, arg_w, pool_size, x_shape)

    def fused_im2col(self, x, kernel, strides, pads, value, out=None):
        return cupy_fused_im2col.im2col(self.xp, x, kernel, strides, pads, value, out)  # one launch, not kh*kw

    def fused_col2im(self, col, input_shape, kernel, strides, pads):
        return cupy_fused_im2col.col2im(self.xp, col, input_shape, kernel, strides, pads)

    def synchronize(self):
        self.xp.cuda.get_current_stream().synchronize()


@hookimpl
def register_backends(register):
    register(CupyBackend, name="cupy")
