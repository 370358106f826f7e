"""`Sequential`: a stack of layers with Keras's training interface.

Training is the book's loop, nothing hidden: forward through the layers, the
loss layer's forward and backward, each layer's backward in reverse order
(each reusing what its forward cached), then one optimizer update.
"""

import numbers

from framework import distributed, optimizers, plugin_checks, registry
from framework.errors import InvalidArgumentError, NotCompiledError
from framework.layers.base import Layer, LossLayer
from framework.layers.input import Input
from framework.models import fusion, structure
from framework.models.summary import summary_text
from framework.models.conveniences import KerasConveniences
from framework.training import loop
from framework.training.metric_tracker import metric_keys


MAX_NAME_LENGTH = 1024  # a checkpoint records the name; bounded so every saved file loads


class Sequential(KerasConveniences):
    """A linear stack of layers.

    The loss is either the last layer (e.g. `SoftmaxWithLoss`, as in the
    book) or named in `compile` (``loss="sparse_categorical_crossentropy"``),
    which appends that loss layer. `predict` returns what the loss layer
    returns at inference: class probabilities for cross-entropy. Keras's
    conveniences (``model(x)``, `get_layer`, `pop`, `to_json`, ...) and the
    file methods (`save`, `save_weights`, `load_weights`) come from
    `KerasConveniences`.
    """

    def __init__(self, layers=None, name="sequential"):
        self.name = "sequential" if name is None else name  # None: the default name, as Keras gives one
        self._layers = []
        self._names, self._ids, self._next_number = set(), set(), {}  # make add() O(1): loading 10,000 layers
        self.input_shape = None  # (None, features...) once built
        self.optimizer = None
        self.loss = None  # the name or layer given to compile
        self.metrics = []  # metric names, functions or objects, as given to compile
        self._input = None  # one sample's shape, from Input(...) or a first layer's input_shape=
        self._compiled_loss_layer = None
        self._fused_layer = None  # the trailing layer whose activation compile fused into the loss (see fusion)
        self.stop_training = False
        self._fitting = False  # compile() is refused while fit runs (see compile)
        self.history = None
        self.shuffle_seed = None  # drawn at the first fit; orders every epoch's data
        self.epochs_done = 0  # epochs completed; saved in checkpoints, to resume with initial_epoch
        if layers is not None:
            if isinstance(layers, Layer) or not hasattr(layers, "__iter__"):
                raise InvalidArgumentError(f"Sequential: layers must be a list of layers, got {type(layers).__name__}")
            for layer in layers:
                self.add(layer)

    @property
    def name(self):
        """The model's name: a non-empty string of at most `MAX_NAME_LENGTH` characters."""
        return self._name

    @name.setter
    def name(self, name):
        if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
            shown = f"a string of {len(name):,} characters" if isinstance(name, str) else f"{name!r:.80}"
            raise InvalidArgumentError(
                f"Sequential: name must be a non-empty string of at most {MAX_NAME_LENGTH:,} characters, got {shown}"
            )
        self._name = name

    # -- structure ------------------------------------------------------------
    @property
    def layers(self):
        """The layers, in order (a copy of the list)."""
        return list(self._layers)

    @property
    def built(self):
        return self.input_shape is not None

    def add(self, layer):
        """Append a layer (``affine_1``: numbered in this model); an `Input` or a first ``input_shape=`` builds it."""
        if isinstance(layer, Input):
            return structure.add_input(self, layer)
        if not isinstance(layer, Layer):
            raise InvalidArgumentError(f"Sequential.add: expected a Layer, got {type(layer).__name__}: {layer!r}")
        if layer.n_inputs != 1:
            raise InvalidArgumentError(
                f"Sequential.add: {type(layer).__name__} takes {layer.n_inputs} inputs; a Sequential layer takes one"
            )
        if len(self._ids) != len(self._layers):  # a layer was removed (pop): index the rest afresh
            self._names, self._ids = {each.name for each in self._layers}, {id(each) for each in self._layers}
            self._next_number = {}
        if id(layer) in self._ids:
            raise InvalidArgumentError(f"Sequential.add: layer {layer.name!r} is already in this model")
        if self._layers and isinstance(self._layers[-1], LossLayer):
            raise InvalidArgumentError(
                f"Sequential.add: the loss layer {self._layers[-1].name!r} must stay last; cannot add {layer.name!r} after it"
            )
        names = self._names
        name = layer.name
        if layer.auto_named:
            base = layer.base_name
            count = self._next_number.get(base, 0)  # resume where the last search stopped
            name = base if count == 0 else f"{base}_{count}"
            while name in names:
                count += 1
                name = f"{base}_{count}"
            self._next_number[base] = count
        elif name in names:
            raise InvalidArgumentError(f"Sequential.add: a layer named {name!r} is already in this model")
        if self.built:
            layer_input = self._output_shapes(self.input_shape)[-1]
            layer.compute_output_shape(layer_input)  # raises before anything changes
            if not layer.built:
                layer.build(layer_input)
        shape = structure.shape_to_build(self, layer)  # checks the layer against it before any change
        layer.name = name
        layer.needs_input_grad = bool(self._layers)  # nobody reads the first layer's dx
        fusion.undo(self)  # the fused activation is no longer the last layer
        self._layers.append(layer)
        self._names.add(name)
        self._ids.add(id(layer))
        if shape is not None:
            self.build((None, *shape))

    @property
    def _body(self):
        """The layers before the loss layer."""
        body = self._layers[:-1] if self._layers and isinstance(self._layers[-1], LossLayer) else self._layers
        if body and body[-1] is self._fused_layer and not hasattr(self._fused_layer, "activation_fused"):
            return body[:-1]  # a fused activation layer: the loss layer takes its input
        return body

    @property
    def _loss_layer(self):
        if self._layers and isinstance(self._layers[-1], LossLayer):
            return self._layers[-1]
        return self._compiled_loss_layer

    def _output_shapes(self, input_shape):
        """Each layer's output shape for `input_shape`, computed without data (checks the chain)."""
        shapes, shape = [], tuple(input_shape)
        for layer in self._layers:
            shape = tuple(layer.compute_output_shape(shape))
            shapes.append(shape)
        return shapes

    def compute_output_shape(self, input_shape):
        """The model's output shape for `input_shape` (the last non-loss layer's)."""
        shapes = self._output_shapes(input_shape)[: len(self._body)]
        return shapes[-1] if shapes else tuple(input_shape)

    def build(self, input_shape):
        """Create every layer's weights for inputs of `input_shape`, batch axis first: ``(None, 64)``."""
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 2 or not all(
            d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0) for d in input_shape[1:]
        ):
            raise InvalidArgumentError(
                f"build: input_shape must be (batch, features, ...) with positive feature sizes, got {input_shape!r}"
            )
        if not self._layers:
            raise InvalidArgumentError("build: the model has no layers; add some first")
        shape = (None, *(int(d) for d in input_shape[1:]))
        if self.built:
            if shape[1:] != self.input_shape[1:]:
                raise InvalidArgumentError(f"build: the model is built for inputs {self.input_shape}, got {shape}")
            return
        # First check the whole chain of shapes, so that a mismatch anywhere
        # raises before any layer has created weights.
        layer_input = shape
        for layer in self._layers:
            if layer.built and tuple(layer.input_shape[1:]) != layer_input[1:]:
                raise InvalidArgumentError(
                    f"build: layer {layer.name!r} was built for inputs {layer.input_shape}, but receives {layer_input}"
                )
            layer_input = layer.compute_output_shape(layer_input)
        if self._compiled_loss_layer is not None:
            self._compiled_loss_layer.compute_output_shape(layer_input)  # e.g. a softmax over one unit
        layer_input = shape
        for layer in self._layers:
            if not layer.built:
                try:
                    layer.build(layer_input)
                except MemoryError as exc:
                    raise InvalidArgumentError(f"build: layer {layer.name!r} cannot allocate its weights for inputs "
                                               f"{layer_input}: {exc}") from None
            layer_input = layer.compute_output_shape(layer_input)
        self.input_shape = shape
        distributed.broadcast_weights(self)  # data-parallel ranks start from rank 0's weights

    def count_params(self):
        return sum(layer.count_params() for layer in self._layers)

    # -- configuration ------------------------------------------------------
    def compile(self, optimizer="sgd", loss=None, metrics=None):
        """Choose the optimizer, the loss and the metrics.

        Args:
            optimizer: an `Optimizer` or a registered name (``"sgd"``, ``"adam"``).
            loss: None when the model ends with a loss layer; else a loss name
                (``"categorical_crossentropy"`` for one-hot labels,
                ``"sparse_categorical_crossentropy"`` for class indices) or a
                `LossLayer`.
            metrics: a list of names (``"accuracy"``, ``"mae"``, ``"auc"``),
                functions ``fn(y_true, y_pred)`` or `Metric` objects; see
                `framework.metrics`.

        Unknown names raise `UnknownNameError` here, listing the known ones.
        Calling it while `fit` runs (from a callback) raises
        `InvalidArgumentError`: Keras gives that no meaning either (its
        compile discards the train function that fit is running), so the
        settings of a running fit never change under it. Change the
        optimizer's ``learning_rate`` instead, or compile between fits.
        """
        if self._fitting:
            raise InvalidArgumentError(
                "compile: called while fit is running (from a callback?); compile before fit or after it returns, "
                "or change model.optimizer.learning_rate"
            )
        optimizer = optimizers.get(optimizer)
        ends_with_loss = bool(self._layers) and isinstance(self._layers[-1], LossLayer)
        loss_layer = None
        if loss is None:
            if not ends_with_loss:
                raise InvalidArgumentError(
                    "compile: no loss; give loss='sparse_categorical_crossentropy' (or another name: "
                    f"{', '.join(registry.names('losses'))}) or end the model with a loss layer such as SoftmaxWithLoss"
                )
        elif ends_with_loss:
            raise InvalidArgumentError(
                f"compile: the model already ends with the loss layer {self._layers[-1].name!r}; got loss={loss!r} too"
            )
        elif isinstance(loss, LossLayer):
            loss_layer = loss
        elif isinstance(loss, str):
            entry = registry.get("losses", loss, what="loss")
            loss_layer = plugin_checks.check_loss_layer(entry.obj(), loss, entry)
        else:
            raise InvalidArgumentError(f"compile: loss must be a loss name or a LossLayer, got {loss!r}")
        if metrics is None:
            metrics = []
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            raise InvalidArgumentError(f"compile: metrics must be a list of names such as ['accuracy'], got {metrics!r}")
        metric_keys(metrics)  # unknown names and clashing keys raise here
        if self.built and loss_layer is not None:  # it checks the outputs it gets: a softmax over one unit is refused
            loss_layer.compute_output_shape(self._output_shapes(self.input_shape)[-1])
        fusion.apply(self, self._layers[:-1] if ends_with_loss else self._layers, loss)
        self.optimizer = optimizer
        self.loss = loss
        self._compiled_loss_layer = loss_layer
        self.metrics = list(metrics)

    @property
    def compiled(self):
        return self.optimizer is not None

    def _require_compiled(self, method):
        if not self.compiled:
            raise NotCompiledError(f"{method}: the model is not compiled; call model.compile(optimizer=..., ...) first")

    # -- the computation ----------------------------------------------------
    def _forward(self, x, training=False):
        for layer in self._body:
            x = layer.forward(x, training=training)
        return x

    def _backward(self, dout):
        for layer in reversed(self._body):
            dout = layer.backward(dout)
        return dout

    def _collect(self, attribute, trainable_only=False):
        """All layers' params (or grads) in one dict keyed "layer/param"; `trainable_only` skips frozen layers."""
        return {
            f"{layer.name}/{key}": value for layer in self._body if layer.trainable or not trainable_only
            for key, value in getattr(layer, attribute).items()
        }

    # -- training and inference (the loop lives in framework.training.loop) --
    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0, sampling="without_replacement", steps_per_epoch=None,
            class_weight=None, sample_weight=None):
        """Train for `epochs` epochs; each visits every sample exactly once.

        Returns a `History` whose ``history`` holds each epoch's ``loss``, the
        metrics, and ``val_loss``/``val_*`` when there is validation data
        (`validation_data=(x_val, y_val)`, or the last `validation_split` of
        the data, taken before shuffling, as in Keras), and ``learning_rate``,
        the rate of each epoch's last update.

        `sampling`: ``"without_replacement"`` (each epoch a permutation, in
        order if ``shuffle=False``) or ``"with_replacement"`` (each epoch draws
        n indices uniformly, so about 63% of the samples appear; `shuffle` is
        then ignored). Both are fixed by `fw.set_seed` and resume exactly.

        `x` may also be data read batch by batch: a ``numpy.memmap`` or
        ``h5py.Dataset`` (with `y`), a `fw.data.Sequence`, or a generator of
        ``(x, y)`` batches with `steps_per_epoch` batches per epoch.
        `sample_weight` (n,) or `class_weight` ``{class: weight}`` weigh each
        sample's loss and gradient: a batch's loss is ``sum(w_i * loss_i) / N``
        (`sample_weight` with in-memory arrays only).
        """
        self._fitting = True
        try:
            return loop.fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                            validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                            initial_epoch=initial_epoch, sampling=sampling, steps_per_epoch=steps_per_epoch,
                            class_weight=class_weight, sample_weight=sample_weight)
        finally:
            self._fitting = False

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        """One optimizer step on one batch; returns the loss, or ``[loss, *metrics]``."""
        return loop.train_on_batch(self, x, y, sample_weight=sample_weight, class_weight=class_weight)

    def evaluate(self, x=None, y=None, batch_size=32, verbose=0, return_dict=False, steps=None, sample_weight=None):
        """Loss and metrics on (x, y): the loss, or ``[loss, *metrics]``, or a dict with `return_dict`.

        `x` may be read batch by batch as in `fit`; a generator gives `steps`
        batches (None: until it is exhausted).
        """
        return loop.evaluate(self, x, y, batch_size=batch_size, verbose=verbose, return_dict=return_dict, steps=steps,
                             sample_weight=sample_weight)

    def predict(self, x, batch_size=32, verbose=0, steps=None):
        """Model outputs for `x` as a NumPy array: class probabilities for cross-entropy models.

        An empty `x` of shape (0, features) gives shape (0, outputs). `x` may be
        read batch by batch as in `fit` (batches of x, or of (x, y)); a
        generator gives `steps` batches (None: until it is exhausted).
        """
        return loop.predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps)

    # -- weights ------------------------------------------------------------
    def get_weights(self):
        """Copies of all weights as NumPy arrays, layer by layer: each layer's params, then its state (Keras 3's order)."""
        return [w for layer in self._layers for w in layer.get_weights()]

    def set_weights(self, weights):
        """Set all weights from a list shaped like `get_weights()`; checked whole before any change."""
        counts = [len(layer._weight_items()) for layer in self._layers]
        if not isinstance(weights, (list, tuple)) or len(weights) != sum(counts):
            count = len(weights) if isinstance(weights, (list, tuple)) else type(weights).__name__
            raise InvalidArgumentError(f"set_weights: expected a list of {sum(counts)} arrays, got {count}")
        checked, start = [], 0
        for layer, count in zip(self._layers, counts):
            checked.append(layer._check_weights(list(weights[start:start + count]), "set_weights"))
            start += count
        for layer, arrays in zip(self._layers, checked):
            layer._assign_weights(arrays)

    # -- display ------------------------------------------------------------
    def summary(self, print_fn=print):
        """Print each layer's name, type, output shape and parameter count, and the totals.

        `print_fn`: called once with the whole text (Keras's argument).
        """
        if not callable(print_fn):
            raise InvalidArgumentError(f"summary: print_fn must be callable, such as print, got {print_fn!r:.80}")
        if print_fn is print and not distributed.is_chief():
            return  # one summary per data-parallel job
        print_fn(summary_text(self))

    def __repr__(self):
        return f"Sequential(name={self.name!r}, layers={[layer.name for layer in self._layers]})"

    # -- config -------------------------------------------------------------
    def get_config(self):
        """``{"name", "input_shape", "layers"}``: each layer as its registered class name, package and config.

        A frozen layer's config also holds ``"trainable": false`` (Keras
        writes the flag always; here only when it differs from the default,
        so configs of unfrozen models are as before).
        """
        return structure.model_config(self)

    @classmethod
    def from_config(cls, config):
        """A new model from `get_config()`'s dict, built if it records an input shape.

        Layer classes are found only by registered name; see `framework.serialization`.
        """
        return structure.model_from_config(cls, config)
