"""Non-trainable state and frozen layers: get/set_weights, summary counts, the optimizer leaving them alone."""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError

rng = np.random.default_rng(0)
X = rng.random((48, 5)).astype(np.float32)
Y = rng.integers(0, 3, 48)


def bn_model(optimizer="adam"):
    fw.set_seed(3)
    model = fw.Sequential([layers.Affine(8), layers.BatchNormalization(), layers.ReLU(), layers.Affine(3)])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.build((None, 5))
    return model


def test_state_has_no_gradients_and_grads_keep_the_keys_of_params():
    model = bn_model()
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    bn = model.layers[1]
    assert list(bn.params) == ["gamma", "beta"] and list(bn.state) == ["moving_mean", "moving_variance"]
    assert set(bn.grads) == set(bn.params)
    assert set(model.optimizer.get_state()["slots"]["m"]) == {
        "affine/W", "affine/b", "batch_normalization/gamma", "batch_normalization/beta", "affine_1/W", "affine_1/b"
    }


def test_get_weights_returns_state_after_the_trainable_weights_in_keras_order():
    model = bn_model()
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    bn = model.layers[1]
    weights = bn.get_weights()
    assert [w.shape for w in weights] == [(8,)] * 4
    for got, expected in zip(weights, [bn.params["gamma"], bn.params["beta"], bn.state["moving_mean"],
                                       bn.state["moving_variance"]]):
        assert np.array_equal(got, expected)
    assert [w.shape for w in model.get_weights()] == [(5, 8), (8,), (8,), (8,), (8,), (8,), (8, 3), (3,)]
    for got, expected in zip(model.get_weights()[2:6], weights):
        assert np.array_equal(got, expected)
    weights[2][...] = 7.0  # copies: the layer is untouched
    assert not np.any(bn.state["moving_mean"] == 7.0)


def test_set_weights_sets_state_in_place_and_checks_everything_first():
    model = bn_model()
    bn = model.layers[1]
    moving_mean = bn.state["moving_mean"]
    new = [w + 1.0 for w in model.get_weights()]
    model.set_weights(new)
    assert bn.state["moving_mean"] is moving_mean and np.array_equal(moving_mean, np.ones(8))
    for got, expected in zip(model.get_weights(), new):
        assert np.array_equal(got, expected) and got.dtype == np.float32
    before = model.get_weights()
    bad = [w * 0.0 for w in before]
    bad[5] = np.zeros(9)  # moving_variance of the wrong shape: nothing may change
    with pytest.raises(InvalidArgumentError, match="batch_normalization/moving_variance has shape"):
        model.set_weights(bad)
    with pytest.raises(InvalidArgumentError, match="expected a list of 8 arrays, got 6"):
        model.set_weights(before[:6])
    for got, expected in zip(model.get_weights(), before):
        assert np.array_equal(got, expected)
    with pytest.raises(InvalidArgumentError, match="expected a list of 4 arrays"):
        bn.set_weights(before[:2])
    bn.set_weights([np.full(8, 2.0)] * 4)
    assert np.array_equal(bn.get_weights()[3], np.full(8, 2.0))


def test_summary_counts_trainable_and_non_trainable(capsys):
    model = bn_model()
    model.summary()
    out = capsys.readouterr().out
    # BatchNormalization: 4 x 8 numbers, of which the 16 moving statistics are not trainable.
    for text in ("batch_normalization (BatchNormalization)", "Total params: 107", "Trainable params: 91",
                 "Non-trainable params: 16"):
        assert text in out
    assert model.count_params() == 5 * 8 + 8 + 32 + 8 * 3 + 3
    model.layers[0].trainable = False
    model.summary()
    out = capsys.readouterr().out
    assert "Trainable params: 43" in out and "Non-trainable params: 64" in out


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_frozen_layer_keeps_its_weights_and_the_others_train(optimizer):
    model = bn_model(optimizer)
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)  # the optimizer has state for every layer now
    model.layers[0].trainable = False  # from the next step on, no recompile
    before = model.get_weights()
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    after = model.get_weights()
    assert np.array_equal(after[0], before[0]) and np.array_equal(after[1], before[1])
    assert not np.array_equal(after[-2], before[-2]) and not np.array_equal(after[2], before[2])
    slots = model.optimizer.get_state()["slots"]
    for table in slots.values():  # state stays keyed by name, for when the layer is unfrozen
        assert "affine/W" in table
    model.layers[0].trainable = True
    model.train_on_batch(X[:16], Y[:16])
    assert not np.array_equal(model.get_weights()[0], before[0])


def test_a_frozen_layer_trains_like_a_constant():
    """Freezing the first layer equals training the rest on that layer's fixed outputs."""
    fw.set_seed(1)
    frozen = fw.Sequential([layers.Affine(6), layers.ReLU(), layers.Affine(3)])
    frozen.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    frozen.build((None, 5))
    frozen.layers[0].trainable = False
    head = fw.Sequential([layers.Affine(3)])
    head.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    head.build((None, 6))
    head.set_weights(frozen.get_weights()[2:])
    features = np.maximum(X @ frozen.get_weights()[0] + frozen.get_weights()[1], 0)
    frozen.fit(X, Y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    head.fit(features, Y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(frozen.get_weights()[2:], head.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_frozen_batch_normalization_runs_in_inference_mode():
    model = bn_model()
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    bn = model.layers[1]
    bn.trainable = False
    statistics = [w.copy() for w in bn.get_weights()]
    h = fw.get_backend().asarray(rng.normal(size=(16, 8)).astype(np.float32))
    assert np.array_equal(bn.forward(h, training=True), bn.forward(h, training=False))
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    for got, expected in zip(bn.get_weights(), statistics):
        assert np.array_equal(got, expected)  # neither gamma/beta nor the moving statistics moved


def test_the_flag_is_in_the_model_config_and_survives_save_load(tmp_path):
    model = bn_model()
    model.layers[1].trainable = False
    config = model.get_config()
    assert config["layers"][1]["config"]["trainable"] is False
    assert "trainable" not in config["layers"][0]["config"]
    rebuilt = fw.Sequential.from_config(config)
    assert [layer.trainable for layer in rebuilt.layers] == [True, False, True, True]
    model.save(tmp_path / "frozen.h5")
    loaded = fw.load_model(tmp_path / "frozen.h5")
    assert [layer.trainable for layer in loaded.layers] == [True, False, True, True]
    assert loaded.get_config() == config


def test_a_trainable_entry_that_is_not_a_bool_is_refused():
    with pytest.raises(InvalidArgumentError, match="trainable must be true or false, got trainable='no'"):
        layers.Affine.from_config({"units": 3, "trainable": "no"})
