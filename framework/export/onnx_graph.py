"""A `Sequential` model at inference as an ONNX graph, one layer at a time.

Each layer kind has a small function that appends its ONNX nodes and weight
initializers to a `_Graph` and returns the name of its output. What the
layers compute is unchanged: the test runs the file in onnxruntime and
compares it with `model.predict`.
"""

import numpy as np  # host copies of the weights

from framework.backend import get_backend
from framework.errors import InvalidArgumentError


def _onnx():
    try:
        import onnx
    except ImportError:
        raise InvalidArgumentError(
            "exporting to ONNX needs the onnx package: pip install 'dlfs-framework[onnx]'"
        ) from None
    return onnx


class _Graph:
    def __init__(self, onnx):
        self.onnx, self.nodes, self.initializers, self.count = onnx, [], [], 0

    def name(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, hint, array, dtype=np.float32):
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array, dtype=dtype), name))
        return name

    def node(self, op, inputs, hint, **attributes):
        out = self.name(hint)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=out, **attributes))
        return out


def _host(array):
    return np.asarray(get_backend().to_numpy(array), dtype=np.float32)


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


# -- activations -----------------------------------------------------------------
def _activation(graph, layer, x):
    kind = type(layer).__name__
    if kind == "Activation":
        return _activation(graph, layer.inner, x)
    simple = {"ReLU": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh"}
    if kind in simple:
        return graph.node(simple[kind], [x], layer.name)
    if kind == "LeakyReLU":
        return graph.node("LeakyRelu", [x], layer.name, alpha=float(layer.negative_slope))
    if kind == "ELU":
        return graph.node("Elu", [x], layer.name, alpha=float(layer.alpha))
    if kind == "Softmax":
        return graph.node("Softmax", [x], layer.name, axis=-1)
    if kind == "Linear":
        return x
    return None


def _then_activation(graph, layer, x):
    activation = getattr(layer, "activation", None)
    if activation is None or getattr(layer, "activation_fused", False):  # a fused one is the loss layer's
        return x
    out = _activation(graph, activation, x)
    if out is None:
        raise InvalidArgumentError(f"ONNX export: layer {layer.name!r} has an activation with no ONNX form")
    return out


# -- layers ----------------------------------------------------------------------
def _affine(graph, layer, x, shape):
    if len(shape) > 2:
        x = graph.node("Flatten", [x], f"{layer.name}_flatten", axis=1)
    inputs = [x, graph.constant(f"{layer.name}_W", _host(layer.params["W"]))]
    if layer.use_bias:
        inputs.append(graph.constant(f"{layer.name}_b", _host(layer.params["b"])))
    return _then_activation(graph, layer, graph.node("Gemm", inputs, layer.name))


def _to_nchw(graph, layer, x):
    if getattr(layer, "data_format", "channels_first") == "channels_last":
        return graph.node("Transpose", [x], f"{layer.name}_nchw", perm=[0, 3, 1, 2])
    return x


def _from_nchw(graph, layer, x):
    if getattr(layer, "data_format", "channels_first") == "channels_last":
        return graph.node("Transpose", [x], f"{layer.name}_nhwc", perm=[0, 2, 3, 1])
    return x


def _pads(layer, shape, kernel, strides):
    """ONNX pads [top, left, bottom, right] for the layer's padding, as the layer computes it."""
    padding = layer.get_config().get("padding", layer.get_config().get("pad", 0))
    if isinstance(padding, int):
        return [padding, padding, padding, padding]
    if padding == "valid":
        return [0, 0, 0, 0]
    channels_last = getattr(layer, "data_format", "channels_first") == "channels_last"
    height, width = (shape[1], shape[2]) if channels_last else (shape[2], shape[3])
    pads = []
    for n, k, s in zip((height, width), kernel, strides):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))  # the odd one after, as Keras
    return [pads[0][0], pads[1][0], pads[0][1], pads[1][1]]


def _convolution(graph, layer, x, shape):
    W = _host(layer.params["W"])
    kernel = W.shape[2:]
    strides = _pair(layer.get_config().get("strides", layer.get_config().get("stride", 1)))
    inputs = [_to_nchw(graph, layer, x), graph.constant(f"{layer.name}_W", W)]
    if "b" in layer.params:
        inputs.append(graph.constant(f"{layer.name}_b", _host(layer.params["b"])))
    out = graph.node("Conv", inputs, layer.name, kernel_shape=list(kernel), strides=list(strides),
                     pads=_pads(layer, shape, kernel, strides))
    return _then_activation(graph, layer, _from_nchw(graph, layer, out))


def _pooling(op):
    def export(graph, layer, x, shape):
        config = layer.get_config()
        kernel = _pair(config.get("pool_size", (config.get("pool_h"), config.get("pool_w"))))
        strides = _pair(config.get("strides") or config.get("stride") or kernel)
        extra = {"count_include_pad": 0} if op == "AveragePool" else {}
        out = graph.node(op, [_to_nchw(graph, layer, x)], layer.name, kernel_shape=list(kernel),
                         strides=list(strides), pads=_pads(layer, shape, kernel, strides), **extra)
        return _from_nchw(graph, layer, out)

    return export


def _global_average_pooling(graph, layer, x, shape):
    axes = [1, 2] if getattr(layer, "data_format", "channels_first") == "channels_last" else [2, 3]
    # Opset 17 takes the axes as an attribute (18 moved them to an input).
    return graph.node("ReduceMean", [x], layer.name, axes=axes, keepdims=int(getattr(layer, "keepdims", False)))


def _flatten(graph, layer, x, shape):
    return graph.node("Flatten", [x], layer.name, axis=1)


def _reshape(graph, layer, x, shape):
    target = [0] + [int(d) for d in layer.get_config()["target_shape"]]
    return graph.node("Reshape", [x, graph.constant(f"{layer.name}_shape", np.array(target), np.int64)], layer.name)


def _batch_normalization(graph, layer, x, shape):
    """``y = x * scale + shift`` with the moving statistics folded in: any axis, no transposes."""
    config = layer.get_config()
    mean, variance = _host(layer.state["moving_mean"]), _host(layer.state["moving_variance"])
    gamma = _host(layer.params["gamma"]) if "gamma" in layer.params else np.ones_like(mean)
    beta = _host(layer.params["beta"]) if "beta" in layer.params else np.zeros_like(mean)
    scale = gamma / np.sqrt(variance + np.float32(config["epsilon"]))
    shift = beta - mean * scale
    axis = config["axis"] % len(shape)
    broadcast = [1] * (len(shape) - 1)
    broadcast[axis - 1] = -1
    scaled = graph.node("Mul", [x, graph.constant(f"{layer.name}_scale", scale.reshape(broadcast))], f"{layer.name}_mul")
    return graph.node("Add", [scaled, graph.constant(f"{layer.name}_shift", shift.reshape(broadcast))], layer.name)


def _identity(graph, layer, x, shape):
    return x


_EXPORTERS = {
    "Affine": _affine,
    "Convolution": _convolution,
    "MaxPooling2D": _pooling("MaxPool"),
    "Pooling": _pooling("MaxPool"),
    "AveragePooling2D": _pooling("AveragePool"),
    "GlobalAveragePooling2D": _global_average_pooling,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "BatchNormalization": _batch_normalization,
    "Dropout": _identity,  # inference: the identity
}
_LOSS_OUTPUTS = {"SoftmaxWithLoss": "Softmax", "SigmoidWithLoss": "Sigmoid"}


def onnx_model(model, opset=17):
    """The ONNX ModelProto of `model` at inference (see `framework.export.onnx`)."""
    onnx = _onnx()
    if not model.built:
        raise InvalidArgumentError("ONNX export: the model is not built; call build(input_shape) or fit first")
    graph = _Graph(onnx)
    x = "input"
    shapes = [model.input_shape] + model._output_shapes(model.input_shape)
    for layer, shape in zip(model._body, shapes):
        export = _EXPORTERS.get(type(layer).__name__)
        out = export(graph, layer, x, shape) if export is not None else _activation(graph, layer, x)
        if out is None:
            raise InvalidArgumentError(f"ONNX export: layer {layer.name!r} ({type(layer).__name__}) has no ONNX form")
        x = out
    loss = model._loss_layer
    op = _LOSS_OUTPUTS.get(type(loss).__name__) if loss is not None else None
    if op == "Softmax":
        x = graph.node("Softmax", [x], loss.name, axis=-1)
    elif op is not None:
        x = graph.node(op, [x], loss.name)
    graph.nodes.append(onnx.helper.make_node("Identity", [x], ["output"], name="output"))
    out_shape = model.compute_output_shape(model.input_shape)
    dims = lambda shape: ["batch"] + [int(d) for d in shape[1:]]  # noqa: E731
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(
            graph.nodes, model.name,
            [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, dims(model.input_shape))],
            [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, dims(out_shape))],
            graph.initializers,
        ),
        opset_imports=[onnx.helper.make_opsetid("", opset)],
        producer_name="dlfs-framework",
    )
    onnx.checker.check_model(proto)
    return proto
