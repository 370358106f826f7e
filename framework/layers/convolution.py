"""2-d convolution through im2col: ``out = W * x + b``. Keras calls it ``Conv2D``."""

from framework import activations, initializers, regularizers
from framework.backend import get_backend
from framework.config import floatx
from framework.errors import InvalidArgumentError
from framework.layers import im2col as windows
from framework.layers.base import Layer


class Convolution(Layer):
    """2-d convolution (cross-correlation, as in the book and Keras).

    ``out[n, f, y, x] = b[f] + sum_{c,i,j} W[f, c, i, j] * x_pad[n, c, y*sh + i, x*sw + j]``

    Shapes: ``x`` (N, C, H, W), or (N, H, W, C) with
    ``data_format="channels_last"``; ``W`` (F, C, kh, kw) and ``b`` (F,) in
    the book's layout whatever the data format; ``out`` (N, F, OH, OW) or
    (N, OH, OW, F).

    With ``col = im2col(x)`` (N, C*kh*kw, OH*OW) and ``Wm = W.reshape(F, -1)``::

        out  = Wm @ col + b          dW = sum_n dout_n @ col_n.T
        db   = sum of dout over n, y, x      dx = col2im(Wm.T @ dout)

    Args:
        filters: F, the number of output channels.
        kernel_size: (kh, kw), or one int for a square window.
        strides: (sh, sw) or one int.
        padding: ``"valid"`` (none), ``"same"`` (ceil(n / stride) outputs;
            an odd total padding puts the extra row and column at the bottom
            and right, as Keras) or an integer pad on every side (the book).
        activation: a name such as ``"relu"`` applied to the output, or None.
        use_bias: whether to add ``b``.
        kernel_initializer: ``"he_normal"`` (default), another initializer
            name, a std, or a callable; called with Keras's kernel shape
            (kh, kw, C, F) so that fan-in and fan-out are Keras's.
        kernel_regularizer: None or a regularizer such as
            ``fw.regularizers.L2(1e-4)`` (or its name): backward adds its
            gradient to ``grads["W"]``, `regularization_loss` reports it.
        data_format: ``"channels_first"`` (the book's, default) or
            ``"channels_last"`` (Keras's default).
        W, b, stride, pad: the book's form ``Convolution(W=W, b=b, stride=1,
            pad=0)`` with given arrays; ``stride`` and ``pad`` are aliases of
            `strides` and `padding`.
    """

    def __init__(self, filters=None, kernel_size=None, strides=1, padding="valid", activation=None, use_bias=True,
                 kernel_initializer="he_normal", kernel_regularizer=None, data_format="channels_first", *, W=None,
                 b=None, stride=None, pad=None, name=None):
        super().__init__(name=name)
        owner = type(self).__name__
        if stride is not None:
            strides = stride
        if pad is not None:
            padding = pad
        if W is not None:
            if getattr(W, "ndim", None) != 4:
                raise InvalidArgumentError(f"{owner}: W must be a 4-d array (filters, channels, kh, kw), got {getattr(W, 'shape', W)!r}")
            shape = tuple(int(d) for d in W.shape)
            if filters is not None and filters != shape[0]:
                raise InvalidArgumentError(f"{owner}: filters={filters!r} does not match W of shape {shape}")
            if kernel_size is not None and windows.pair(kernel_size, "kernel_size", owner) != shape[2:]:
                raise InvalidArgumentError(f"{owner}: kernel_size={kernel_size!r} does not match W of shape {shape}")
            filters, kernel_size, use_bias = shape[0], shape[2:], b is not None
            if b is not None and tuple(b.shape) != (filters,):
                raise InvalidArgumentError(f"{owner}: b must have shape ({filters},), got {tuple(b.shape)}")
        elif b is not None:
            raise InvalidArgumentError(f"{owner}: b given without W")
        if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
            raise InvalidArgumentError(f"{owner}: filters must be a positive integer, got filters={filters!r}")
        if kernel_size is None:
            raise InvalidArgumentError(f"{owner}: kernel_size is required (an int or a pair), got kernel_size=None")
        self.filters = filters
        self.kernel_size = windows.pair(kernel_size, "kernel_size", owner)
        self.strides = windows.pair(strides, "strides", owner)
        self.padding = windows.check_padding(padding, owner)
        self.data_format = windows.check_data_format(data_format, owner)
        self.activation_name = activation
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self._init = initializers.get(kernel_initializer, "kernel_initializer")
        self._init_given = kernel_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer, "kernel_regularizer")
        if W is not None:
            backend = get_backend()
            self.params["W"] = backend.asarray(W)  # given arrays keep their dtype, as Affine's do
            if b is not None:
                self.params["b"] = backend.asarray(b)
        self.col = None
        self.x_shape = None
        self.pads = None

    def compute_output_shape(self, input_shape):
        pads, (oh, ow) = windows.window_geometry(self.name, input_shape, self.kernel_size, self.strides, self.padding,
                                                 self.data_format)
        channels = windows.to_channels_first(input_shape, self.data_format)[1]
        if "W" in self.params and self.params["W"].shape[1] != channels:
            raise InvalidArgumentError(
                f"{self.name}: W has shape {tuple(self.params['W'].shape)} but the inputs have {channels} channels "
                f"(input_shape={tuple(input_shape)}, data_format={self.data_format!r})"
            )
        return windows.from_channels_first((input_shape[0], self.filters, oh, ow), self.data_format)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # checks the shapes before creating anything
        if "W" not in self.params:
            xp = get_backend().xp
            channels = windows.to_channels_first(input_shape, self.data_format)[1]
            kh, kw = self.kernel_size
            kernel = self._init((kh, kw, channels, self.filters), floatx())  # Keras's layout for the fans
            self.params["W"] = xp.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
            if self.use_bias:
                self.params["b"] = initializers.zeros((self.filters,), floatx())
        super().build(input_shape)


    def forward(self, x, training=False):
        if not self.built:
            self.build(x.shape)
        if self.data_format == "channels_last":
            x = x.transpose(0, 3, 1, 2)  # a view: im2col copies from it anyway
        pads, (oh, ow) = windows.window_geometry(self.name, windows.from_channels_first(x.shape, self.data_format),
                                                 self.kernel_size, self.strides, self.padding, self.data_format)
        n = x.shape[0]
        W = self.params["W"]
        self.x_shape = x.shape
        self.pads = pads
        # Last step's column matrix is written over, not dropped for a new one: glibc
        # maps an array over 32 MB afresh (a 3x3 convolution of 30 channels on 100
        # 24 x 24 images makes 62 MB), and its page faults cost more than the copy.
        self.col = windows.im2col(x, self.kernel_size, self.strides, pads, out=self.col)  # (N, C*kh*kw, OH*OW)
        out = W.reshape(W.shape[0], -1) @ self.col  # (N, F, OH*OW): already the image layout
        if self.use_bias:
            # b spread over a whole (F, OH*OW) map rather than a (F, 1) column: the
            # same sums, but NumPy adds arrays of one shape in a long vectorised loop,
            # twice as fast on a SimpleConvNet's maps as a column broadcast along each row.
            out += self.xp.repeat(self.params["b"], out.shape[-1]).reshape(-1, out.shape[-1])
        out = out.reshape(n, self.filters, oh, ow)
        if self.data_format == "channels_last":
            out = out.transpose(0, 2, 3, 1)
        if self.activation is not None:
            out = self.activation.forward(out, training)
        return out

    def backward(self, dout):
        if self.activation is not None:
            dout = self.activation.backward(dout)
        if self.data_format == "channels_last":
            dout = dout.transpose(0, 3, 1, 2)
        n = dout.shape[0]
        W = self.params["W"]
        # (N, F, OH*OW), C-contiguous whatever layout `dout` came in (a channels-last
        # max pooling hands back channels-last memory): the sums below add in one order.
        d = self.xp.ascontiguousarray(dout).reshape(n, self.filters, -1)
        self.grads["W"] = (d @ self.col.transpose(0, 2, 1)).sum(axis=0).reshape(W.shape)
        if self.kernel_regularizer is not None:
            self.grads["W"] += self.kernel_regularizer.gradient(W)
        if self.use_bias:
            self.grads["b"] = d.sum(axis=(0, 2))
        if not self.needs_input_grad:
            return None
        dcol = W.reshape(W.shape[0], -1).T @ d  # (N, C*kh*kw, OH*OW)
        dx = windows.col2im(dcol, self.x_shape, self.kernel_size, self.strides, self.pads)
        if self.data_format == "channels_last":
            dx = dx.transpose(0, 2, 3, 1)
        return dx

    def regularization_loss(self):
        """The kernel regularizer's penalty on ``W`` (0.0 without one)."""
        if self.kernel_regularizer is None:
            return 0.0
        return self.kernel_regularizer(self.params["W"])

    def get_config(self):
        init = initializers.to_config(self._init, self._init_given)
        if isinstance(self._init_given, (int, float)) and not isinstance(self._init_given, bool):
            init = self._init_given  # the book's std, kept as given
        return {"name": self.name, "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "activation": self.activation_name,
                "use_bias": self.use_bias,
                # a user callable cannot be described; the weights it drew are saved anyway
                "kernel_initializer": "he_normal" if init is None else init,
                "kernel_regularizer": regularizers.to_config(self.kernel_regularizer, "kernel_regularizer"),
                "data_format": self.data_format}


Conv2D = Convolution
