"""Structural conveniences of `Sequential`: `Input`, ``input_shape=``, `get_layer`, `pop`, its config.

They change only the list of layers and the input shape; weights are
created by `Sequential.build`, as always.
"""

import numbers

from framework.errors import InvalidArgumentError
from framework.layers.base import Layer, LossLayer


def add_input(model, spec):
    """Record an `Input`'s shape; the model builds when its first layer arrives."""
    if model._layers or model._input is not None or model.built:
        raise InvalidArgumentError(
            f"Sequential.add: an Input must be the model's first element, got {spec!r} after "
            f"{[layer.name for layer in model._layers] or 'another Input'}"
        )
    model._input = spec.shape


def shape_to_build(model, layer):
    """The sample shape to build `model` for once `layer` is appended, or None; checks `layer` against it.

    That is the `Input`'s shape, or the first layer's ``input_shape=``;
    Keras ignores ``input_shape`` on later layers, and so does this.
    """
    if model.built:
        return None
    shape = model._input
    if shape is None and not model._layers:
        shape = layer.declared_input_shape
    if shape is None:
        return None
    input_shape = (None, *shape)
    if model._layers:
        input_shape = model._output_shapes(input_shape)[-1]
    layer.compute_output_shape(input_shape)  # raises before the layer joins the model
    return shape


def declared_input_shape(model):
    """``[None, *shape]`` of an unbuilt model's `Input`, for its config; else None."""
    return None if model._input is None else [None, *model._input]


def restore_input_shape(model, input_shape):
    """Build `model` from a config's input shape, or keep it as an `Input` if it has no layers yet."""
    if model._layers:
        model.build(input_shape)
    else:
        model._input = tuple(input_shape[1:])


def get_layer(model, name=None, index=None):
    """See `Sequential.get_layer`."""
    layers = model._layers
    if (name is None) == (index is None):
        raise InvalidArgumentError(f"get_layer: give exactly one of name and index, got name={name!r}, index={index!r}")
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not -len(layers) <= index < len(layers):
            raise InvalidArgumentError(
                f"get_layer: index must be an integer in [{-len(layers)}, {len(layers)}), got index={index!r}"
            )
        return layers[index]
    for layer in layers:
        if layer.name == name:
            return layer
    raise InvalidArgumentError(
        f"get_layer: no layer named {name!r}; the layers are {[layer.name for layer in layers]}"
    )


def pop(model):
    """See `Sequential.pop`."""
    if not model._layers:
        raise InvalidArgumentError("pop: the model has no layers to remove")
    layer = model._layers.pop()
    if not model._layers:
        # As in Keras, the input shape outlives the layers: the next layer is built for it.
        model._input = model.input_shape[1:] if model.built else model._input
        model.input_shape = None
    if isinstance(layer, LossLayer) and model.compiled and model.loss is None:
        # The model was compiled to train through this very layer: it has no loss now.
        model.optimizer = None
    return layer


def model_config(model):
    """`Sequential.get_config`: ``{"name", "input_shape", "layers"}``, each layer by registered name."""
    from framework import serialization

    return {
        "name": model.name,
        "input_shape": list(model.input_shape) if model.built else declared_input_shape(model),
        "layers": [_with_trainable(serialization.describe("layers", layer, f"layer {layer.name!r}"), layer)
                   for layer in model._layers],
    }


def model_from_config(cls, config):
    """`Sequential.from_config`: a new model of class `cls`, built if `config` records an input shape."""
    from framework import serialization

    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise InvalidArgumentError(f"Sequential.from_config: expected a dict with a list 'layers', got {config!r:.80}")
    name = config.get("name", "sequential")
    if not isinstance(name, str):
        raise InvalidArgumentError(f"Sequential.from_config: name must be a string, got {name!r:.80}")
    layers = [
        serialization.build("layers", spec, f"layers[{i}]", base=Layer) for i, spec in enumerate(config["layers"])
    ]
    model = cls(layers, name=name)
    input_shape = config.get("input_shape")
    if input_shape is not None:
        if not isinstance(input_shape, list) or not input_shape or input_shape[0] is not None:
            raise InvalidArgumentError(
                f"Sequential.from_config: input_shape must be [null, features...], got {input_shape!r:.80}"
            )
        restore_input_shape(model, tuple(input_shape))
    return model


def _with_trainable(spec, layer):
    """`spec` with ``"trainable": false`` in its config when `layer` is frozen (`Layer.from_config` reads it)."""
    if not layer.trainable:
        spec["config"] = {**spec["config"], "trainable": False}
    return spec
