"""Keras layer configs <-> the framework's layers, and their weight layouts.

Only data is read from a Keras config: each ``class_name`` must be one of
`KERAS_TO_FRAMEWORK`'s keys, and every argument that changes the computation
is checked; anything else (a Lambda, a custom class, an unsupported option)
raises `UnsupportedKerasLayer` naming the layer. Nothing is imported or
evaluated.

Weight layouts: a Keras ``Dense`` kernel (in, out) is already the ``Affine``
``W``; a ``Conv2D`` kernel (kh, kw, in, out) is the book's (out, in, kh, kw)
transposed.
"""

import numpy as np  # host-side weight layouts only

from framework import activations, layers

KERAS_INPUT_LAYER = "InputLayer"


class UnsupportedKerasLayer(Exception):
    """A Keras layer (or option) this framework cannot reproduce exactly."""


def _pair(value, what, where):
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    raise UnsupportedKerasLayer(f"{where}: {what} must be an integer or a pair, got {value!r:.60}")


def _activation(name, where):
    name = "linear" if name is None else name
    if not isinstance(name, str) or name not in activations.names():
        raise UnsupportedKerasLayer(
            f"{where}: activation {name!r:.60} is not one of the framework's ({', '.join(activations.names())})"
        )
    return None if name == "linear" else name


def _require(config, key, allowed, where):
    value = config.get(key, allowed[0])
    if value not in allowed:
        raise UnsupportedKerasLayer(f"{where}: {key}={value!r:.60} is not supported (only {allowed!r})")
    return value


def _data_format(config, where):
    return _require(config, "data_format", ["channels_last", "channels_first", None], where) or "channels_last"


# -- Keras -> framework ----------------------------------------------------------
def _dense(config, name, where):
    use_bias = bool(config.get("use_bias", True))
    layer = layers.Affine(config["units"], activation=_activation(config.get("activation"), where),
                          use_bias=use_bias, name=name)
    return layer, [("params", "W", None)] + ([("params", "b", None)] if use_bias else [])


def _conv2d(config, name, where):
    if _pair(config.get("dilation_rate", 1), "dilation_rate", where) != (1, 1):
        raise UnsupportedKerasLayer(f"{where}: dilation_rate {config['dilation_rate']} is not supported")
    _require(config, "groups", [1], where)
    use_bias = bool(config.get("use_bias", True))
    layer = layers.Convolution(
        config["filters"], _pair(config["kernel_size"], "kernel_size", where),
        strides=_pair(config.get("strides", 1), "strides", where),
        padding=_require(config, "padding", ["valid", "same"], where),
        activation=_activation(config.get("activation"), where), use_bias=use_bias,
        data_format=_data_format(config, where), name=name,
    )
    # (kh, kw, in, out) -> (out, in, kh, kw)
    return layer, [("params", "W", (3, 2, 0, 1))] + ([("params", "b", None)] if use_bias else [])


def _pooling(cls):
    def make(config, name, where):
        layer = cls(pool_size=_pair(config.get("pool_size", 2), "pool_size", where),
                    strides=None if config.get("strides") is None else _pair(config["strides"], "strides", where),
                    padding=_require(config, "padding", ["valid", "same"], where),
                    data_format=_data_format(config, where), name=name)
        return layer, []

    return make


def _global_average_pooling(config, name, where):
    return layers.GlobalAveragePooling2D(data_format=_data_format(config, where),
                                         keepdims=bool(config.get("keepdims", False)), name=name), []


def _flatten(config, name, where):
    # Keras moves channels last before flattening a channels_first input; the
    # framework flattens in the array's own order: only the default agrees.
    _require(config, "data_format", ["channels_last", None], where)
    return layers.Flatten(name=name), []


def _dropout(config, name, where):
    return layers.Dropout(config["rate"], name=name), []


def _activation_layer(config, name, where):
    activation = _activation(config.get("activation"), where) or "linear"
    return layers.Activation(activation, name=name), []


def _batch_normalization(config, name, where):
    for key in ("renorm", "synchronized"):
        _require(config, key, [False, None], where)
    axis = config.get("axis", -1)
    if isinstance(axis, list):
        if len(axis) != 1:
            raise UnsupportedKerasLayer(f"{where}: axis {axis} (several axes) is not supported")
        axis = axis[0]
    center, scale = bool(config.get("center", True)), bool(config.get("scale", True))
    layer = layers.BatchNormalization(axis=axis, momentum=config.get("momentum", 0.99),
                                      epsilon=config.get("epsilon", 1e-3), center=center, scale=scale, name=name)
    order = ([("params", "gamma", None)] if scale else []) + ([("params", "beta", None)] if center else [])
    return layer, order + [("state", "moving_mean", None), ("state", "moving_variance", None)]


def _leaky_relu(config, name, where):
    return layers.LeakyReLU(negative_slope=config.get("negative_slope", config.get("alpha", 0.3)), name=name), []


def _elu(config, name, where):
    return layers.ELU(alpha=config.get("alpha", 1.0), name=name), []


KERAS_TO_FRAMEWORK = {
    "Dense": _dense,
    "Conv2D": _conv2d,
    "MaxPooling2D": _pooling(lambda **kw: layers.MaxPooling2D(**kw)),
    "AveragePooling2D": _pooling(lambda **kw: layers.AveragePooling2D(**kw)),
    "GlobalAveragePooling2D": _global_average_pooling,
    "Flatten": _flatten,
    "Dropout": _dropout,
    "Activation": _activation_layer,
    "BatchNormalization": _batch_normalization,
    "LeakyReLU": _leaky_relu,  # written for a LeakyReLU layer whose slope is not the activation's 0.2
    "ELU": _elu,
}


def input_shape(spec, where):
    """(None, ...) from an InputLayer's config (Keras 3 ``batch_shape``, Keras 2 ``batch_input_shape``)."""
    config = spec.get("config") if isinstance(spec, dict) else None
    shape = None
    if isinstance(config, dict):
        shape = config.get("batch_shape", config.get("batch_input_shape"))
    if not (isinstance(shape, list) and len(shape) >= 2 and shape[0] is None
            and all(isinstance(d, int) and not isinstance(d, bool) and 0 < d < 2**31 for d in shape[1:])):
        raise UnsupportedKerasLayer(f"{where}: the input shape must be [null, sizes...], got {shape!r:.80}")
    return tuple(shape)


def from_keras(spec, where):
    """(framework layer, weight order) for one Keras layer spec.

    The weight order lists, for each of Keras's weights of the layer in its
    file's order, ``(table, key, transpose)``: where the array goes (``params``
    or ``state``) and how its axes move.
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise UnsupportedKerasLayer(f"{where}: expected {{'class_name': ..., 'config': {{...}}}}")
    class_name, config = spec.get("class_name"), spec["config"]
    name = config.get("name")
    label = f"{where} ({class_name!r:.60}, name {name!r:.60})"
    if class_name not in KERAS_TO_FRAMEWORK:
        raise UnsupportedKerasLayer(
            f"{label}: Keras layer class {class_name!r:.60} is not supported (supported: InputLayer, "
            f"{', '.join(KERAS_TO_FRAMEWORK)}); no code from the file is run"
        )
    try:
        return KERAS_TO_FRAMEWORK[class_name](config, name, label)
    except UnsupportedKerasLayer:
        raise
    except Exception as exc:  # a bad or missing argument, as the framework's constructor words it
        raise UnsupportedKerasLayer(f"{label}: {type(exc).__name__}: {exc}") from None


def to_framework_layout(array, transpose):
    return np.ascontiguousarray(array if transpose is None else np.transpose(array, transpose))


# -- framework -> Keras ------------------------------------------------------------
def _inverse(transpose):
    return None if transpose is None else tuple(int(i) for i in np.argsort(transpose))


def _keras_activation(layer):
    """The Keras activation name of a layer's own activation (Affine, Convolution)."""
    if getattr(layer, "activation", None) is None or getattr(layer, "activation_fused", False):
        return "linear"  # a fused activation is applied by the loss layer, written at the end
    return layer.activation_name


# Standalone activation layers that are a Keras Activation(name) exactly.
_ACTIVATION_NAMES = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}


def to_keras(layer):
    """(Keras layer spec, [(Keras weight name, host array)]) for one framework layer, or None to leave it out."""
    from framework.backend import get_backend

    to_host = get_backend().to_numpy
    kind = type(layer).__name__
    config = layer.get_config()
    weights = []
    if kind == "Affine":
        spec = {"class_name": "Dense", "config": {"name": layer.name, "units": layer.units,
                                                  "activation": _keras_activation(layer), "use_bias": layer.use_bias}}
        weights = [("kernel", layer.params["W"])] + ([("bias", layer.params["b"])] if layer.use_bias else [])
    elif kind == "Convolution":
        padding = config.get("padding")
        if padding not in ("valid", "same"):
            raise UnsupportedKerasLayer(f"layer {layer.name!r}: padding {padding!r} has no Keras Conv2D equivalent")
        spec = {"class_name": "Conv2D", "config": {
            "name": layer.name, "filters": config["filters"], "kernel_size": list(_pair(config["kernel_size"], "", "")),
            "strides": list(_pair(config["strides"], "", "")), "padding": padding,
            "data_format": config["data_format"], "activation": _keras_activation(layer),
            "use_bias": config["use_bias"]}}
        weights = [("kernel", np.transpose(to_host(layer.params["W"]), _inverse((3, 2, 0, 1))))]
        weights += [("bias", layer.params["b"])] if config["use_bias"] else []
    elif kind in ("MaxPooling2D", "AveragePooling2D", "Pooling"):
        keras_kind = "AveragePooling2D" if kind == "AveragePooling2D" else "MaxPooling2D"
        padding = "valid" if layer.padding == 0 else layer.padding  # the book's Pooling says pad=0
        if padding not in ("valid", "same"):
            raise UnsupportedKerasLayer(f"layer {layer.name!r}: padding {padding!r} has no Keras {keras_kind} equivalent")
        # from the attributes: the book's Pooling names them pool_h, pool_w, stride, pad in its config
        spec = {"class_name": keras_kind, "config": {
            "name": layer.name, "pool_size": list(layer.pool_size), "strides": list(layer.strides),
            "padding": padding, "data_format": layer.data_format}}
    elif kind == "GlobalAveragePooling2D":
        spec = {"class_name": "GlobalAveragePooling2D", "config": {
            "name": layer.name, "data_format": config["data_format"], "keepdims": config["keepdims"]}}
    elif kind == "Flatten":
        spec = {"class_name": "Flatten", "config": {"name": layer.name}}
    elif kind == "Dropout":
        spec = {"class_name": "Dropout", "config": {"name": layer.name, "rate": layer.rate}}
    elif kind == "BatchNormalization":
        spec = {"class_name": "BatchNormalization", "config": {
            "name": layer.name, "axis": config["axis"], "momentum": config["momentum"], "epsilon": config["epsilon"],
            "center": config["center"], "scale": config["scale"]}}
        weights = ([("gamma", layer.params["gamma"])] if config["scale"] else [])
        weights += ([("beta", layer.params["beta"])] if config["center"] else [])
        weights += [("moving_mean", layer.state["moving_mean"]), ("moving_variance", layer.state["moving_variance"])]
    elif kind == "Activation":
        spec = {"class_name": "Activation", "config": {"name": layer.name, "activation": config["activation"]}}
    elif kind == "Linear":
        return None
    elif kind in _ACTIVATION_NAMES:
        spec = {"class_name": "Activation", "config": {"name": layer.name, "activation": _ACTIVATION_NAMES[kind]}}
    elif kind == "Softmax" and config.get("axis", -1) == -1:
        spec = {"class_name": "Activation", "config": {"name": layer.name, "activation": "softmax"}}
    elif kind == "LeakyReLU":
        spec = {"class_name": "LeakyReLU", "config": {"name": layer.name, "negative_slope": layer.negative_slope}}
    elif kind == "ELU":
        spec = {"class_name": "ELU", "config": {"name": layer.name, "alpha": layer.alpha}}
    else:
        raise UnsupportedKerasLayer(f"layer {layer.name!r}: {kind} has no Keras equivalent that this format writes")
    return spec, [(name, np.ascontiguousarray(to_host(array))) for name, array in weights]


# What a loss layer's `predict` applies, as a Keras activation at the model's end.
LOSS_OUTPUT_ACTIVATION = {"SoftmaxWithLoss": "softmax", "SigmoidWithLoss": "sigmoid"}
