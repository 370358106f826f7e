"""Sequential: training, inference, reproducibility and Keras's interface."""

import numpy as np
import pytest

import framework as fw
from framework import layers


@pytest.fixture(scope="module")
def digits():
    return fw.datasets.load("digits")


def mlp(hidden=32, loss_layer=True):
    stack = [layers.Affine(hidden), layers.ReLU(), layers.Affine(10)]
    return fw.Sequential(stack + ([layers.SoftmaxWithLoss()] if loss_layer else []))


class Recorder(layers.Layer):
    """The identity, remembering (on the host) each batch it saw in training: what fit fed the model."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.seen = []

    def forward(self, x, training=False):
        if training:
            self.seen.append(fw.get_backend().to_numpy(x).copy())
        return x

    def backward(self, dout):
        return dout


def test_digits_mlp_learns(backend, digits):
    (x, t), (x_test, t_test) = digits
    model = mlp()
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=0.1), metrics=["accuracy"])
    history = model.fit(x, t, epochs=10, batch_size=32, validation_split=0.1, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert history.history["learning_rate"] == [0.1] * 10
    assert len(history.history["loss"]) == 10 and history.epoch == list(range(10))
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    loss, accuracy = model.evaluate(x_test, t_test)
    assert accuracy > 0.9
    probs = model.predict(x_test)
    assert probs.shape == (len(x_test), 10) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    # evaluate's accuracy is predict's, computed independently here
    assert accuracy == pytest.approx(np.mean(probs.argmax(axis=1) == t_test))


def test_backends_train_to_the_same_weights(digits):
    (x, t), _ = digits
    results = []
    for name in ("numpy", "strict"):
        previous = fw.get_backend()
        fw.set_backend(name)
        try:
            fw.set_seed(7)
            model = mlp()
            model.compile(optimizer="adam")
            model.fit(x[:300], t[:300], epochs=2, verbose=0)
            results.append(model.get_weights())
        finally:
            fw.set_backend(previous)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_same_seed_same_weights_bit_for_bit(digits):
    (x, t), _ = digits

    def run():
        fw.set_seed(42)
        model = mlp()
        model.compile(optimizer="adam", metrics=["accuracy"])
        model.fit(x, t, epochs=2, batch_size=16, verbose=0)
        return model.get_weights()

    first, second = run(), run()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    fw.set_seed(43)
    other = mlp()
    other.build((None, 64))
    assert not np.array_equal(other.get_weights()[0], first[0])


@pytest.mark.parametrize("shuffle", [True, False])
def test_each_epoch_visits_every_sample_once(shuffle):
    x = np.arange(50, dtype="float32").reshape(25, 2)
    t = np.arange(25) % 3
    recorder = Recorder()
    model = fw.Sequential([recorder, layers.Affine(3), layers.SoftmaxWithLoss()])
    model.compile(optimizer="sgd")
    model.fit(x, t, epochs=2, batch_size=4, shuffle=shuffle, verbose=0)
    assert [len(b) for b in recorder.seen] == [4] * 6 + [1] + [4] * 6 + [1]
    epochs = [np.concatenate(recorder.seen[:7]), np.concatenate(recorder.seen[7:])]
    for seen in epochs:
        assert sorted(seen[:, 0].tolist()) == x[:, 0].tolist()  # every sample, once
    if shuffle:
        assert not np.array_equal(epochs[0], epochs[1])
        assert not np.array_equal(epochs[0], x)
    else:
        assert np.array_equal(epochs[0], x) and np.array_equal(epochs[1], x)


def test_named_loss_is_the_loss_layer_appended(digits):
    (x, t), (x_test, _) = digits
    weights, outputs = [], []
    for loss in (None, "sparse_categorical_crossentropy"):
        fw.set_seed(3)
        model = mlp(loss_layer=loss is None)
        model.compile(optimizer="sgd", loss=loss)
        model.fit(x[:200], t[:200], epochs=2, verbose=0)
        weights.append(model.get_weights())
        outputs.append(model.predict(x_test[:5]))
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
    assert np.array_equal(outputs[0], outputs[1])
    assert np.allclose(outputs[1].sum(axis=1), 1, atol=1e-5)  # probabilities, not scores or a loss


def test_one_hot_and_index_labels_train_alike(digits):
    (x, t), _ = digits
    weights = []
    for loss, labels in (("sparse_categorical_crossentropy", t), ("categorical_crossentropy", np.eye(10)[t])):
        fw.set_seed(5)
        model = mlp(loss_layer=False)
        model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
        model.fit(x[:100], labels[:100], epochs=1, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_predict_without_a_loss_returns_the_last_layers_output():
    model = fw.Sequential([layers.Affine(3)])
    x = np.ones((2, 4), dtype="float32")
    out = model.predict(x)
    expected = x @ model.get_weights()[0] + model.get_weights()[1]
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_predict_on_an_empty_array():
    model = mlp()
    assert model.predict(np.zeros((0, 64))).shape == (0, 10)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "nesterov"])
def test_float32_end_to_end(backend, digits, optimizer):
    (x, t), _ = digits
    if optimizer == "nesterov":
        optimizer = fw.optimizers.SGD(0.05, momentum=0.9, nesterov=True)
    model = mlp()
    model.compile(optimizer=optimizer, metrics=["accuracy"])
    model.fit(x[:64], t[:64].astype("float64"), epochs=1, batch_size=16, verbose=0)  # float64 labels too
    dtypes = {str(layer.params[k].dtype) for layer in model.layers for k in layer.params}
    dtypes |= {str(layer.grads[k].dtype) for layer in model.layers for k in layer.grads}
    dtypes |= {str(a.dtype) for slot in model.optimizer.state.values() for a in slot.values()}
    assert dtypes == {"float32"}
    assert model.predict(x[:3]).dtype == np.float32


def test_float64_policy(digits, float64):
    (x, t), _ = digits
    model = mlp()
    model.compile(optimizer="adam")
    model.fit(x[:32], t[:32], epochs=1, verbose=0)
    assert {w.dtype for w in model.get_weights()} == {np.dtype("float64")}


def test_train_on_batch_and_evaluate_forms(digits):
    (x, t), _ = digits
    model = mlp()
    model.compile(optimizer="sgd")
    first = model.train_on_batch(x[:32], t[:32])
    assert isinstance(first, float)
    for _ in range(20):
        last = model.train_on_batch(x[:32], t[:32])
    assert last < first
    assert isinstance(model.evaluate(x, t), float)
    model.compile(optimizer="sgd", metrics=["accuracy"])
    loss, accuracy = model.evaluate(x, t)
    assert model.evaluate(x, t, return_dict=True) == {"loss": loss, "accuracy": accuracy}
    assert isinstance(model.train_on_batch(x[:8], t[:8]), list)


def test_get_and_set_weights(digits):
    (x, _), _ = digits
    model = mlp()
    model.build((None, 64))
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(64, 32), (32,), (32, 10), (10,)]
    weights[0][...] = 0  # a copy: the model is untouched
    assert not np.all(model.get_weights()[0] == 0)
    model.set_weights(weights)
    assert np.all(model.get_weights()[0] == 0)
    assert np.allclose(model.predict(x[:2]).sum(axis=1), 1)


def test_layer_names_count_per_model():
    def names():
        return [layer.name for layer in mlp().layers]

    assert names() == ["affine", "relu", "affine_1", "softmax_with_loss"]
    assert names() == names()  # two models built alike have the same names
    model = fw.Sequential([layers.Affine(4, name="hidden"), layers.Affine(2)])
    assert [layer.name for layer in model.layers] == ["hidden", "affine"]


def test_first_layer_skips_the_input_gradient(digits):
    (x, t), _ = digits
    model = mlp()
    model.compile(optimizer="sgd")
    model.fit(x[:32], t[:32], epochs=1, verbose=0)
    assert model.layers[0].needs_input_grad is False
    assert model.layers[0].backward(fw.get_backend().asarray(np.ones((32, 32), dtype="float32"))) is None
    assert all(layer.needs_input_grad for layer in model.layers[1:])


def test_summary(capsys):
    model = mlp()
    model.summary()
    assert "not built" in capsys.readouterr().out
    model.build((None, 64))
    model.summary()
    out = capsys.readouterr().out
    for text in ("affine (Affine)", "(None, 32)", "2,080", "affine_1 (Affine)", "(None, 10)", "330",
                 "Total params: 2,410"):
        assert text in out
    assert model.count_params() == 64 * 32 + 32 + 32 * 10 + 10


def test_verbose_modes(digits, capsys):
    (x, t), _ = digits
    model = mlp()
    model.compile(optimizer="sgd", metrics=["accuracy"])
    model.fit(x[:64], t[:64], epochs=2, batch_size=32, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x[:64], t[:64], epochs=2, batch_size=32, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2") and "loss:" in lines[1] and "accuracy:" in lines[1]
    # Captured output is no terminal: verbose=1 prints one line an epoch too, not a 0% and a 100% bar.
    model.fit(x[:64], t[:64], epochs=2, batch_size=32, verbose=1)
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert captured.err == "" and len(lines) == 2 and lines[1].startswith("Epoch 2/2") and "%" not in captured.out


def test_verbose_1_draws_a_bar_in_a_terminal(digits, capsys, monkeypatch):
    from framework.training import progress

    (x, t), _ = digits
    model = mlp()
    model.compile(optimizer="sgd", metrics=["accuracy"])
    monkeypatch.setattr(progress, "_is_terminal", lambda stream: True)
    model.fit(x[:64], t[:64], epochs=1, batch_size=32, verbose=1)
    captured = capsys.readouterr()
    assert "Epoch 1/1" in captured.out + captured.err and "2/2" in captured.out + captured.err


def test_initial_epoch_continues_the_count(digits):
    (x, t), _ = digits
    model = mlp()
    model.compile(optimizer="sgd")
    history = model.fit(x[:64], t[:64], epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [3, 4]


def test_epochs_zero_trains_nothing(digits):
    (x, t), _ = digits
    model = mlp()
    model.compile(optimizer="sgd")
    model.build((None, 64))
    before = model.get_weights()
    history = model.fit(x[:64], t[:64], epochs=0, verbose=0)
    assert history.history == {}
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_validation_data(digits):
    (x, t), (x_test, t_test) = digits
    model = mlp()
    model.compile(optimizer="sgd", metrics=["accuracy"])
    history = model.fit(x[:200], t[:200], epochs=1, validation_data=(x_test, t_test), verbose=0)
    loss, accuracy = model.evaluate(x_test, t_test)
    assert history.history["val_loss"] == [pytest.approx(loss)]
    assert history.history["val_accuracy"] == [pytest.approx(accuracy)]


def test_affine_after_higher_rank_inputs():
    x = np.random.default_rng(0).standard_normal((20, 2, 3)).astype("float32")
    t = np.arange(20) % 2
    model = fw.Sequential([layers.Affine(4), layers.ReLU(), layers.Affine(2), layers.SoftmaxWithLoss()])
    model.compile(optimizer="sgd")
    model.fit(x, t, epochs=1, verbose=0)
    assert model.input_shape == (None, 2, 3)
    assert model.predict(x).shape == (20, 2)


def test_add_to_a_built_model_builds_the_new_layer():
    model = fw.Sequential([layers.Affine(4)])
    model.build((None, 3))
    model.add(layers.ReLU())
    model.add(layers.Affine(2))
    assert model.layers[-1].built and model.layers[-1].params["W"].shape == (4, 2)
    assert model.predict(np.ones((1, 3))).shape == (1, 2)


def test_an_epoch_holds_one_batch_not_the_data_set():
    """Peak memory during fit stays far below the data set's size: activations exist for one batch at a time."""
    import tracemalloc

    x = np.random.default_rng(0).random((20_000, 100), dtype=np.float32)  # 8 MB
    t = np.arange(20_000) % 10
    model = fw.Sequential([layers.Affine(64), layers.ReLU(), layers.Affine(10), layers.SoftmaxWithLoss()])
    model.compile(optimizer="adam", metrics=["accuracy"])
    model.fit(x[:100], t[:100], epochs=1, verbose=0)  # build and create optimizer state first
    tracemalloc.start()
    try:
        model.fit(x, t, batch_size=100, epochs=1, verbose=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes / 8, f"peak {peak / 1e6:.1f} MB for an {x.nbytes / 1e6:.0f} MB data set"
