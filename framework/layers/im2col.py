"""im2col and col2im: a convolution as one matrix product.

A convolution slides a (C, kh, kw) window over the image; at each of the
OH*OW output positions it takes the dot product of the window with each
filter. `im2col` copies every window into a column of a matrix::

    x (N, C, H, W)  ->  col (N, C*kh*kw, OH*OW)

Column ``p`` of ``col[n]`` holds the C*kh*kw input values that output
position ``p`` of sample ``n`` sees, in the order (channel, row, column) of
the filter weights ``W`` (F, C, kh, kw). The convolution is then
``W.reshape(F, -1) @ col[n]``, shape (F, OH*OW), i.e. (F, OH, OW) after a
free reshape: the output is already in (N, F, OH, OW) order, no transpose.
(The book builds the transpose, one window per *row*; with the windows in
columns the product lands in the image layout, which saves a full copy of
the output in forward and of ``dout`` in backward.)

`col2im` is the adjoint: it adds every column back onto the window it came
from, so an input value covered by several windows receives the sum of their
gradients. Both loop over the kh*kw offsets of the window, never over samples
or positions: each step is one strided slice of the whole batch.

Only one batch's column matrix exists at a time (kh*kw times the input).
Shapes and padding follow Keras: see `output_length` and `padding_amounts`.
"""

from framework.backend import get_backend
from framework.errors import InvalidArgumentError


def pair(value, argument, owner):
    """`value` (an int or a pair of ints, each >= 1) as a pair; raises naming `argument`."""
    values = (value, value) if isinstance(value, int) else value
    if (
        not isinstance(values, (tuple, list))
        or len(values) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values)
    ):
        raise InvalidArgumentError(f"{owner}: {argument} must be a positive integer or a pair of them, got {argument}={value!r}")
    return tuple(int(v) for v in values)


def check_padding(padding, owner):
    """``"valid"``, ``"same"`` or an integer pad >= 0 (the book's ``pad``); returns it."""
    if padding in ("valid", "same") or (isinstance(padding, int) and not isinstance(padding, bool) and padding >= 0):
        return padding
    raise InvalidArgumentError(f"{owner}: padding must be 'valid', 'same' or an integer >= 0, got padding={padding!r}")


def check_data_format(data_format, owner):
    if data_format not in ("channels_first", "channels_last"):
        raise InvalidArgumentError(
            f"{owner}: data_format must be 'channels_first' or 'channels_last', got data_format={data_format!r}"
        )
    return data_format


def padding_amounts(size, kernel, stride, padding):
    """(before, after) padding of one axis of length `size`.

    ``"valid"``: none. ``"same"``: enough for ceil(size / stride) outputs; an
    odd total puts the extra cell after (bottom, right), as Keras does. An
    integer ``p``: ``p`` on both sides, as in the book.
    """
    if padding == "valid":
        return 0, 0
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2
    return padding, padding


def output_length(size, kernel, stride, pads):
    """Outputs along one axis: ``(size + before + after - kernel) // stride + 1``; < 1 if impossible."""
    return (size + pads[0] + pads[1] - kernel) // stride + 1


def to_channels_first(shape, data_format):
    """(N, H, W, C) -> (N, C, H, W) for channels-last shapes; others unchanged."""
    if data_format == "channels_last":
        return (shape[0], shape[3], shape[1], shape[2])
    return tuple(shape)


def from_channels_first(shape, data_format):
    """(N, C, H, W) -> (N, H, W, C) for channels-last layers; others unchanged."""
    if data_format == "channels_last":
        return (shape[0], shape[2], shape[3], shape[1])
    return tuple(shape)


def window_geometry(owner, input_shape, kernel, strides, padding, data_format):
    """Padding per axis and output size (OH, OW) for a 4-d `input_shape`; raises if impossible.

    Returns ``(pads, (OH, OW))`` with ``pads = ((top, bottom), (left, right))``.
    """
    if len(input_shape) != 4:
        layout = "(batch, channels, height, width)" if data_format == "channels_first" else "(batch, height, width, channels)"
        raise InvalidArgumentError(f"{owner}: expected 4-d inputs {layout}, got input_shape={tuple(input_shape)}")
    _, _, h, w = to_channels_first(input_shape, data_format)
    pads = tuple(padding_amounts(n, k, s, padding) for n, k, s in zip((h, w), kernel, strides))
    out = tuple(output_length(n, k, s, p) for n, k, s, p in zip((h, w), kernel, strides, pads))
    if min(out) < 1:
        padded = (h + sum(pads[0]), w + sum(pads[1]))
        raise InvalidArgumentError(
            f"{owner}: the window {kernel} is larger than the padded input {padded} "
            f"(input_shape={tuple(input_shape)}, padding={padding!r}, data_format={data_format!r})"
        )
    return pads, out


def pad(x, pads, value=0.0):
    """`x` (N, C, H, W) with `pads` ((top, bottom), (left, right)) cells of `value` around it (a copy)."""
    xp = get_backend().xp
    if not any(pads[0]) and not any(pads[1]):
        return x
    n, c, h, w = x.shape
    (top, bottom), (left, right) = pads
    out = xp.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def im2col(x, kernel, strides, pads, value=0.0, out=None):
    """The column matrix of `x` (N, C, H, W): shape (N, C*kh*kw, OH*OW).

    ``col[n, (c, i, j), (oy, ox)] = x_padded[n, c, oy*sh + i, ox*sw + j]``,
    where `x_padded` has `pads` cells of `value` around `x` (0 for a
    convolution, -inf for max pooling, so that padding never wins).
    `out`: an earlier result to write over when its shape, dtype and type
    match (a convolution passes last step's); otherwise a new array.
    """
    backend = get_backend()
    # The backend may write the matrix in one compiled pass, the same numbers
    # (backends/numpy_fused_im2col.py); these lines are the reference.
    col = backend.fused_im2col(x, kernel, strides, pads, value, out)
    if col is not None:
        return col
    xp = backend.xp
    kh, kw = kernel
    n, c, h, w = x.shape
    oh, ow = (output_length(size, k, s, p) for size, k, s, p in zip((h, w), kernel, strides, pads))
    img = pad(x, pads, value)
    if out is not None and out.shape == (n, c * kh * kw, oh * ow) and out.dtype == x.dtype and type(out) is type(x):
        col = out.reshape(n, c, kh * kw, oh, ow)  # a view: `out` is C-contiguous, being an earlier result
    else:
        col = xp.empty((n, c, kh * kw, oh, ow), dtype=x.dtype)
    for k, view in enumerate(window_views(img, kernel, strides, (oh, ow))):  # kh*kw strided copies of the batch
        col[:, :, k] = view
    return col.reshape(n, c * kh * kw, oh * ow)


def col2im(col, input_shape, kernel, strides, pads):
    """The adjoint of `im2col`: column gradients (N, C*kh*kw, OH*OW) -> dx of `input_shape` (N, C, H, W).

    Each input cell gets the sum over every window that covered it. For one
    offset (i, j) the windows touch distinct cells, so a strided ``+=`` adds
    them without the scatter-add that arbitrary repeated indices would need;
    the overlaps are summed across the kh*kw offsets.
    """
    backend = get_backend()
    # The backend may add the columns back in one compiled pass, with the
    # same numbers (backends/numpy_fused_col2im.py); these lines are the reference.
    dx = backend.fused_col2im(col, input_shape, kernel, strides, pads)
    if dx is not None:
        return dx
    xp = backend.xp
    n, c, h, w = input_shape
    (top, bottom), (left, right) = pads
    oh, ow = (output_length(size, k, s, p) for size, k, s, p in zip((h, w), kernel, strides, pads))
    col = col.reshape(n, c, kernel[0] * kernel[1], oh, ow)
    img = xp.zeros((n, c, h + top + bottom, w + left + right), dtype=col.dtype)
    for k, view in enumerate(window_views(img, kernel, strides, (oh, ow))):
        view += col[:, :, k]
    return img[:, :, top:top + h, left:left + w]


def window_views(img, kernel, strides, out_size):
    """The kh*kw strided views of the padded `img` (N, C, H', W'), one per window offset (i, j), row by row.

    View (i, j) has shape (N, C, OH, OW): cell (i, j) of every window,
    ``img[:, :, oy*sh + i, ox*sw + j]``. Slices, not copies: writing to a
    view writes to `img`.
    """
    (kh, kw), (sh, sw), (oh, ow) = kernel, strides, out_size
    return [img[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] for i in range(kh) for j in range(kw)]
