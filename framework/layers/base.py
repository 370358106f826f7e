"""The layer contract, shared by built-in and plugin layers.

A layer is a node of the computational graph with a hand-written derivative:

* ``build(input_shape)`` creates every parameter (``input_shape`` includes the
  batch axis, which may be None);
* ``forward(x, training=False)`` computes the output and caches what
  ``backward`` will need; it never modifies ``x``;
* ``backward(dout)`` takes dL/dout, *overwrites* ``grads`` (same keys as
  ``params``) and returns dL/dx; it never modifies ``dout``.

Layers take their array module from the current backend (``self.xp``), so the
same code runs on NumPy and CuPy.
"""

import re

from framework.backend import get_backend
from framework.errors import InvalidArgumentError


def _snake_case(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class Layer:
    """Base class of all layers.

    Attributes:
        name: unique within a model; by default the class name in snake case,
            numbered by the model (``affine``, ``affine_1``, ...).
        params: the trainable arrays, e.g. ``{"W": ..., "b": ...}``.
        grads: dL/d(param) for each key of ``params``, set by ``backward``.
        built: whether ``build`` has created the parameters.
        needs_input_grad: False lets ``backward`` skip dL/dx (a model sets it
            on its first layer, whose dx nobody reads).
    """

    n_inputs = 1  # AddLayer/MulLayer take two and cannot sit in a Sequential
    default_name = None  # class name in snake case unless a subclass sets it

    def __init__(self, name=None):
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise InvalidArgumentError(f"{type(self).__name__}: name must be a non-empty string without '/', got {name!r}")
        self.base_name = self.default_name or _snake_case(type(self).__name__)
        self.name = name or self.base_name
        self.auto_named = name is None
        self.params = {}
        self.grads = {}
        self.built = False
        self.input_shape = None
        self.needs_input_grad = True

    @property
    def xp(self):
        """The current backend's array module (``numpy`` or ``cupy``)."""
        return get_backend().xp

    def build(self, input_shape):
        """Create the parameters for inputs of `input_shape` ``(batch, ...)``."""
        self.input_shape = tuple(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        """Output shape for `input_shape`, without data. Default: unchanged."""
        return tuple(input_shape)

    def forward(self, x, training=False):
        """The output for `x` (batch axis first); caches what `backward` needs.

        Args:
            x: the input, never modified.
            training: True during `fit` (Dropout and BatchNorm act on it).
        """
        raise NotImplementedError

    def backward(self, dout):
        """dL/dx from dL/dout (shaped like the output); overwrites `grads`, never modifies `dout`."""
        raise NotImplementedError

    def count_params(self):
        """The number of numbers in `params`."""
        return sum(int(p.size) for p in self.params.values())

    def get_config(self):
        """The constructor's arguments: ``type(layer).from_config(layer.get_config())`` rebuilds it."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class LossLayer(Layer):
    """A layer that ends a model: ``forward(x, t)`` returns the mean loss over the batch.

    ``predict(x)`` is what the model returns at inference (e.g. class
    probabilities); ``prepare_targets`` checks and converts a data set's
    targets once, on the host, before training.
    """

    def forward(self, x, t):
        """The mean loss over the batch of scores `x` against targets `t`."""
        raise NotImplementedError

    def backward(self, dout=1.0):
        """dL/dx, scaled by `dout` (1 when the loss is the final output)."""
        raise NotImplementedError

    def predict(self, x):
        """What the model returns at inference for scores `x` (default: `x` itself)."""
        return x

    def prepare_targets(self, t, output_shape, argument="y"):
        """Check host targets `t` against the model's `output_shape`; return them ready for `forward`."""
        return t
