"""A real format_version 1 checkpoint (tests/data/v1_mlp.h5, made by scripts/make_v1_checkpoint.py
with the code of version 1) still loads, predicts what it predicted when saved, and resumes training."""

import pathlib

import h5py
import numpy as np

import framework as fw

DATA = pathlib.Path(__file__).parent / "data"


def test_the_fixture_really_is_version_1():
    with h5py.File(DATA / "v1_mlp.h5", "r") as file:
        assert int(file.attrs["format_version"]) == 1
        assert "optimizer_state" in file


def test_a_version_1_checkpoint_loads_and_predicts_as_when_saved():
    expected = np.load(DATA / "v1_mlp_expected.npz")
    model = fw.load_model(DATA / "v1_mlp.h5")
    assert model.name == "v1_mlp" and model.compiled
    np.testing.assert_array_equal(model.predict(expected["x"], verbose=0), expected["predictions"])


def test_a_version_1_checkpoint_keeps_its_optimizer_state_and_trains_on():
    expected = np.load(DATA / "v1_mlp_expected.npz")
    model = fw.load_model(DATA / "v1_mlp.h5")
    state = model.optimizer.get_state()
    assert state["iterations"] == 8  # 2 epochs of 64 samples in batches of 16
    assert set(state["slots"]) == {"m", "v"} and all(np.any(a != 0) for a in state["slots"]["m"].values())
    assert model.epochs_done == 2
    before = model.get_weights()[0].copy()
    model.fit(expected["x"], expected["y"], epochs=3, initial_epoch=2, batch_size=16, verbose=0)
    assert not np.array_equal(before, model.get_weights()[0])
