"""Pooling: the max or the average of each window, per channel.

`MaxPooling2D` and `AveragePooling2D` are Keras's; `Pooling` is the book's
max pooling, ``Pooling(pool_h, pool_w, stride=1, pad=0)``.

The general path takes the windows with `im2col` (padding with -inf for
the max and leaving padded cells out of the average, as Keras does) and
returns the gradients with `col2im`; the backend may do max pooling's in
one compiled pass over the windows in place, with the same numbers. When
the windows tile the image (``strides == pool_size``, no padding: the
common 2x2 case) max pooling needs no copy of the windows at all: a
reshape to (N, C, OH, ph, OW, pw) is a view, and the max is taken one
axis at a time over a few strided slices.
Both paths give the first maximum of a window the whole gradient, as the
book's ``argmax`` does (ties are common after a ReLU).
"""

from framework.backend import get_backend
from framework.errors import InvalidArgumentError
from framework.layers import im2col as windows
from framework.layers.base import Layer


class _Pooling2D(Layer):
    """Shared by max and average pooling: shapes, layouts and config.

    Shapes: ``x`` (N, C, H, W) (or (N, H, W, C) with channels_last) ->
    ``out`` (N, C, OH, OW) (or (N, OH, OW, C)); OH as for a convolution.
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_first", name=None):
        super().__init__(name=name)
        owner = type(self).__name__
        self.pool_size = windows.pair(pool_size, "pool_size", owner)
        self.strides = self.pool_size if strides is None else windows.pair(strides, "strides", owner)
        self.padding = windows.check_padding(padding, owner)
        if isinstance(self.padding, int) and self.padding >= min(self.pool_size):
            raise InvalidArgumentError(
                f"{owner}: an integer padding must be smaller than the pool size {self.pool_size}, got padding={padding!r}"
            )
        self.data_format = windows.check_data_format(data_format, owner)
        self.x_shape = None
        self.pads = None

    def compute_output_shape(self, input_shape):
        _, (oh, ow) = windows.window_geometry(self.name, input_shape, self.pool_size, self.strides, self.padding,
                                              self.data_format)
        n, c = windows.to_channels_first(input_shape, self.data_format)[:2]
        return windows.from_channels_first((n, c, oh, ow), self.data_format)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        super().build(input_shape)

    def forward(self, x, training=False):
        if not self.built:
            self.build(x.shape)
        if self.data_format == "channels_last":
            x = x.transpose(0, 3, 1, 2)
        pads, out_size = windows.window_geometry(self.name, windows.from_channels_first(x.shape, self.data_format),
                                                 self.pool_size, self.strides, self.padding, self.data_format)
        self.x_shape, self.pads = x.shape, pads
        out = self._forward(x, pads, out_size)
        return out.transpose(0, 2, 3, 1) if self.data_format == "channels_last" else out

    def backward(self, dout):
        if self.data_format == "channels_last":
            dout = dout.transpose(0, 3, 1, 2)
        dx = self._backward(dout)
        return dx.transpose(0, 2, 3, 1) if self.data_format == "channels_last" else dx

    def _tiles(self, pads, out_size):
        """Whether the windows tile the image: stride == pool size and no padding."""
        return self.strides == self.pool_size and pads == ((0, 0), (0, 0))

    def get_config(self):
        return {"name": self.name, "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling2D(_Pooling2D):
    """The maximum of each (ph, pw) window: ``out[n, c, y, x] = max_{i,j} x_pad[n, c, y*sh + i, x*sw + j]``.

    Backward sends ``dout`` to the (first) maximum of each window, zero
    elsewhere; overlapping windows add up. With ``padding="same"`` the padded
    cells never win (they hold -inf), as in Keras.

    Args:
        pool_size: (ph, pw) or one int (default 2).
        strides: (sh, sw), one int, or None for `pool_size` (Keras's default).
        padding: ``"valid"``, ``"same"`` or an integer pad smaller than the pool.
        data_format: ``"channels_first"`` (default) or ``"channels_last"``.
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_first", name=None):
        super().__init__(pool_size, strides, padding, data_format, name=name)
        self.arg = None
        self.fast = False

    def _forward(self, x, pads, out_size):
        self.fast = self._tiles(pads, out_size)
        if self.fast:
            return self._forward_tiles(x, out_size)
        # The backend may take the windows' maxima in one compiled pass, with the
        # same numbers (backends/numpy_fused_max_pool_windows.py); these lines are the reference.
        fused = get_backend().fused_max_pool_windows(x, self.pool_size, self.strides, pads, out_size)
        if fused is not None:
            out, self.arg = fused
            return out
        n, c = x.shape[:2]
        col = windows.im2col(x, self.pool_size, self.strides, pads, value=float("-inf"))
        col = col.reshape(n, c, -1, out_size[0] * out_size[1])  # (N, C, ph*pw, OH*OW)
        self.arg = col.argmax(axis=2)  # the first maximum, as the book
        return col.max(axis=2).reshape(n, c, *out_size)

    def _backward(self, dout):
        if self.fast:
            return self._backward_tiles(dout)
        backend = get_backend()
        dx = backend.fused_max_pool_windows_backward(dout, self.arg, self.pool_size, self.strides, self.pads,
                                                     self.x_shape)
        if dx is not None:  # the lines below, in one compiled pass (as in forward)
            return dx
        xp = backend.xp
        n, c = dout.shape[:2]
        k = self.pool_size[0] * self.pool_size[1]
        d = dout.reshape(n, c, 1, -1)
        dcol = (xp.arange(k).reshape(1, 1, k, 1) == self.arg.reshape(n, c, 1, -1)) * d  # (N, C, ph*pw, OH*OW)
        return windows.col2im(dcol.reshape(n, c * k, -1), self.x_shape, self.pool_size, self.strides, self.pads)

    # -- windows that tile the image: no im2col -------------------------------
    def _forward_tiles(self, x, out_size):
        # The backend may take the maxima in one compiled pass, with the same
        # numbers and masks (backends/numpy_fused_pool.py); these lines are the reference.
        fused = get_backend().fused_max_pool(x, self.pool_size)
        if fused is not None:
            out, self.arg_h, self.arg_w = fused
            return out
        (oh, ow), (ph, pw) = out_size, self.pool_size
        n, c = x.shape[:2]
        x = x[:, :, : oh * ph, : ow * pw]  # "valid" drops the rows and columns no window covers
        # Max over each row's pw columns, then over the ph rows of those maxima:
        # the max of a window, one axis at a time, over strided views.
        rows, self.arg_w = _first_max([x.reshape(n, c, oh * ph, ow, pw)[..., j] for j in range(pw)])
        rows = rows.reshape(n, c, oh, ph, ow)
        out, self.arg_h = _first_max([rows[:, :, :, i, :] for i in range(ph)])
        return out

    def _backward_tiles(self, dout):
        backend = get_backend()
        dx = backend.fused_max_pool_backward(dout, self.arg_h, self.arg_w, self.pool_size, self.x_shape)
        if dx is not None:  # the lines below, in one compiled pass (as in forward)
            return dx
        xp = backend.xp
        (ph, pw), (n, c, h, w) = self.pool_size, self.x_shape
        oh, ow = dout.shape[2:]
        drows = _spread(dout, self.arg_h, ph, axis=3)  # (N, C, OH, ph, OW)
        dx = _spread(drows.reshape(n, c, oh * ph, ow), self.arg_w, pw, axis=4)  # (N, C, OH*ph, OW, pw)
        dx = dx.reshape(n, c, oh * ph, ow * pw)
        if dx.shape[2:] != (h, w):  # the uncovered edge gets no gradient
            full = xp.zeros(self.x_shape, dtype=dx.dtype)
            full[:, :, : oh * ph, : ow * pw] = dx
            dx = full
        return dx


def _first_max(views):
    """Elementwise max of same-shaped arrays and the index of the first that attains it.

    With two arrays (a 2-wide window) the index is the boolean "the second
    wins": an int array and a `where` per step cost twice the time.
    """
    xp = get_backend().xp
    best, arg = views[0], None
    for k, view in enumerate(views[1:], start=1):
        wins = view > best  # strictly greater: an earlier maximum keeps a tie
        best = xp.maximum(best, view)
        arg = wins if arg is None else get_backend().where(wins, xp.int8(k), arg)
    if arg is None:  # a window 1 wide: the only cell wins
        arg = xp.zeros(best.shape, dtype=bool)
    return best, arg


def _spread(d, arg, count, axis):
    """The adjoint of `_first_max`: `d` goes to position ``arg`` of a new axis of length `count`."""
    xp = get_backend().xp
    shape = list(d.shape)
    shape.insert(axis, count)
    out = xp.empty(shape, dtype=d.dtype)
    at = [(slice(None),) * axis + (k,) for k in range(count)]
    if count == 2:  # `arg` is "the second wins": one product, and the first gets the rest
        second = d * arg
        out[at[1]] = second
        out[at[0]] = d - second
        return out
    for k in range(count):
        out[at[k]] = d * (arg == k)
    return out


class AveragePooling2D(_Pooling2D):
    """The mean of each window: ``out[n, c, y, x] = sum over the window / cells``.

    With ``padding="same"`` the padded cells take no part: ``cells`` counts
    only the real ones (as Keras). Backward spreads ``dout / cells`` evenly
    over the window's real cells; overlapping windows add up.

    No copy of the windows is made (as `im2col` would): the sum adds the
    ph*pw strided views of the image to zeros, cell (0, 0) of every window
    first, then (0, 1) and so on, row by row; the backward adds each
    window's share to the same views of a zero gradient, which is what
    `col2im` does with the shares (so an overlap adds up in the same order).

    Args: as `MaxPooling2D`.
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_first", name=None):
        super().__init__(pool_size, strides, padding, data_format, name=name)
        self.cells = None

    def _forward(self, x, pads, out_size):
        backend = get_backend()
        xp = backend.xp
        # The number of real cells in each window: the windows of an image of ones.
        ones = windows.pad(xp.ones((1, 1, *x.shape[2:]), dtype=x.dtype), pads)
        self.cells = sum(windows.window_views(ones, self.pool_size, self.strides, out_size))  # (1, 1, OH, OW)
        if self._tiles(pads, out_size):
            # The backend may take the tiles' means in one compiled pass, with the
            # same numbers (backends/numpy_fused_avg_pool.py); the lines below are the reference.
            out = backend.fused_average_pool(x, self.pool_size)
            if out is not None:
                return out
        # Padded cells are zeros: they add nothing, and `cells` leaves them out.
        views = windows.window_views(windows.pad(x, pads), self.pool_size, self.strides, out_size)
        total = xp.zeros(views[0].shape, dtype=x.dtype)  # from +0.0, as NumPy's sum: a window of -0.0 gives +0.0
        for view in views:
            total += view
        return total / self.cells

    def _backward(self, dout):
        backend = get_backend()
        xp = backend.xp
        if self._tiles(self.pads, None):
            dx = backend.fused_average_pool_backward(dout, self.pool_size, self.x_shape)
            if dx is not None:  # the lines below, in one compiled pass (as in forward)
                return dx
        share = dout / self.cells
        n, c, h, w = self.x_shape
        (top, bottom), (left, right) = self.pads
        dx = xp.zeros((n, c, h + top + bottom, w + left + right), dtype=dout.dtype)
        for view in windows.window_views(dx, self.pool_size, self.strides, dout.shape[2:]):
            view += share  # each cell of a window gets the window's share
        return dx[:, :, top:top + h, left:left + w]


class Pooling(MaxPooling2D):
    """The book's max pooling: ``Pooling(pool_h, pool_w, stride=1, pad=0)``.

    The same layer as ``MaxPooling2D((pool_h, pool_w), strides=stride,
    padding=pad)``, with the book's arguments and defaults (stride 1). The
    padded cells never win (-inf), as in `MaxPooling2D`.
    """

    def __init__(self, pool_h, pool_w, stride=1, pad=0, data_format="channels_first", name=None):
        super().__init__((pool_h, pool_w), stride, pad, data_format, name=name)

    def get_config(self):
        return {"name": self.name, "pool_h": self.pool_size[0], "pool_w": self.pool_size[1],
                "stride": list(self.strides), "pad": self.padding, "data_format": self.data_format}


class GlobalAveragePooling2D(Layer):
    """The mean over height and width: (N, C, H, W) -> (N, C) (or (N, H, W, C) -> (N, C)).

    Backward spreads ``dout / (H*W)`` evenly over the image.

    Args:
        data_format: ``"channels_first"`` (default) or ``"channels_last"``.
        keepdims: keep the spatial axes with length 1, as Keras's option.
    """

    def __init__(self, data_format="channels_first", keepdims=False, name=None):
        super().__init__(name=name)
        self.data_format = windows.check_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        self.x_shape = None

    @property
    def _axes(self):
        return (2, 3) if self.data_format == "channels_first" else (1, 2)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise InvalidArgumentError(f"{self.name}: expected 4-d image inputs, got input_shape={tuple(input_shape)}")
        if self.keepdims:
            return tuple(1 if axis in self._axes else d for axis, d in enumerate(input_shape))
        return tuple(d for axis, d in enumerate(input_shape) if axis not in self._axes)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        super().build(input_shape)

    def forward(self, x, training=False):
        if not self.built:
            self.build(x.shape)
        self.x_shape = x.shape
        return x.mean(axis=self._axes, keepdims=self.keepdims)

    def backward(self, dout):
        xp = get_backend().xp
        cells = self.x_shape[self._axes[0]] * self.x_shape[self._axes[1]]
        if not self.keepdims:
            dout = xp.expand_dims(dout, self._axes)
        dx = xp.empty(self.x_shape, dtype=dout.dtype)
        dx[...] = dout / cells
        return dx

    def get_config(self):
        return {"name": self.name, "data_format": self.data_format, "keepdims": self.keepdims}
