"""Keras's model conveniences: Input/input_shape, get_layer, pop, model(x), *_on_batch, JSON, EarlyStopping."""

import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError, NotCompiledError, UnknownNameError

from .conftest import to_host

rng = np.random.default_rng(4)
X = rng.normal(size=(30, 5)).astype("float32")
Y = rng.integers(0, 3, 30)


def _summary(model):
    out = io.StringIO()
    model.summary(print_fn=lambda text: out.write(text))
    return out.getvalue()


def mlp():
    return fw.Sequential([layers.Input((5,)), layers.Affine(8), layers.ReLU(), layers.Affine(3)])


@pytest.mark.parametrize("make", [
    mlp,
    lambda: fw.Sequential([layers.Affine(8, input_shape=(5,)), layers.ReLU(), layers.Affine(3)]),
    lambda: fw.Sequential([layers.Affine(8, input_shape=5), layers.ReLU(), layers.Affine(3, input_shape=(99,))]),
])
def test_input_or_input_shape_builds_the_model_when_it_is_made(make):
    model = make()
    assert model.built and model.input_shape == (None, 5)
    assert [layer.built for layer in model.layers] == [True, True, True]
    text = _summary(model)
    assert "(None, 8)" in text and "(None, 3)" in text and "Total params: 75" in text and "not built" not in text
    assert len(model.layers) == 3  # Input is not a layer, as in Keras


def test_add_after_input_builds_each_layer_as_it_comes():
    model = fw.Sequential()
    model.add(layers.Input(shape=(2, 3)))
    assert not model.built
    model.add(layers.Affine(4))
    assert model.built and model.layers[0].params["W"].shape == (6, 4)
    model.add(layers.ReLU())
    assert model.compute_output_shape((None, 2, 3)) == (None, 4)


@pytest.mark.parametrize("make,message", [
    (lambda: layers.Input((0,)), r"Input: shape must be a tuple of positive integers .* got shape=\(0,\)"),
    (lambda: layers.Input("4"), "Input: shape must be a tuple of positive integers"),
    (lambda: layers.Affine(3, input_shape=(None, 4)), r"Affine: input_shape must be a tuple of positive integers"),
    (lambda: fw.Sequential([layers.Affine(3), layers.Input((4,))]), "an Input must be the model's first element"),
    (lambda: fw.Sequential([layers.Input((4,)), layers.Affine(3, W=np.ones((5, 3)))]), "W has shape"),
])
def test_bad_input_shapes_raise_the_frameworks_error(make, message):
    with pytest.raises(InvalidArgumentError, match=message):
        make()


CHILD = textwrap.dedent("""
    import sys
    import framework as fw
    model = fw.load_model(sys.argv[1])
    model.summary()
""")


def test_a_model_made_with_input_survives_config_json_and_save_load_in_a_fresh_process(tmp_path):
    model = mlp()
    again = fw.Sequential.from_config(model.get_config())
    assert again.built and again.input_shape == (None, 5) and _summary(again) == _summary(model)
    from_json = fw.models.model_from_json(model.to_json())
    assert from_json.get_config() == model.get_config() and from_json.built
    model.save(tmp_path / "m.h5")
    env = dict(os.environ, FRAMEWORK_BACKEND="numpy")
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "m.h5")], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == _summary(model).strip()
    # an Input alone (no layers yet) survives a config too
    empty = fw.Sequential([layers.Input((7,))])
    refilled = fw.Sequential.from_config(empty.get_config())
    refilled.add(layers.Affine(2))
    assert refilled.input_shape == (None, 7)


def test_model_from_json_refuses_what_is_not_a_model_description():
    with pytest.raises(InvalidArgumentError, match="not valid JSON"):
        fw.models.model_from_json("{")
    with pytest.raises(InvalidArgumentError, match='expected {"class_name": "Sequential"'):
        fw.models.model_from_json('{"class_name": "Functional", "config": {}}')
    with pytest.raises(InvalidArgumentError, match="expected JSON text"):
        fw.models.model_from_json(None)
    text = mlp().to_json().replace('"Affine"', '"os.system"')
    with pytest.raises(UnknownNameError, match="never imported"):
        fw.models.model_from_json(text)


def test_get_layer_by_name_and_index():
    model = mlp()
    assert model.get_layer("affine_1") is model.layers[2]
    assert model.get_layer(index=-1) is model.layers[2]
    with pytest.raises(InvalidArgumentError, match=r"no layer named 'dense'; the layers are \['affine', 'relu', 'affine_1'\]"):
        model.get_layer("dense")
    with pytest.raises(InvalidArgumentError, match="index must be an integer in"):
        model.get_layer(index=3)
    with pytest.raises(InvalidArgumentError, match="give exactly one of name and index"):
        model.get_layer()


def test_pop_removes_the_last_layer_and_the_model_keeps_training():
    model = mlp()
    last = model.pop()
    assert isinstance(last, layers.Affine) and [layer.name for layer in model.layers] == ["affine", "relu"]
    model.add(layers.Affine(3, name="head"))
    assert model.layers[-1].params["W"].shape == (8, 3)
    model.compile(loss="sparse_categorical_crossentropy")
    model.fit(X, Y, epochs=1, verbose=0)
    for _ in range(3):
        model.pop()
    with pytest.raises(InvalidArgumentError, match="pop: the model has no layers"):
        model.pop()
    model.add(layers.Affine(2))  # the input shape outlives the layers, as in Keras
    assert model.built and model.layers[0].params["W"].shape == (5, 2)


def test_popping_the_loss_layer_the_model_trained_through_uncompiles_it():
    model = fw.Sequential([layers.Affine(3, input_shape=(5,)), layers.SoftmaxWithLoss()])
    model.compile()
    assert isinstance(model.pop(), layers.SoftmaxWithLoss)
    with pytest.raises(NotCompiledError):
        model.fit(X, Y, verbose=0)


def test_calling_the_model_returns_what_predict_returns_as_a_backend_array(backend):
    model = fw.Sequential([layers.Affine(3, input_shape=(5,))])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    out = model(X)
    assert type(out) is type(backend.xp.empty(0))
    expected = model.predict(X)
    np.testing.assert_allclose(to_host(backend, out), expected, rtol=1e-6)
    np.testing.assert_allclose(to_host(backend, model(backend.asarray(X))), expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(X), expected, rtol=1e-6)
    assert model.predict_on_batch(X[:0]).shape == (0, 3)
    with pytest.raises(InvalidArgumentError, match=r"feature shape \(4,\) but the model was built for \(5,\)"):
        model(X[:, :4])
    evaluated = model.evaluate(X, Y, batch_size=len(X))
    assert model.test_on_batch(X, Y) == pytest.approx(evaluated)
    assert model.test_on_batch(X, Y, return_dict=True) == pytest.approx(dict(zip(["loss", "accuracy"], evaluated)))


def test_train_on_batch_takes_sample_weights():
    a, b = fw.Sequential([layers.Affine(3, input_shape=(5,))]), fw.Sequential([layers.Affine(3, input_shape=(5,))])
    b.set_weights(a.get_weights())
    kept = Y != 0
    a.compile(optimizer=fw.optimizers.SGD(learning_rate=0.5), loss="sparse_categorical_crossentropy")
    # zero weights drop samples, but the batch mean still divides by the whole batch
    b.compile(optimizer=fw.optimizers.SGD(learning_rate=0.5 * kept.sum() / len(Y)), loss="sparse_categorical_crossentropy")
    initial = a.get_weights()
    a.train_on_batch(X, Y, sample_weight=kept.astype(float))
    b.train_on_batch(X[kept], Y[kept])
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    assert not np.allclose(a.get_weights()[0], initial[0])  # it did train


def _scripted_fit(values, **kwargs):
    """Fit with a monitored 'score' taken from `values`; returns (model, weights at each epoch end)."""
    scores = iter(values)
    snapshots = []

    class Script(fw.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["score"] = next(scores)
            snapshots.append(self.model.get_weights())

    model = fw.Sequential([layers.Affine(3, input_shape=(5,))])
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    stop = fw.EarlyStopping(monitor="score", mode="min", restore_best_weights=True, **kwargs)
    model.fit(X, Y, epochs=len(values), callbacks=[Script(), stop], verbose=0)
    return model, snapshots, stop


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_early_stopping_restores_the_best_weights_even_without_stopping_early():
    model, snapshots, stop = _scripted_fit([3.0, 1.0, 2.0, 2.5], patience=5)
    assert stop.stopped_epoch == 0 and len(snapshots) == 4  # ran to the end
    assert _same(model.get_weights(), snapshots[1]) and not _same(model.get_weights(), snapshots[3])


def test_early_stopping_start_from_epoch_ignores_the_warm_up_epochs():
    model, snapshots, stop = _scripted_fit([0.1, 5.0, 3.0, 4.0, 4.5], patience=5, start_from_epoch=2)
    assert stop.best == 3.0 and stop.best_epoch == 2
    assert _same(model.get_weights(), snapshots[2])
    with pytest.raises(InvalidArgumentError, match="start_from_epoch must be a non-negative integer, got start_from_epoch=-1"):
        fw.EarlyStopping(start_from_epoch=-1)
