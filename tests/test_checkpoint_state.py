"""Checkpoints of format_version 2: non-trainable state, Dropout's stream, exact resume; version 1 still loads."""

import hashlib
import json
import pathlib
import shutil

import h5py
import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import CheckpointError

from .test_checkpoint_resume import resume_in_a_new_process

DATA = pathlib.Path(__file__).resolve().parent / "data"
rng = np.random.default_rng(5)
X = rng.random((96, 6)).astype(np.float32)
Y = rng.integers(0, 3, 96)
FIT = {"batch_size": 16, "shuffle": True, "verbose": 0}


def fresh_model():
    fw.set_seed(21)
    model = fw.Sequential([layers.Affine(16), layers.BatchNormalization(momentum=0.9), layers.ReLU(),
                           layers.Dropout(0.3), layers.Affine(3)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(wa, wb))


def test_state_and_the_dropout_stream_are_saved_and_loaded(tmp_path):
    model = fresh_model()
    model.fit(X, Y, epochs=2, **FIT)
    model.save(tmp_path / "run.h5")
    loaded = fw.load_model(tmp_path / "run.h5")
    assert same_weights(loaded, model)
    bn, dropout = loaded.layers[1], loaded.layers[3]
    assert np.array_equal(bn.state["moving_variance"], model.layers[1].state["moving_variance"])
    assert not np.allclose(bn.state["moving_variance"], 1.0)  # trained statistics, not fresh ones
    assert (dropout.seed, dropout.calls) == (model.layers[3].seed, 12)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    with h5py.File(tmp_path / "run.h5", "r") as file:
        assert file.attrs["format_version"] == 2
        config = json.loads(file.attrs["model_config"])
        assert config["state"] == {"batch_normalization": {"moving_mean": {"shape": [16], "dtype": "float32"},
                                                           "moving_variance": {"shape": [16], "dtype": "float32"}}}
        assert config["random_state"] == {"dropout": {"calls": 12}}
        assert sorted(file["model_state/batch_normalization"]) == ["moving_mean", "moving_variance"]
        assert sorted(file["model_weights/batch_normalization"]) == ["beta", "gamma"]


def test_save_weights_and_load_weights_carry_the_state(tmp_path):
    model = fresh_model()
    model.fit(X, Y, epochs=1, **FIT)
    model.save_weights(tmp_path / "weights.h5")
    other = fresh_model()
    other.build((None, 6))
    assert not same_weights(other, model)
    other.load_weights(tmp_path / "weights.h5")
    assert same_weights(other, model)


def test_resume_in_a_new_process_with_dropout_and_batch_normalization_is_exact(tmp_path):
    straight, halfway, resumed = resume_in_a_new_process(fresh_model, X, Y, tmp_path)
    assert not np.array_equal(halfway.get_weights()[0], straight.get_weights()[0])
    assert same_weights(resumed, straight)  # params and moving statistics, bit for bit
    assert resumed.layers[3].calls == straight.layers[3].calls == 24
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 24


def test_resume_depends_on_the_saved_dropout_stream(tmp_path):
    """Without its call count, a resumed run would draw the first masks again and end elsewhere."""
    straight = fresh_model()
    straight.fit(X, Y, epochs=3, **FIT)
    halfway = fresh_model()
    halfway.fit(X, Y, epochs=2, **FIT)
    halfway.save(tmp_path / "half.h5")
    same, rewound = fw.load_model(tmp_path / "half.h5"), fw.load_model(tmp_path / "half.h5")
    rewound.layers[3].set_random_state({"calls": 0})
    for model in (same, rewound):
        model.fit(X, Y, initial_epoch=2, epochs=3, **FIT)
    assert same_weights(same, straight)
    assert not np.array_equal(rewound.get_weights()[-2], straight.get_weights()[-2])


def edit_model_config(path, edit):
    """Edit model_config and re-stamp its digest in 'checksums', so the checks behind the checksum are reached."""
    with h5py.File(path, "r+") as file:
        config = json.loads(file.attrs["model_config"])
        edit(config)
        data = json.dumps(config).encode()
        file.attrs["model_config"] = np.bytes_(data)
        checksums = json.loads(file.attrs["checksums"])
        checksums["model_config"] = hashlib.sha256(data).hexdigest()
        file.attrs["checksums"] = np.bytes_(json.dumps(checksums).encode())


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["random_state"].update(dropout={"calls": -3}), "random state must be"),
    (lambda c: c["random_state"].update(affine={"calls": 1}), "has no random state"),
    (lambda c: c["random_state"].update(nowhere={"calls": 1}), "names the layer 'nowhere'"),
    (lambda c: c.update(random_state=[1]), "random_state must be an object"),
    (lambda c: c["state"]["batch_normalization"].pop("moving_mean"), "has state"),
    (lambda c: c["state"].pop("batch_normalization"), "have no state in the file"),
    (lambda c: c["state"]["batch_normalization"]["moving_mean"].update(shape=[15]), "has shape"),
    (lambda c: c.pop("state"), "must have exactly the keys"),
])
def test_a_damaged_state_table_is_refused(tmp_path, edit, message):
    model = fresh_model()
    model.fit(X, Y, epochs=1, **FIT)
    model.save(tmp_path / "run.h5")
    edit_model_config(tmp_path / "run.h5", edit)
    with pytest.raises(CheckpointError, match=message):
        fw.load_model(tmp_path / "run.h5")


def test_a_version_1_checkpoint_still_loads_and_trains_on(tmp_path):
    """tests/data/format_v1_mlp_adam.h5 was written by the code of commit f137fa9 (format_version 1):
    Affine(8), ReLU, Affine(3) with Adam after 2 epochs of 4 batches; the .npz holds what that
    process had in memory (weights, Adam's slots, predictions)."""
    path = tmp_path / "v1.h5"
    shutil.copy(DATA / "format_v1_mlp_adam.h5", path)
    expected = np.load(DATA / "format_v1_mlp_adam.npz")
    with h5py.File(path, "r") as file:
        assert file.attrs["format_version"] == 1 and "model_state" not in file
    model = fw.load_model(path)
    weights = model.get_weights()
    assert len(weights) == 4
    for i, w in enumerate(weights):
        assert w.dtype == np.float32 and np.array_equal(w, expected[f"weight_{i}"])
    np.testing.assert_array_equal(model.predict(expected["x"]), expected["predictions"])
    state = model.optimizer.get_state()
    assert state["iterations"] == 8 and model.epochs_done == 2
    for slot, table in state["slots"].items():
        for key, value in table.items():
            assert np.array_equal(value, expected[f"slot_{slot}_{key.replace('/', '.')}"])
    assert [layer.trainable for layer in model.layers] == [True] * 3
    model.fit(expected["x"], expected["y"], initial_epoch=2, epochs=3, batch_size=10, verbose=0)
    assert model.optimizer.iterations == 12
    other = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(3)])
    other.build((None, 4))
    other.load_weights(DATA / "format_v1_mlp_adam.h5")
    for i, w in enumerate(other.get_weights()):
        assert np.array_equal(w, expected[f"weight_{i}"])
