"""Where im2col's windows fall: the geometry that the compiled im2col and col2im share, NumPy's and CuPy's.

It is the layers' own formula (`framework.layers.im2col.output_length`),
kept here because the backends do not import the layers (the layers call
the backends).
"""


def window_geometry(height, width, kernel, strides, pads):
    """``(kh, kw, sh, sw, top, left, oh, ow)``: `kernel` windows at `strides` over (height, width) images.

    `pads` is ``((top, bottom), (left, right))``; OH and OW count the windows
    along each axis, ``(size + before + after - k) // s + 1``. None where a
    pad or a count is negative: the kernels then decline, and the lines run.
    """
    (kh, kw), (sh, sw), ((top, bottom), (left, right)) = kernel, strides, pads
    oh, ow = (height + top + bottom - kh) // sh + 1, (width + left + right - kw) // sw + 1
    if min(oh, ow, top, bottom, left, right) < 0:
        return None
    return kh, kw, sh, sw, top, left, oh, ow
