"""The layer contract, shared by built-in and plugin layers.

A layer is a node of the computational graph with a hand-written derivative:

* ``build(input_shape)`` creates every parameter (``input_shape`` includes the
  batch axis, which may be None);
* ``forward(x, training=False)`` computes the output and caches what
  ``backward`` will need; it never modifies ``x``;
* ``backward(dout)`` takes dL/dout, *overwrites* ``grads`` (same keys as
  ``params``) and returns dL/dx; it never modifies ``dout``.

Non-trainable arrays (BatchNormalization's moving statistics) live in
``state``: no gradients, never touched by an optimizer, saved beside
``params``. ``trainable = False`` freezes a layer: the train step hands its
params to no optimizer from the next step on.

Layers take their array module from the current backend (``self.xp``), so the
same code runs on NumPy and CuPy.
"""

import functools
import inspect
import re

import numpy as np  # host copies of the weights (get_weights/set_weights)

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
        state: non-trainable arrays (e.g. moving statistics), updated by the
            layer itself in ``forward``; no gradients; saved with the weights.
        trainable: False freezes the layer (Keras's flag): the optimizer
            leaves its params alone; saved in the model's config.
        built: whether ``build`` has created the parameters.
        needs_input_grad: False lets ``backward`` skip dL/dx (a model sets it
            on its first layer, whose dx nobody reads).
    """

    n_inputs = 1  # AddLayer/MulLayer take two and cannot sit in a Sequential
    default_name = None  # class name in snake case unless a subclass sets it
    declared_input_shape = None  # from the ``input_shape=`` keyword: one sample's shape

    def __init_subclass__(cls, **kwargs):
        """Give every layer Keras's ``input_shape=`` keyword, whatever its own ``__init__`` takes.

        A first layer's ``input_shape`` builds its model at once (see
        `Sequential.add`); as in Keras, on later layers it is ignored.
        """
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None or "input_shape" in inspect.signature(init).parameters:
            return

        @functools.wraps(init)
        def __init__(self, *args, input_shape=None, **kw):
            if input_shape is not None:
                from framework.layers.input import check_input_shape

                input_shape = check_input_shape(input_shape, type(self).__name__, "input_shape")
            init(self, *args, **kw)
            if input_shape is not None:
                self.declared_input_shape = input_shape

        cls.__init__ = __init__

    def __init__(self, name=None):
        if name is not None and (not isinstance(name, str) or not name or "/" in name or len(name) > 1024):
            # Bounded, as a model's name is: a checkpoint records it, and must load again.
            raise InvalidArgumentError(f"{type(self).__name__}: name must be a non-empty string without '/' of at "
                                       f"most 1,024 characters, got {name!r:.80}")
        self.base_name = self.default_name or _snake_case(type(self).__name__)
        self.name = name or self.base_name
        self.auto_named = name is None
        self.params = {}
        self.grads = {}
        self.state = {}
        self.trainable = True
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

    def regularization_loss(self):
        """The penalty this layer's regularizers add to the loss (0.0 when it has none)."""
        return 0.0

    def count_params(self):
        """The number of numbers in `params` and `state` (Keras counts both)."""
        return sum(int(p.size) for p in (*self.params.values(), *self.state.values()))

    def get_weights(self):
        """Copies of the weights as NumPy arrays: `params`, then `state` (Keras's order)."""
        backend = get_backend()
        return [np.array(backend.to_numpy(p)) for p in (*self.params.values(), *self.state.values())]

    def set_weights(self, weights):
        """Set the weights from a list shaped like `get_weights()`; checked whole before any change."""
        self._assign_weights(self._check_weights(weights, f"{self.name}.set_weights"))

    def _weight_items(self):
        return [*self.params.items(), *self.state.items()]

    def _check_weights(self, weights, where):
        """Host arrays from `weights`, checked against this layer's weights in number, shape and dtype kind."""
        items = self._weight_items()
        if not isinstance(weights, (list, tuple)) or len(weights) != len(items):
            count = len(weights) if isinstance(weights, (list, tuple)) else type(weights).__name__
            raise InvalidArgumentError(
                f"{where}: expected a list of {len(items)} arrays for layer {self.name!r}, got {count}"
            )
        arrays = []
        for (key, p), w in zip(items, weights):
            w = np.asarray(w)
            if w.shape != tuple(p.shape):
                raise InvalidArgumentError(f"{where}: {self.name}/{key} has shape {tuple(p.shape)}, got {w.shape}")
            if w.dtype.kind not in "biuf":
                raise InvalidArgumentError(f"{where}: {self.name}/{key} must hold numbers, got dtype {w.dtype}")
            arrays.append(w)
        return arrays

    def _assign_weights(self, arrays):
        backend = get_backend()
        for (_, p), w in zip(self._weight_items(), arrays):
            p[...] = backend.asarray(w, dtype=p.dtype)  # in place: the optimizer holds no stale copies

    def get_random_state(self):
        """JSON-safe state of the layer's random stream, saved in checkpoints; None: it draws no random numbers."""
        return None

    def set_random_state(self, state):
        """Restore what `get_random_state` returned (a checkpoint calls it)."""
        if state is not None:
            raise InvalidArgumentError(f"{self.name}: a {type(self).__name__} has no random state, got {state!r:.80}")

    def get_config(self):
        """The constructor's arguments: ``type(layer).from_config(layer.get_config())`` rebuilds it."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        """``cls(**config)``; a ``"trainable"`` entry (written by a model's config) sets the flag."""
        config = dict(config)
        trainable = config.pop("trainable", True)
        if not isinstance(trainable, bool):
            raise InvalidArgumentError(f"{cls.__name__}: trainable must be true or false, got trainable={trainable!r}")
        layer = cls(**config)
        layer.trainable = trainable
        return layer

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class LossLayer(Layer):
    """A layer that ends a model: ``forward(x, t)`` returns the mean loss over the batch.

    ``predict(x)`` is what the model returns at inference (e.g. class
    probabilities); ``prepare_targets`` checks and converts a data set's
    targets once, on the host, before training.
    """

    sample_weight = None  # the weights of the last forward, or None

    def forward(self, x, t, sample_weight=None):
        """The mean loss over the batch of scores `x` against targets `t`.

        With `sample_weight` (a backend array of shape (N,)), the loss is
        ``sum(w_i * loss_i) / N``, as in Keras (see `weighted_mean`).
        """
        raise NotImplementedError

    def backward(self, dout=1.0):
        """dL/dx, scaled by `dout` (1 when the loss is the final output) and each sample's weight."""
        raise NotImplementedError

    def weighted_mean(self, losses, sample_weight=None):
        """``sum(w_i * losses_i) / N`` of the per-sample `losses` (N,); the plain mean without weights.

        Remembers `sample_weight` for `weigh_rows` in backward. The division
        is by the batch size N, not by the sum of the weights (Keras's rule):
        integer weights act as repeated samples within the batch.
        """
        self.sample_weight = sample_weight
        n = losses.shape[0]
        if sample_weight is not None:
            losses = losses * sample_weight
        return losses.sum() / n

    def weigh_rows(self, dx):
        """`dx` with each sample's row scaled by its weight from the last forward (in place)."""
        if self.sample_weight is not None:
            dx *= self.sample_weight.reshape((-1,) + (1,) * (dx.ndim - 1))
        return dx

    def predict(self, x):
        """What the model returns at inference for scores `x` (default: `x` itself)."""
        return x

    def prepare_targets(self, t, output_shape, argument="y"):
        """Check host targets `t` against the model's `output_shape`; return them ready for `forward`."""
        return t
