"""`framework.testing`: every built-in passes the conformance kit, and each check catches its bug."""

import types

import numpy as np
import pytest

import framework as fw
from framework import layers, registry
from framework.layers import Layer
from framework.optimizers import SGD, Adam, Optimizer
from framework.testing import check_layer, check_optimizer

BUILTIN_LAYERS = [
    pytest.param(lambda: layers.Affine(3), (4, 5), id="Affine"),
    pytest.param(lambda: layers.Affine(3, use_bias=False), (4, 2, 3), id="Affine-no-bias-3d-input"),
    pytest.param(lambda: layers.ReLU(), (4, 5), id="ReLU"),
    pytest.param(lambda: layers.Sigmoid(), (4, 5), id="Sigmoid"),
    pytest.param(lambda: layers.SoftmaxWithLoss(), (4, 5), id="SoftmaxWithLoss"),
    pytest.param(lambda: layers.SoftmaxWithLoss(labels="one_hot"), (4, 5), id="SoftmaxWithLoss-one-hot"),
    # Two inputs each of the shape; no save/load (they cannot sit in a Sequential).
    pytest.param(lambda: layers.AddLayer(), (4, 5), id="AddLayer"),
    pytest.param(lambda: layers.MulLayer(), (4, 5), id="MulLayer"),
]

BUILTIN_OPTIMIZERS = [
    pytest.param(lambda: SGD(learning_rate=0.1), id="SGD"),
    pytest.param(lambda: SGD(learning_rate=0.1, momentum=0.9), id="SGD-momentum"),
    pytest.param(lambda: SGD(learning_rate=0.1, momentum=0.9, nesterov=True), id="SGD-nesterov"),
    pytest.param(lambda: Adam(), id="Adam"),
    pytest.param(lambda: Adam(learning_rate=0.01, beta_1=0.5, beta_2=0.9, epsilon=1e-4), id="Adam-custom"),
]


@pytest.fixture
def registered():
    """Register layer/optimizer classes for one test (save/load finds classes by registered name)."""
    names = []

    def register(*classes):
        name = f"kit-test-{len(names)}"
        layer_classes = [c for c in classes if issubclass(c, Layer)]
        optimizer_classes = [c for c in classes if issubclass(c, Optimizer)]
        plugin = types.SimpleNamespace(
            register_layers=fw.hookimpl(lambda register: [register(c) for c in layer_classes]),
            register_optimizers=fw.hookimpl(lambda register: [register(c) for c in optimizer_classes]),
        )
        names.append(registry.register_plugin(plugin, name=name))

    yield register
    for name in names:
        registry.unregister_plugin(name)


# -- every built-in passes -------------------------------------------------


@pytest.mark.parametrize("make, input_shape", BUILTIN_LAYERS)
def test_builtin_layers_pass(backend, make, input_shape):
    layer = make()
    report = check_layer(layer, input_shape)
    assert report.max_relative_error < 1e-6
    expected = {"input"} if layer.n_inputs == 1 else {"input_0", "input_1"}
    assert set(report.parameters) == expected | set(layer.params)


@pytest.mark.parametrize("make", BUILTIN_OPTIMIZERS)
def test_builtin_optimizers_pass(backend, make):
    optimizer = make()
    check_optimizer(optimizer)
    assert (optimizer.iterations, optimizer.state) == (0, {})  # the kit works on copies


def test_check_layer_restores_needs_input_grad():
    layer = layers.Affine(2)
    layer.needs_input_grad = False
    check_layer(layer, (3, 4))
    assert layer.needs_input_grad is False


# -- layers with one bug each ----------------------------------------------


class Scale(Layer):
    """``out = x * w``, one weight per feature: a correct layer with a parameter."""

    def __init__(self, init=1.0, name=None):
        super().__init__(name=name)
        self.init = init
        self.x = None

    def build(self, input_shape):
        self.params["w"] = self.xp.full(input_shape[1:], self.init, dtype=fw.floatx())
        super().build(input_shape)

    def forward(self, x, training=False):
        self.x = x
        return x * self.params["w"]

    def backward(self, dout):
        self.grads["w"] = (dout * self.x).sum(axis=0)
        return dout * self.params["w"]

    def get_config(self):
        return {"name": self.name, "init": self.init}


class WrongBackward(layers.ReLU):
    def backward(self, dout):
        return dout * 1.0  # forgets the mask


class AccumulatesGrads(Scale):
    def backward(self, dout):
        grad = (dout * self.x).sum(axis=0)
        self.grads["w"] = self.grads["w"] + grad if "w" in self.grads else grad
        return dout * self.params["w"]


class ModifiesDout(layers.ReLU):
    def backward(self, dout):
        dout *= self.mask  # the book's Relu.backward writes into dout
        return dout


class WrongOutputShape(Layer):
    def forward(self, x, training=False):
        return x.sum(axis=1, keepdims=True)

    def backward(self, dout):
        return dout * self.xp.ones((1, 5))


class ForgetsConfig(Layer):
    """``out = x + offset``, but get_config() loses ``offset``."""

    def __init__(self, offset=0.0, name=None):
        super().__init__(name=name)
        self.offset = offset

    def forward(self, x, training=False):
        return x + self.offset

    def backward(self, dout):
        return dout * 1.0


class NotJsonConfig(Scale):
    def get_config(self):
        return {"name": self.name, "init": self.xp.asarray(self.init)}


class NestedConfig(Scale):
    def get_config(self):
        return {"name": self.name, "init": {"value": self.init}}  # JSON, but not what a checkpoint accepts


class PromotesToFloat64(Layer):
    def forward(self, x, training=False):
        return x * self.xp.ones(x.shape[1:])  # float64 ones: float32 x becomes float64

    def backward(self, dout):
        return dout * self.xp.ones(dout.shape[1:])


class IgnoresDout(layers.SoftmaxWithLoss):
    def backward(self, dout=1.0):
        return super().backward(1.0)  # the book's SoftmaxWithLoss ignores dout


@pytest.mark.parametrize(
    "layer, pattern",
    [
        (WrongBackward(), r"(?s)check_layer: gradient: max relative error \S+ > tolerance 1e-06\n.*input .* at \("),
        (AccumulatesGrads(init=0.5), r"check_layer: backward: a second backward call changed grads\['w'\].*overwrite"),
        (ModifiesDout(), r"check_layer: backward: backward modified dout \(max change"),
        (WrongOutputShape(), r"check_layer: output shape: compute_output_shape\(\(4, 5\)\) = \(4, 5\), but forward returned shape \(4, 1\)"),
        (ForgetsConfig(offset=0.5), r"check_layer: config round trip output: .* different output .* get_config\(\) misses an argument"),
        (NotJsonConfig(init=0.5), r"check_layer: config: get_config\(\) must return JSON values"),
        (NestedConfig(init=0.5), r"check_layer: config: .*'init': a nested value must be \{'class_name': \.\.\., 'config': \{\.\.\.\}\}, got keys \['value'\]"),
        (PromotesToFloat64(), r"check_layer: float32: .*'output': 'float64'"),
        (IgnoresDout(), r"check_layer: backward: backward\(2.0\) is not 2 \* backward\(1.0\)"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Layer) else "",
)
def test_check_layer_catches(layer, pattern, registered):
    registered(type(layer))
    with pytest.raises(AssertionError, match=pattern):
        check_layer(layer, (4, 5))


def test_a_correct_custom_layer_passes_once_registered(registered):
    with pytest.raises(AssertionError, match=r"check_layer: save/load: .*Scale"):
        check_layer(Scale(init=0.5), (4, 5))  # not registered: a checkpoint cannot name it
    registered(Scale)
    report = check_layer(Scale(init=0.5), (4, 5))
    assert set(report.parameters) == {"input", "w"}


# -- optimizers with one bug each --------------------------------------------


class RebindsParams(SGD):
    def update(self, params, grads):
        for key in params:
            params[key] = params[key] - self.learning_rate * grads[key]  # a new array: the layer never sees it
        self.iterations += 1


class DoesNothing(SGD):
    def update(self, params, grads):
        self.iterations += 1


class Float64State(SGD):
    def update(self, params, grads):
        for key, param in params.items():
            velocity = self.state.setdefault("velocity", {}).setdefault(key, self.xp_zeros(param.shape))
            velocity *= 0.9
            velocity -= self.learning_rate * grads[key]
            param += velocity
        self.iterations += 1

    @staticmethod
    def xp_zeros(shape):
        return fw.get_backend().xp.zeros(shape)  # float64, whatever the params are


class Noisy(SGD):
    def update(self, params, grads):
        noise = float(np.random.default_rng().standard_normal())  # unseeded
        for key, param in params.items():
            param -= self.learning_rate * (grads[key] + noise)
        self.iterations += 1


class StateOutsideSlots(SGD):
    """Momentum kept in an attribute of its own, which get_state() does not see."""

    def __init__(self, learning_rate=0.01):
        super().__init__(learning_rate)
        self.velocity = {}

    def update(self, params, grads):
        for key, param in params.items():
            v = self.velocity.setdefault(key, fw.get_backend().xp.zeros_like(param))
            v *= 0.9
            v -= self.learning_rate * grads[key]
            param += v
        self.iterations += 1

    def get_config(self):
        return {"learning_rate": self.learning_rate}


class ForgetsMomentum(SGD):
    def get_config(self):
        return {"learning_rate": self.learning_rate}  # loses momentum


@pytest.mark.parametrize(
    "optimizer, pattern",
    [
        (RebindsParams(0.1), r"check_optimizer: in place: update\(\) rebound params\['affine/W'\] to a new array at step 0"),
        (DoesNothing(0.1), r"check_optimizer: in place: update\(\) left params\['affine/W'\] unchanged after 3 steps"),
        (Float64State(0.1), r"check_optimizer: float32: .*\"state\['velocity'\]\['affine/W'\]\": 'float64'"),
        (Noisy(0.1), r"check_optimizer: deterministic: two copies from the same config.* differ in 'affine/W'"),
        (StateOutsideSlots(0.1), r"check_optimizer: state round trip: .*get_state\(\) misses part of the state"),
        (ForgetsMomentum(0.1, momentum=0.9), r"check_optimizer: config: a copy rebuilt from get_config\(\) .* misses an argument"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Optimizer) else "",
)
def test_check_optimizer_catches(optimizer, pattern, registered):
    registered(type(optimizer))
    with pytest.raises(AssertionError, match=pattern):
        check_optimizer(optimizer)


def test_a_correct_custom_optimizer_passes_once_registered(registered):
    class HalfMomentum(SGD):
        def __init__(self, learning_rate=0.01):
            super().__init__(learning_rate, momentum=0.5)

        def get_config(self):
            return {"learning_rate": self.learning_rate}

    with pytest.raises(AssertionError, match=r"check_optimizer: checkpoint: .*HalfMomentum"):
        check_optimizer(HalfMomentum(0.1))  # not registered: a checkpoint cannot name it
    registered(HalfMomentum)
    check_optimizer(HalfMomentum(0.1))
