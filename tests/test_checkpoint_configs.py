"""format_version 2: edits to the configs are detected, the config is checked against what was
saved (layer count, input shape, weights), and loading takes time linear in the number of layers."""

import hashlib
import json
import time

import h5py
import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import CheckpointError
from framework.plugins.hdf5 import FORMAT_VERSION

rng = np.random.default_rng(1)
X = rng.random((32, 6)).astype("float32")
Y = rng.integers(0, 3, 32)


@pytest.fixture
def saved(tmp_path):
    model = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(8), layers.ReLU(), layers.Affine(3)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "run.h5"
    model.save(path)
    return path


def edit(path, name, change, restamp=False):
    """Change the JSON attribute `name`; with `restamp`, also forge its digest in 'checksums'."""
    with h5py.File(path, "r+") as file:
        value = json.loads(file.attrs[name])
        change(value)
        data = json.dumps(value).encode()
        file.attrs[name] = np.bytes_(data)
        if restamp:
            checksums = json.loads(file.attrs["checksums"])
            checksums[name] = hashlib.sha256(data).hexdigest()
            file.attrs["checksums"] = np.bytes_(json.dumps(checksums).encode())


def drop_relu(config):
    del config["config"]["layers"][1]


def insert_relu(config):
    config["config"]["layers"].insert(1, dict(config["config"]["layers"][1]))
    config["config"]["layers"][1]["config"] = dict(config["config"]["layers"][1]["config"], name="relu_9")


def flatten_input(config):
    config["config"]["input_shape"] = [None, 2, 3]  # the same 6 features: the weights alone would not notice


def test_the_file_is_format_version_2(saved):
    with h5py.File(saved, "r") as file:
        assert int(file.attrs["format_version"]) == FORMAT_VERSION == 2
        assert json.loads(file.attrs["checksums"])["layers"] == 5


@pytest.mark.parametrize("change", [drop_relu, insert_relu, flatten_input])
def test_an_edited_model_config_is_refused(saved, change):
    fw.load_model(saved)  # loads before the edit
    edit(saved, "model_config", change)
    with pytest.raises(CheckpointError, match="'model_config' does not match the sha256"):
        fw.load_model(saved)
    with pytest.raises(CheckpointError, match="'model_config' does not match the sha256"):
        fw.load_model(saved.with_name("run.h5")).load_weights(saved)


def test_an_edited_training_config_is_refused(saved):
    edit(saved, "training_config", lambda training: training.update(loss="categorical_crossentropy"))
    with pytest.raises(CheckpointError, match="'training_config' does not match"):
        fw.load_model(saved)


def test_a_deleted_training_config_is_refused(saved):
    with h5py.File(saved, "r+") as file:
        del file.attrs["training_config"]
    with pytest.raises(CheckpointError, match="'training_config' is missing"):
        fw.load_model(saved)


def test_a_deleted_checksums_attribute_is_refused(saved):
    with h5py.File(saved, "r+") as file:
        del file.attrs["checksums"]
    with pytest.raises(CheckpointError, match="'checksums' of '/' is missing"):
        fw.load_model(saved)


# A forger who also fixes the digest still meets the checks against what was saved.
@pytest.mark.parametrize("change, reason", [(drop_relu, "builds 4 layers, but the file recorded 5"),
                                            (insert_relu, "builds 6 layers, but the file recorded 5"),
                                            (flatten_input, r"inputs \[None, 2, 3\], but the file recorded \[None, 6\]")])
def test_a_forged_config_is_checked_against_what_was_saved(saved, change, reason):
    edit(saved, "model_config", change, restamp=True)
    with pytest.raises(CheckpointError, match=reason):
        fw.load_model(saved)


def test_a_layer_removed_from_config_and_manifest_is_found_by_its_orphan_weights(saved):
    def drop_last_two(config):
        del config["config"]["layers"][3:]
        del config["weights"]["affine_2"]

    def recount(checksums):
        checksums["layers"] = 3

    edit(saved, "model_config", drop_last_two, restamp=True)
    edit(saved, "checksums", recount)
    with pytest.raises(CheckpointError, match=r"holds weights of layers \['affine_2'\]"):
        fw.load_model(saved)


def _load_seconds(path, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fw.load_model(path)
        best = min(best, time.perf_counter() - start)
    return best


def test_load_time_is_linear_in_the_number_of_layers(tmp_path):
    """16,000 layers load in at most ~30x the time of 1,000 (a quadratic loader takes 256x).

    A ratio measured in one run, not a wall-clock limit. Mostly weightless layers keep it quick:
    the quadratic cost was in building the model from its config (each add scanned all layers).
    """
    paths = {}
    for n in (1_000, 16_000):
        model = fw.Sequential([layers.Affine(2)] + [layers.ReLU() for _ in range(n - 1)])
        model.build((None, 2))
        paths[n] = tmp_path / f"{n}.h5"
        model.save(paths[n])
    _load_seconds(paths[1_000], repeats=1)  # warm caches and imports
    ratio = _load_seconds(paths[16_000]) / _load_seconds(paths[1_000])
    assert ratio < 30, f"16,000 layers took {ratio:.1f}x as long as 1,000"
