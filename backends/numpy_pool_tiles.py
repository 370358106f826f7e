"""What the pooling kernels share: the images they take, how those lie in memory, the gradient they fill.

The layers hand the backend images in channels-first shapes. Channels
last, those are transposed views of (N, H, W, C) memory. The kernels
(`numpy_fused_pool` for the maximum, `numpy_fused_avg_pool` for the mean)
take either layout in its own order (the channels innermost for the
second), so each image is given to them transposed by its layout's
`ORDERS` and their results are turned back the other way, laid out as the
image was.
"""

import numpy

from framework.backends import numpy_fused

# layout (a suffix of the kernels' names): (the kernels' order of the channels-first axes, the way back)
ORDERS = {"": ((0, 1, 2, 3), (0, 1, 2, 3)), "_channels_last": ((0, 2, 3, 1), (0, 3, 1, 2))}


def layout_of(array):
    """"" for a C-contiguous (N, C, H, W) array, "_channels_last" for a C-contiguous (N, H, W, C) one seen
    channels first, None for anything else."""
    if array.ndim != 4:
        return None
    if array.flags.c_contiguous:
        return ""
    if array.transpose(0, 2, 3, 1).flags.c_contiguous:
        return "_channels_last"
    return None


def permuted(shape, order):
    """`shape` with its axes in `order`, as ``transpose(order)`` would lay them."""
    return tuple(shape[axis] for axis in order)


def takes(array, pool_size, image_size):
    """Whether the 2x2 kernels take `array` with this pool: 2x2, and `takes_image`."""
    return tuple(pool_size) == (2, 2) and takes_image(array, image_size)


def takes_image(array, image_size):
    """Whether a pooling kernel takes `array`: a 4-d NumPy array of one float dtype, and Numba usable.

    `image_size` is the input image's number of cells, which both passes
    visit (at least `numpy_fused.FUSE_MIN`): the layers' forward and
    backward are done alike.
    """
    if array.ndim != 4 or image_size < numpy_fused.FUSE_MIN:
        return False
    if type(array) is not numpy.ndarray or array.dtype not in numpy_fused._FLOATS:
        return False
    return numpy_fused.enabled()


def tiles(x_shape, out_shape):
    """Whether (N, C, OH, OW) `out_shape` is what 2x2 windows that tile (N, C, H, W) `x_shape` give."""
    return (len(x_shape) == len(out_shape) == 4 and tuple(x_shape[:2]) == tuple(out_shape[:2])
            and x_shape[2] // 2 == out_shape[2] and x_shape[3] // 2 == out_shape[3])


def new_gradient(x_shape, order, dtype):
    """dx of `x_shape`, its axes in `order`, for a backward kernel to fill.

    An odd last row or column is in no window: its gradient is +0.0, as the
    layers' zeros, so those images start from zeros.
    """
    covered = x_shape[2] % 2 == 0 and x_shape[3] % 2 == 0
    return (numpy.empty if covered else numpy.zeros)(permuted(x_shape, order), dtype=dtype)
