"""Checkpoints: what `save`/`load_model` and `save_weights`/`load_weights` keep, and what a failure leaves."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

import framework as fw
from framework import layers, registry
from framework.errors import CheckpointError, InvalidArgumentError

rng = np.random.default_rng(0)
X = rng.random((40, 6)).astype("float32")
Y = (X[:, :3].sum(axis=1) > X[:, 3:].sum(axis=1)).astype(int)


def trained(optimizer="adam", loss="sparse_categorical_crossentropy", epochs=2, end_with_loss=False):
    body = [layers.Affine(8), layers.ReLU(), layers.Affine(2)]
    model = fw.Sequential(body + ([layers.SoftmaxWithLoss()] if end_with_loss else []))
    model.compile(optimizer=optimizer, loss=None if end_with_loss else loss, metrics=["accuracy"])
    model.fit(X, Y, epochs=epochs, batch_size=16, verbose=0)
    return model


def same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(wa, wb))


def test_loaded_model_predicts_exactly_and_is_compiled_alike(backend, tmp_path):
    model = trained()
    path = tmp_path / "run.h5"
    model.save(path)
    loaded = fw.load_model(path)
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert type(loaded.optimizer) is fw.optimizers.Adam and loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.loss == "sparse_categorical_crossentropy" and loaded.metrics == ["accuracy"]
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    saved_state, loaded_state = model.optimizer.get_state(), loaded.optimizer.get_state()
    assert sorted(loaded_state["slots"]) == ["m", "v"]
    for slot in ("m", "v"):
        for key, value in saved_state["slots"][slot].items():
            assert np.array_equal(loaded_state["slots"][slot][key], value)
    assert loaded.epochs_done == 2 and loaded.shuffle_seed == model.shuffle_seed
    assert loaded.evaluate(X, Y, verbose=0) == model.evaluate(X, Y, verbose=0)


def test_model_ending_with_a_loss_layer_and_sgd_momentum(tmp_path):
    model = trained(optimizer=fw.optimizers.SGD(0.1, momentum=0.9, nesterov=True), end_with_loss=True)
    model.save(tmp_path / "run.h5")
    loaded = fw.load_model(tmp_path / "run.h5")
    assert isinstance(loaded.layers[-1], layers.SoftmaxWithLoss) and loaded.loss is None
    assert loaded.optimizer.get_config() == {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_loss_layer_given_to_compile_is_restored(tmp_path):
    model = trained(loss=layers.SoftmaxWithLoss(labels="index"))
    model.save(tmp_path / "run.h5")
    loaded = fw.load_model(tmp_path / "run.h5")
    assert isinstance(loaded.loss, layers.SoftmaxWithLoss) and loaded.loss.labels == "index"
    assert np.array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept_whatever_floatx_is_at_load(tmp_path, dtype):
    fw.set_floatx(dtype)
    model = trained()
    model.save(tmp_path / "run.h5")
    fw.set_floatx("float64" if dtype == "float32" else "float32")
    loaded = fw.load_model(tmp_path / "run.h5")
    assert {w.dtype.name for w in loaded.get_weights()} == {dtype}
    assert same_weights(loaded, model)


def test_uncompiled_and_unbuilt_models(tmp_path):
    model = fw.Sequential([layers.Affine(3, name="dense"), layers.Sigmoid()], name="tiny")
    model.save(tmp_path / "unbuilt.h5")
    loaded = fw.load_model(tmp_path / "unbuilt.h5")
    assert not loaded.built and not loaded.compiled and loaded.name == "tiny"
    assert [type(layer) for layer in loaded.layers] == [layers.Affine, layers.Sigmoid]
    model.build((None, 4))
    model.save(tmp_path / "built.h5")
    loaded = fw.load_model(tmp_path / "built.h5")
    assert loaded.input_shape == (None, 4) and not loaded.compiled and same_weights(loaded, model)


def test_file_layout(tmp_path):
    model = trained()
    model.save(tmp_path / "run.h5")
    with h5py.File(tmp_path / "run.h5", "r") as file:
        assert file.attrs["format_version"] == 2 and file.attrs["format_version"].dtype.kind == "i"
        assert file.attrs["framework_version"].decode() == fw.__version__
        config = json.loads(file.attrs["model_config"])
        first = config["config"]["layers"][0]
        assert first["class_name"] == "Affine" and first["package"] == "dlfs-framework"
        assert first["config"] == {"name": "affine", "units": 8, "activation": None, "use_bias": True,
                                   "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros",
                                   "kernel_regularizer": None, "bias_regularizer": None}
        assert config["weights"]["affine"]["W"] == {"shape": [6, 8], "dtype": "float32"}
        training = json.loads(file.attrs["training_config"])
        assert training["training_state"] == {"epochs_done": 2, "steps": 6, "shuffle_seed": model.shuffle_seed}
        for name in ("model_weights/affine/W", "optimizer_state/m/affine/W"):
            dataset = file[name]
            assert dataset.fletcher32 and len(dataset.attrs["sha256"]) == 64


def test_registered_through_an_entry_point():
    entry = registry.entries("checkpoint_formats")["hdf5"]
    assert entry.package == "dlfs-framework" and entry.plugin == "hdf5"


def test_import_framework_does_not_import_h5py():
    code = "import sys, framework; assert 'h5py' not in sys.modules, 'h5py imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_save_weights_and_load_weights_by_layer_name(backend, tmp_path):
    model = trained()
    model.save_weights(tmp_path / "w.h5")
    other = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(2)])
    other.build((None, 6))
    kernel = other.layers[0].params["W"]
    other.load_weights(tmp_path / "w.h5")
    assert same_weights(other, model)
    assert other.layers[0].params["W"] is kernel  # assigned in place: optimizers keep valid references


def test_load_weights_shape_mismatch_names_layer_and_both_shapes(tmp_path):
    trained().save_weights(tmp_path / "w.h5")
    other = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(3)])
    other.build((None, 6))
    before = other.get_weights()
    with pytest.raises(CheckpointError) as info:
        other.load_weights(tmp_path / "w.h5")
    message = str(info.value)
    assert "'affine_1'" in message and "(8, 3)" in message and "(8, 2)" in message and "w.h5" in message
    assert all(np.array_equal(a, b) for a, b in zip(other.get_weights(), before))  # the first layer untouched too


def test_load_weights_with_unknown_layer_names_changes_nothing(tmp_path):
    trained().save_weights(tmp_path / "w.h5")
    other = fw.Sequential([layers.Affine(8, name="hidden"), layers.ReLU(), layers.Affine(2)])
    other.build((None, 6))
    before = other.get_weights()
    with pytest.raises(CheckpointError, match="'hidden'"):
        other.load_weights(tmp_path / "w.h5")
    assert all(np.array_equal(a, b) for a, b in zip(other.get_weights(), before))


def test_save_weights_of_an_unbuilt_model_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not built"):
        fw.Sequential([layers.Affine(2)]).save_weights(tmp_path / "w.h5")
    assert os.listdir(tmp_path) == []


class Unregistered(layers.ReLU):
    pass


def test_failed_save_leaves_the_previous_file_intact(tmp_path):
    path = tmp_path / "run.h5"
    model = trained()
    model.save(path)
    before = path.read_bytes()
    bad = fw.Sequential([layers.Affine(8), Unregistered()])
    bad.build((None, 6))
    with pytest.raises(CheckpointError, match="Unregistered is not a registered layer"):
        bad.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["run.h5"]


def test_save_onto_a_directory_or_into_a_missing_folder(tmp_path):
    model = trained()
    with pytest.raises(CheckpointError, match="is a directory"):
        model.save(tmp_path)
    with pytest.raises(CheckpointError, match="does not exist"):
        model.save(tmp_path / "missing" / "run.h5")


def test_path_must_be_a_string_or_path():
    with pytest.raises(InvalidArgumentError, match="path must be a str or os.PathLike"):
        fw.load_model(3)


def test_stale_temporary_files_are_ignored_by_load_and_cleaned_by_save(tmp_path):
    path = tmp_path / "run.h5"
    model = trained()
    model.save(path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".run.h5.tmp-{int(dead.stdout)}-0123abcd"
    stale.write_bytes(b"\x89HDF\r\n\x1a\n half a file")
    unrelated = tmp_path / ".other.h5.tmp-1-0123abcd"
    unrelated.write_bytes(b"not ours")
    assert np.array_equal(fw.load_model(path).predict(X), model.predict(X))
    model.save(path)
    assert sorted(os.listdir(tmp_path)) == [".other.h5.tmp-1-0123abcd", "run.h5"]


def test_unknown_format_name(tmp_path):
    with pytest.raises(fw.UnknownNameError, match="unknown checkpoint format 'zip'; known: hdf5"):
        trained().save(tmp_path / "run.h5", format="zip")


def test_optimizer_set_state_checks_before_changing():
    optimizer = fw.optimizers.Adam()
    with pytest.raises(InvalidArgumentError, match="iterations must be a non-negative integer"):
        optimizer.set_state({"iterations": -1, "slots": {}})
    with pytest.raises(InvalidArgumentError, match="must be a float array"):
        optimizer.set_state({"iterations": 1, "slots": {"m": {"a/W": np.array(["x"])}}})
    assert optimizer.iterations == 0 and optimizer.state == {}
    optimizer.set_state({"iterations": 3, "slots": {"m": {"a/W": np.ones(2, "float32")}}})
    state = optimizer.get_state()
    assert state["iterations"] == 3 and np.array_equal(state["slots"]["m"]["a/W"], np.ones(2, "float32"))
