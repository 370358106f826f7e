"""How the pooling kernels see an image: one of two layouts of memory under (N, C, H, W) shapes.

The layers hand the backend images in channels-first shapes. Channels
last, those are transposed views of (N, H, W, C) memory. The kernels take
either layout in its own order (the channels innermost for the second),
so each image is given to them transposed by its layout's `ORDERS` and
their results are turned back the other way, laid out as the image was.
"""

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
