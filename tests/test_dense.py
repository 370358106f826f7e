"""Dense/Affine with Keras's arguments: activation, initializers, regularizers, use_bias; configs."""

import numpy as np
import pytest

import framework as fw
from framework import initializers, layers, regularizers
from framework.errors import InvalidArgumentError
from framework.testing import check_layer

from .conftest import to_host

DENSE = [
    pytest.param(lambda: layers.Dense(3, activation="tanh"), id="tanh"),
    pytest.param(lambda: layers.Dense(3, activation="sigmoid", use_bias=False), id="sigmoid-no-bias"),
    pytest.param(lambda: layers.Dense(3, activation="softmax"), id="softmax"),
    pytest.param(lambda: layers.Dense(3, activation="elu", kernel_regularizer=regularizers.L2(0.1),
                                      bias_regularizer=regularizers.L1(0.05)), id="elu-L2-L1"),
    pytest.param(lambda: layers.Dense(3, kernel_regularizer=regularizers.L1L2(l1=0.01, l2=0.2),
                                      kernel_initializer=initializers.RandomNormal(0.0, 0.5),
                                      bias_initializer=initializers.Constant(0.3)), id="L1L2-objects"),
    pytest.param(lambda: layers.Dense(3, kernel_initializer="he_uniform", kernel_regularizer="l2"), id="names"),
]


@pytest.mark.parametrize("make", DENSE)
def test_dense_variants_pass_the_kit(backend, make):
    report = check_layer(make(), (4, 5))
    assert report.max_relative_error < 1e-6


def test_relu_activation_passes_the_kit_away_from_the_kink(backend):
    # Positive inputs and weights put every pre-activation well above 0.
    layer = layers.Dense(3, activation="relu", kernel_initializer=initializers.RandomUniform(0.1, 0.5),
                         bias_initializer=initializers.Constant(0.2))
    check_layer(layer, (4, 5), x=np.random.default_rng(0).uniform(0.5, 1.0, (4, 5)))


def test_activation_is_the_activation_layers_own_computation(backend, float64):
    rng = np.random.default_rng(1)
    x, W, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    dense = layers.Dense(activation="tanh", W=backend.asarray(W), b=backend.asarray(b))
    out = to_host(backend, dense.forward(backend.asarray(x)))
    np.testing.assert_allclose(out, np.tanh(x @ W + b), rtol=1e-12)


def test_summary_and_config_show_the_activation():
    model = fw.Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)])
    model.build((None, 3))
    lines = []
    model.summary(print_fn=lines.append)
    assert "affine (Affine(relu))" in lines[0] and "affine_1 (Affine)" in lines[0]
    assert model.layers[0].get_config()["activation"] == "relu"


def test_the_older_weight_init_argument_and_config_key_still_work():
    fw.set_seed(3)
    old = layers.Affine.from_config({"name": "affine", "units": 4, "use_bias": True, "weight_init": "he_normal"})
    old.build((None, 6))
    fw.set_seed(3)
    new = layers.Affine(4, kernel_initializer="he_normal")
    new.build((None, 6))
    np.testing.assert_array_equal(to_host(fw.get_backend(), old.params["W"]), to_host(fw.get_backend(), new.params["W"]))
    assert old.get_config()["kernel_initializer"] == "he_normal"
    assert layers.Affine(4, weight_init=0.01).get_config()["kernel_initializer"] == 0.01


def test_weight_init_and_kernel_initializer_together_must_agree():
    with pytest.raises(InvalidArgumentError, match="weight_init is the older name of kernel_initializer"):
        layers.Affine(4, kernel_initializer="zeros", weight_init="he_normal")


@pytest.mark.parametrize("name, check", [
    ("zeros", lambda w: (w == 0).all()),
    ("ones", lambda w: (w == 1).all()),
    ("glorot_uniform", lambda w: np.abs(w).max() <= np.sqrt(6 / (400 + 300))),
    ("he_uniform", lambda w: np.abs(w).max() <= np.sqrt(6 / 400)),
    ("glorot_normal", lambda w: abs(w.std() - np.sqrt(2 / 700)) < 0.05 * np.sqrt(2 / 700)),
    ("he_normal", lambda w: abs(w.std() - np.sqrt(2 / 400)) < 0.05 * np.sqrt(2 / 400)),
    ("random_normal", lambda w: abs(w.std() - 0.05) < 0.0025 and abs(w.mean()) < 0.001),
    ("random_uniform", lambda w: np.abs(w).max() <= 0.05 and abs(w.std() - 0.1 / np.sqrt(12)) < 0.002),
])
def test_keras_initializer_names(backend, name, check):
    w = to_host(backend, initializers.get(name)((400, 300), "float32"))
    assert w.shape == (400, 300) and w.dtype == np.float32 and check(w)


def test_initializer_objects_are_saved_as_nested_specs_and_rebuilt():
    layer = layers.Dense(3, kernel_initializer=initializers.RandomNormal(mean=0.5, stddev=0.2),
                         kernel_regularizer=regularizers.L1L2(l1=0.01, l2=0.02))
    config = layer.get_config()
    assert config["kernel_initializer"] == {"class_name": "RandomNormal", "config": {"mean": 0.5, "stddev": 0.2}}
    assert config["kernel_regularizer"] == {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}}
    clone = layers.Dense.from_config(config)
    assert isinstance(clone.kernel_initializer, initializers.RandomNormal) and clone.kernel_initializer.mean == 0.5
    assert clone.get_config() == config


# -- regularizers ----------------------------------------------------------


def test_regularizer_penalties_and_gradients(backend, float64):
    W = np.array([[1.0, -2.0], [0.5, 0.0]])
    w = backend.asarray(W)
    assert float(regularizers.L2(0.1)(w)) == pytest.approx(0.1 * (1 + 4 + 0.25))
    assert float(regularizers.L1(0.1)(w)) == pytest.approx(0.1 * 3.5)
    assert float(regularizers.L1L2(0.1, 0.2)(w)) == pytest.approx(0.35 + 0.2 * 5.25)
    np.testing.assert_allclose(to_host(backend, regularizers.L2(0.1).gradient(w)), 0.2 * W)
    np.testing.assert_allclose(to_host(backend, regularizers.L1(0.1).gradient(w)), 0.1 * np.sign(W))


def test_penalty_is_in_the_reported_loss_of_fit_and_evaluate():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 3)).astype("float32"), rng.integers(0, 2, 20)
    fw.set_seed(0)
    model = fw.Sequential([layers.Dense(4, kernel_regularizer=regularizers.L2(0.5)), layers.Dense(2)])
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=1e-30), loss="sparse_categorical_crossentropy")  # no change
    history = model.fit(x, y, batch_size=20, epochs=1, verbose=0)
    W, b, W2, b2 = model.get_weights()
    # The reference: the data loss computed here with NumPy, plus 0.5 * sum(W**2).
    scores = (x @ W + b) @ W2 + b2
    log_p = scores - scores.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    expected = -log_p[np.arange(20), y].mean() + 0.5 * (W.astype(np.float64) ** 2).sum()
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert model.evaluate(x, y, batch_size=7) == pytest.approx(expected, rel=1e-5)


def test_regularized_model_passes_the_gradient_check(float64):
    rng = np.random.default_rng(0)
    model = fw.Sequential([layers.Dense(4, activation="tanh", kernel_regularizer=regularizers.L2(0.3),
                                        bias_regularizer=regularizers.L1(0.1)), layers.Dense(3)])
    model.compile(loss="sparse_categorical_crossentropy")
    report = fw.gradient_check(model, rng.standard_normal((5, 2)), rng.integers(0, 3, 5))
    assert report.max_relative_error < 1e-6


def test_l2_shrinks_weights_relative_to_no_regularizer():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 5)).astype("float32"), rng.integers(0, 3, 64)
    norms = []
    for reg in (None, regularizers.L2(0.2)):
        fw.set_seed(1)
        model = fw.Sequential([layers.Dense(16, activation="relu", kernel_regularizer=reg), layers.Dense(3)])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=40, verbose=0)
        norms.append(float((model.get_weights()[0] ** 2).sum()))
    assert norms[1] < 0.7 * norms[0]


@pytest.mark.parametrize("make, pattern", [
    (lambda: regularizers.L2(-0.1), r"L2: l2 must be a finite number >= 0, got l2=-0.1"),
    (lambda: regularizers.L1(float("inf")), r"L1: l1 must be a finite number >= 0, got l1=inf"),
    (lambda: regularizers.L1L2(l1=0.1, l2=-1), r"L1L2: l2 must be a finite number >= 0, got l2=-1"),
    (lambda: layers.Dense(3, kernel_regularizer="l3"), r"kernel_regularizer must be None, a Regularizer .* got kernel_regularizer='l3'"),
    (lambda: layers.Dense(3, bias_initializer="zero"), r"bias_initializer must be an initializer name .* got bias_initializer='zero'"),
    (lambda: layers.Dense(3, kernel_regularizer={"class_name": "L2", "config": {"l2": -1.0}}), r"l2 must be a finite number >= 0"),
    (lambda: initializers.RandomNormal(stddev=0.0), r"RandomNormal: stddev must be a positive number, got stddev=0.0"),
])
def test_bad_regularizers_and_initializers_are_refused(make, pattern):
    with pytest.raises(InvalidArgumentError, match=pattern):
        make()


def test_a_refused_regularizer_changes_nothing():
    model = fw.Sequential([layers.Dense(3)])
    with pytest.raises(InvalidArgumentError):
        model.add(layers.Dense(2, kernel_regularizer=regularizers.L2(-1.0)))
    assert len(model.layers) == 1


def test_regularizer_names_and_specs():
    assert isinstance(regularizers.get("l2"), regularizers.L2) and regularizers.get("l2").l2 == 0.01
    assert isinstance(regularizers.get("l1_l2"), regularizers.L1L2)
    reg = regularizers.get({"class_name": "L1", "config": {"l1": 0.3}})
    assert isinstance(reg, regularizers.L1) and reg.l1 == 0.3
    assert regularizers.get(None) is None


def test_a_frozen_layers_penalty_is_left_out_of_the_loss_as_in_keras():
    x, y = np.ones((4, 3), dtype="float32"), np.array([0, 1, 0, 1])
    model = fw.Sequential([layers.Dense(4, kernel_regularizer=regularizers.L2(10.0)), layers.Dense(2)])
    model.compile(loss="sparse_categorical_crossentropy")
    with_penalty = model.evaluate(x, y)
    model.layers[0].trainable = False
    without = model.evaluate(x, y)
    W = model.get_weights()[0].astype(np.float64)
    assert with_penalty - without == pytest.approx(10.0 * (W ** 2).sum(), rel=1e-5)
