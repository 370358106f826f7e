"""Each layer against the numerical gradient (float64), and the layer contract."""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError

from .conftest import to_host

rng = np.random.default_rng(0)


def _check(layer, x, t=None):
    report = fw.gradient_check(layer, x, t)
    assert report.max_relative_error < 1e-6, str(report)
    return report


def test_affine_gradients(backend, float64):
    report = _check(layers.Affine(5), rng.standard_normal((4, 3)))
    assert set(report.parameters) == {"input", "W", "b"}


def test_affine_flattens_higher_rank_inputs(backend, float64):
    layer = layers.Affine(3)
    x = rng.standard_normal((2, 4, 5))
    _check(layer, x)
    assert layer.params["W"].shape == (20, 3)
    assert layer.compute_output_shape((None, 4, 5)) == (None, 3)
    dx = layer.backward(backend.asarray(np.ones((2, 3))))
    assert dx.shape == (2, 4, 5)


def test_relu_gradients(backend, float64):
    x = rng.standard_normal((6, 7))
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of the kink, where no derivative exists
    _check(layers.ReLU(), x)


def test_sigmoid_gradients(backend, float64):
    _check(layers.Sigmoid(), rng.standard_normal((5, 4)) * 3)


@pytest.mark.parametrize("labels", ["index", "one_hot"])
def test_softmax_with_loss_gradients(backend, float64, labels):
    t = rng.integers(0, 4, size=6)
    if labels == "one_hot":
        t = np.eye(4)[t]
    _check(layers.SoftmaxWithLoss(), rng.standard_normal((6, 4)) * 2, t)


@pytest.mark.parametrize("layer_class", [layers.AddLayer, layers.MulLayer])
def test_graph_node_gradients(backend, float64, layer_class):
    report = _check(layer_class(), (rng.standard_normal((3, 2)), rng.standard_normal((3, 2))))
    assert set(report.parameters) == {"input_0", "input_1"}


def test_softmax_with_loss_matches_an_independent_cross_entropy(backend):
    """Against scikit-learn's log_loss, computed independently on the host."""
    from sklearn.metrics import log_loss

    x = rng.standard_normal((8, 3)).astype("float32")
    t = np.array([0, 1, 2, 0, 1, 2, 2, 1])
    probs = np.exp(x.astype("float64")) / np.exp(x.astype("float64")).sum(axis=1, keepdims=True)
    layer = layers.SoftmaxWithLoss()
    loss = float(layer.forward(backend.asarray(x), backend.asarray(t)))
    assert loss == pytest.approx(log_loss(t, probs, labels=[0, 1, 2]), rel=1e-5)
    one_hot_loss = float(layer.forward(backend.asarray(x), backend.asarray(np.eye(3, dtype="float32")[t])))
    assert one_hot_loss == pytest.approx(loss, rel=1e-5)
    assert to_host(backend, layer.predict(backend.asarray(x))) == pytest.approx(probs, rel=1e-5)


def test_softmax_is_stable_for_huge_scores(backend):
    x = backend.asarray(np.array([[1000.0, 0.0, -1000.0]], dtype="float32"))
    layer = layers.SoftmaxWithLoss()
    loss = float(layer.forward(x, backend.asarray(np.array([0]))))
    assert loss == pytest.approx(0.0, abs=1e-6)
    assert np.isfinite(to_host(backend, layer.backward())).all()


def test_sigmoid_does_not_overflow(backend):
    with np.errstate(all="raise"):
        out = to_host(backend, layers.Sigmoid().forward(backend.asarray(np.array([-1000.0, 0.0, 1000.0], dtype="float32"))))
    assert out == pytest.approx([0.0, 0.5, 1.0])


@pytest.mark.parametrize("make", [lambda: layers.Affine(4), layers.ReLU, layers.Sigmoid])
def test_backward_leaves_dout_alone_and_overwrites_grads(backend, make):
    layer = make()
    x = backend.asarray(rng.standard_normal((5, 3)).astype("float32"))
    out = layer.forward(x, training=True)
    dout_host = rng.standard_normal(tuple(out.shape)).astype("float32")
    dout = backend.asarray(dout_host)
    first = layer.backward(dout)
    grads_first = {k: to_host(backend, g).copy() for k, g in layer.grads.items()}
    second = layer.backward(dout)
    assert np.array_equal(to_host(backend, dout), dout_host)
    assert np.array_equal(to_host(backend, first), to_host(backend, second))
    for key, grad in layer.grads.items():  # twice the same backward: the same grads, not doubled
        assert np.array_equal(to_host(backend, grad), grads_first[key])


@pytest.mark.parametrize("make", [lambda: layers.Affine(4), layers.ReLU, layers.Sigmoid])
def test_forward_leaves_x_alone(backend, make):
    host = rng.standard_normal((5, 3)).astype("float32")
    x = backend.asarray(host)
    make().forward(x)
    assert np.array_equal(to_host(backend, x), host)


def test_softmax_backward_leaves_labels_alone(backend):
    t_host = np.eye(3, dtype="float32")[[0, 2]]
    t = backend.asarray(t_host)
    layer = layers.SoftmaxWithLoss()
    layer.forward(backend.asarray(rng.standard_normal((2, 3)).astype("float32")), t)
    layer.backward()
    assert np.array_equal(to_host(backend, t), t_host)


def test_gradient_check_catches_a_wrong_backward(float64):
    class BrokenSigmoid(layers.Sigmoid):
        def backward(self, dout):
            return dout * self.out  # forgot the (1 - out) factor

    class BrokenAffine(layers.Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["b"] = dout.sum(axis=0) * 0.5  # off by a factor
            return dx

    report = fw.gradient_check(BrokenSigmoid(), rng.standard_normal((3, 4)))
    assert report.max_relative_error > 1e-2
    assert report.worst.name == "input"
    report = fw.gradient_check(BrokenAffine(3), rng.standard_normal((4, 2)))
    assert report.parameters["b"].max_relative_error > 1e-2
    assert report.parameters["W"].max_relative_error < 1e-6
    assert report.worst.name == "b" and len(report.worst.index) == 1
    assert "b" in str(report)


def test_gradient_check_of_a_model_points_at_the_broken_layer(float64):
    class BrokenReLU(layers.ReLU):
        def backward(self, dout):
            return dout  # forgot the mask: lets gradient through dead units

    x = rng.standard_normal((6, 4))
    t = rng.integers(0, 3, 6)
    good = fw.Sequential([layers.Affine(5), layers.ReLU(), layers.Affine(3), layers.SoftmaxWithLoss()])
    assert fw.gradient_check(good, x, t).max_relative_error < 1e-6
    bad = fw.Sequential([layers.Affine(5), BrokenReLU(), layers.Affine(3), layers.SoftmaxWithLoss()])
    report = fw.gradient_check(bad, x, t)
    assert report.max_relative_error > 1e-2
    assert report.worst.name.startswith("affine/")  # the first Affine's grads go wrong


def test_gradient_check_restores_float32_weights():
    model = fw.Sequential([layers.Affine(3), layers.SoftmaxWithLoss()])
    model.build((None, 2))
    before = model.get_weights()
    fw.gradient_check(model, rng.standard_normal((4, 2)), np.array([0, 1, 2, 0]))
    after = model.get_weights()
    assert [w.dtype for w in after] == [np.float32, np.float32]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_affine_given_weights_as_in_the_book(backend):
    W = np.arange(6, dtype="float64").reshape(3, 2)
    b = np.array([1.0, -1.0])
    layer = layers.Affine(W=W, b=b)
    out = to_host(backend, layer.forward(backend.asarray(np.ones((1, 3)))))
    assert out.tolist() == [[7.0, 8.0]]  # [0+2+4+1, 1+3+5-1]
    assert layer.units == 2 and layer.get_config()["units"] == 2


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_affine_rejects_bad_units(bad):
    with pytest.raises(InvalidArgumentError, match="units"):
        layers.Affine(bad)


def test_config_round_trip():
    for layer in [layers.Affine(7, use_bias=False, weight_init="he_normal", name="dense"), layers.ReLU(),
                  layers.Sigmoid(name="gate"), layers.SoftmaxWithLoss(labels="index")]:
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


def test_layers_are_registered_by_class_name():
    assert layers.get("Affine") is layers.Affine
    assert layers.Dense is layers.Affine
    with pytest.raises(fw.UnknownNameError, match="Affine"):
        layers.get("Conv9D")
