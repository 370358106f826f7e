"""The regression, binary and hinge losses: independent references, the kit, targets, weights, fusion."""

import numpy as np
import pytest
from sklearn.metrics import log_loss, mean_absolute_error, mean_squared_error

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError
from framework.testing import check_layer

from .conftest import to_host

rng = np.random.default_rng(0)
REG_T = rng.standard_normal((4, 3))
BIN_T = rng.uniform(0, 1, (4, 3))  # soft labels

LOSSES = [
    pytest.param(lambda: layers.IdentityWithLoss(), REG_T, id="mse"),
    pytest.param(lambda: layers.IdentityWithAbsoluteLoss(), REG_T, id="mae"),
    pytest.param(lambda: layers.SigmoidWithLoss(), BIN_T, id="bce-soft"),
    pytest.param(lambda: layers.SigmoidWithLoss(), (BIN_T > 0.5).astype(float), id="bce-hard"),
    pytest.param(lambda: layers.MulticlassHingeLoss(), np.array([0, 2, 1, 2]), id="hinge"),
]


@pytest.mark.parametrize("make, targets", LOSSES)
def test_losses_pass_the_kit(backend, make, targets):
    assert check_layer(make(), (4, 3), targets=targets).max_relative_error < 1e-6


def _loss(backend, layer, x, t, w=None):
    t = layer.prepare_targets(t, x.shape, argument="t")
    value = layer.forward(backend.asarray(x), backend.asarray(t), None if w is None else backend.asarray(w))
    return float(value), to_host(backend, layer.backward(1.0))


def test_mse_and_mae_against_scikit_learn(backend, float64):
    x, t = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    assert _loss(backend, layers.IdentityWithLoss(), x, t)[0] == pytest.approx(mean_squared_error(t, x), rel=1e-12)
    assert _loss(backend, layers.IdentityWithAbsoluteLoss(), x, t)[0] == pytest.approx(mean_absolute_error(t, x), rel=1e-12)


def test_binary_crossentropy_against_scikit_learn(backend, float64):
    x, t = rng.standard_normal((8, 1)) * 3, np.array([0, 1, 1, 0, 1, 0, 0, 1])
    p = 1 / (1 + np.exp(-x[:, 0]))
    loss, _ = _loss(backend, layers.SigmoidWithLoss(), x, t)
    assert loss == pytest.approx(log_loss(t, p, labels=[0, 1]), rel=1e-10)


def test_binary_crossentropy_stays_exact_for_huge_logits(backend, float64):
    x, t = np.array([[1000.0], [-1000.0], [40.0], [-40.0]]), np.array([0.0, 1.0, 1.0, 0.0])
    loss, dx = _loss(backend, layers.SigmoidWithLoss(), x, t)
    # -log(sigmoid(-1000)) = 1000 + log(1 + e^-1000); -log(sigmoid(40)) = log(1 + e^-40)
    expected = (1000.0 + 1000.0 + 2 * np.log1p(np.exp(-40.0))) / 4
    assert np.isfinite(loss) and loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(dx[:, 0], [0.25, -0.25, -np.exp(-40.0) / 4 / (1 + np.exp(-40.0)), np.exp(-40.0) / 4 / (1 + np.exp(-40.0))], rtol=1e-9, atol=1e-17)


def test_multiclass_hinge_against_a_plain_loop(backend, float64):
    s, y = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    expected = np.mean([sum(max(0.0, s[i, j] - s[i, y[i]] + 1) for j in range(4) if j != y[i]) for i in range(5)])
    loss, dx = _loss(backend, layers.MulticlassHingeLoss(), s, y)
    assert loss == pytest.approx(expected, rel=1e-12)
    loop_dx = np.zeros_like(s)
    for i in range(5):
        for j in range(4):
            if j != y[i] and s[i, j] - s[i, y[i]] + 1 > 0:
                loop_dx[i, j] += 1 / 5
                loop_dx[i, y[i]] -= 1 / 5
    np.testing.assert_allclose(dx, loop_dx, rtol=1e-12)


@pytest.mark.parametrize("make, t", [
    (layers.IdentityWithLoss, rng.standard_normal((5, 2))),
    (layers.IdentityWithAbsoluteLoss, rng.standard_normal((5, 2))),
    (layers.SigmoidWithLoss, rng.uniform(0, 1, (5, 2))),
    (layers.MulticlassHingeLoss, np.array([0, 1, 1, 0, 1])),
])
def test_sample_weight_scales_each_samples_loss_and_gradient(backend, float64, make, t):
    x, w = rng.standard_normal((5, 2)), np.array([0.5, 2.0, 0.0, 1.0, 3.0])
    weighted, dx = _loss(backend, make(), x, t, w)
    per_sample = [_loss(backend, make(), x[i:i + 1], t[i:i + 1])[0] for i in range(5)]  # each a batch of one
    assert weighted == pytest.approx(sum(wi * li for wi, li in zip(w, per_sample)) / 5, rel=1e-12)
    h, numerical = 1e-6, np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        numerical[index] = (_loss(backend, make(), plus, t, w)[0] - _loss(backend, make(), minus, t, w)[0]) / (2 * h)
    np.testing.assert_allclose(dx, numerical, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss", ["mse", "mean_squared_error", "mae", "mean_absolute_error"])
def test_one_output_targets_of_shape_n_are_taken_as_n_by_1(loss):
    x = rng.standard_normal((30, 3)).astype("float32")
    y = rng.standard_normal(30).astype("float32")
    model = fw.Sequential([layers.Dense(1)])
    model.compile(loss=loss)
    prediction = model.predict(x)
    assert prediction.shape == (30, 1)
    reference = {"mse": mean_squared_error, "mean_squared_error": mean_squared_error, "mae": mean_absolute_error,
                 "mean_absolute_error": mean_absolute_error}[loss](y, prediction[:, 0])
    assert model.evaluate(x, y, batch_size=7) == pytest.approx(reference, rel=1e-5)


def test_regression_targets_of_the_wrong_shape_are_refused():
    model = fw.Sequential([layers.Dense(2)])
    model.compile(loss="mse")
    with pytest.raises(InvalidArgumentError, match=r"y must have shape \(n, 2\) like the model's outputs"):
        model.fit(np.zeros((4, 3)), np.zeros(4), verbose=0)


def test_binary_labels_outside_0_1_are_refused_and_nothing_changes():
    model = fw.Sequential([layers.Dense(1)])
    model.compile(loss="binary_crossentropy")
    model.build((None, 2))
    before = model.get_weights()
    with pytest.raises(InvalidArgumentError, match=r"y must hold binary labels in \[0, 1\] .* got the label 2.0"):
        model.fit(np.zeros((3, 2)), np.array([0, 1, 2]), verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_predict_returns_what_each_loss_promises():
    x = rng.standard_normal((4, 3)).astype("float32")
    for loss, transform in [("mse", lambda s: s), ("multiclass_hinge", lambda s: s),
                            ("binary_crossentropy", lambda s: 1 / (1 + np.exp(-s)))]:
        model = fw.Sequential([layers.Dense(2)])
        model.compile(loss=loss)
        model.build((None, 3))
        W, b = model.get_weights()
        np.testing.assert_allclose(model.predict(x), transform(x @ W + b), rtol=1e-5, atol=1e-6)


# -- fusion of a trailing activation with the named loss (Keras's from_logits=False) --


def _twin_models(fused_tail, loss, plain_tail):
    fw.set_seed(5)
    fused = fw.Sequential([layers.Dense(4, activation="tanh"), *fused_tail])
    fused.compile(optimizer="sgd", loss=loss)
    fused.build((None, 2))  # weights are drawn here: each model right after its seed
    fw.set_seed(5)
    plain = fw.Sequential([layers.Dense(4, activation="tanh"), *plain_tail])
    plain.compile(optimizer="sgd")
    plain.build((None, 2))
    return fused, plain


@pytest.mark.parametrize("fused_tail, loss, plain_tail, y", [
    ([layers.Dense(1, activation="sigmoid")], "binary_crossentropy", [layers.Dense(1), layers.SigmoidWithLoss()], "binary"),
    ([layers.Dense(1), layers.Sigmoid()], "binary_crossentropy", [layers.Dense(1), layers.SigmoidWithLoss()], "binary"),
    ([layers.Dense(1), layers.Activation("sigmoid")], "binary_crossentropy", [layers.Dense(1), layers.SigmoidWithLoss()], "binary"),
    ([layers.Dense(3, activation="softmax")], "sparse_categorical_crossentropy", [layers.Dense(3), layers.SoftmaxWithLoss()], "index"),
    ([layers.Dense(3), layers.Softmax()], "sparse_categorical_crossentropy", [layers.Dense(3), layers.SoftmaxWithLoss()], "index"),
    ([layers.Dense(3), layers.Activation("softmax")], "categorical_crossentropy", [layers.Dense(3), layers.SoftmaxWithLoss()], "one_hot"),
])
def test_a_trailing_activation_is_fused_into_the_named_loss(fused_tail, loss, plain_tail, y):
    x = rng.standard_normal((16, 2)).astype("float32")
    labels = rng.integers(0, 3 if y != "binary" else 2, 16)
    t = np.eye(3)[labels] if y == "one_hot" else labels
    fused, plain = _twin_models(fused_tail, loss, plain_tail)
    p = fused.predict(x)
    np.testing.assert_allclose(p, plain.predict(x), rtol=1e-6)  # probabilities, the activation applied once
    assert ((p > 0) & (p < 1)).all()
    for _ in range(3):
        assert fused.train_on_batch(x, t) == pytest.approx(plain.train_on_batch(x, t), rel=1e-6)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_recompiling_with_another_loss_undoes_the_fusion():
    model = fw.Sequential([layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy")
    model.compile(loss="mse")  # now the sigmoid is part of the model's output again
    model.build((None, 2))
    x = rng.standard_normal((3, 2)).astype("float32")
    W, b = model.get_weights()
    np.testing.assert_allclose(model.predict(x), 1 / (1 + np.exp(-(x @ W + b))), rtol=1e-5)


@pytest.mark.parametrize("make", [
    lambda: fw.Sequential([layers.Dense(1), layers.SoftmaxWithLoss()]),
    lambda: fw.Sequential([layers.Dense(1)]),
])
def test_a_softmax_over_one_output_unit_is_refused(make):
    model = make()
    loss = None if isinstance(model.layers[-1], layers.SoftmaxWithLoss) else "sparse_categorical_crossentropy"
    model.compile(loss=loss)  # not built yet: refused at build
    with pytest.raises(InvalidArgumentError, match="needs at least 2 output units.*binary_crossentropy"):
        model.build((None, 3))
    assert not model.built
    built = fw.Sequential([layers.Dense(1)])
    built.build((None, 3))
    with pytest.raises(InvalidArgumentError, match="binary_crossentropy"):  # built: refused at compile
        built.compile(loss="categorical_crossentropy")
    assert not built.compiled


def test_adding_a_layer_after_a_fused_one_gives_its_activation_back():
    model = fw.Sequential([layers.Dense(2, activation="sigmoid")])
    model.compile(loss="binary_crossentropy")
    model.add(layers.Dense(1))
    model.build((None, 3))
    x = rng.standard_normal((4, 3)).astype("float32")
    W, b, W2, b2 = model.get_weights()
    hidden = 1 / (1 + np.exp(-(x @ W + b)))
    np.testing.assert_allclose(model.predict(x), 1 / (1 + np.exp(-(hidden @ W2 + b2))), rtol=1e-5)


def test_fused_model_compiled_before_it_is_built_trains_from_unbuilt():
    x = rng.standard_normal((32, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    fw.set_seed(0)
    model = fw.Sequential([layers.Dense(8, activation="tanh"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(x, y, epochs=5, verbose=0)  # built here, from (n,) labels and one output
    assert model.predict(x).shape == (32, 1) and history.history["loss"][-1] < history.history["loss"][0]


def test_softmax_with_loss_takes_a_backends_picks_where_it_offers_them(monkeypatch):
    """A backend's `fused_pick` and `fused_softmax_loss_backward` (CuPy's kernels) stand in for the indexing lines."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, 5)).astype(np.float32)
    t = rng.integers(0, 5, 16)
    weights = rng.random(16).astype(np.float32)

    def run():
        layer = layers.SoftmaxWithLoss()
        return layer.forward(x, t, sample_weight=weights), layer.backward(0.37)

    expected = run()  # the lines
    calls = []
    backend = fw.get_backend()

    def pick(scores, labels):
        calls.append("pick")
        return np.take_along_axis(scores, labels[:, None], axis=1)[:, 0]

    def backward(y, labels, scale):
        calls.append(("backward", scale))
        return (y - np.eye(y.shape[1], dtype=y.dtype)[labels]) * y.dtype.type(scale)

    monkeypatch.setattr(backend, "fused_pick", pick)
    monkeypatch.setattr(backend, "fused_softmax_loss_backward", backward)
    got = run()
    assert calls == ["pick", ("backward", 0.37 / 16)]
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
