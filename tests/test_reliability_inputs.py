"""Bad sizes, dtypes and settings found by trying to break the framework: each gets the
framework's own error, naming what was wrong, before anything changes."""

import hashlib
import json

import h5py
import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.callbacks import Callback
from framework.errors import CheckpointError, InvalidArgumentError

rng = np.random.default_rng(2)
X = rng.random((40, 4)).astype("float32")
Y = rng.integers(0, 3, 40)


@pytest.mark.parametrize("make", [
    lambda: layers.Affine(2**40).build((None, 2)),
    lambda: fw.Sequential([layers.Affine(2**40)]).build((None, 2)),
    lambda: fw.Sequential([layers.Affine(3)]).build((None, 2**40)),
], ids=["Affine(2**40).build", "Sequential([Affine(2**40)]).build", "build((None, 2**40))"])
def test_an_absurd_size_raises_a_framework_error_naming_the_size(make):
    with pytest.raises(InvalidArgumentError, match="1099511627776|1,099,511,627,776") as info:
        make()
    assert "cannot allocate" in str(info.value) and "bytes" in str(info.value)


def test_a_model_whose_build_failed_is_not_built():
    model = fw.Sequential([layers.Affine(3), layers.Affine(2**40)])
    with pytest.raises(InvalidArgumentError):
        model.build((None, 2))
    assert not model.built


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_weights_are_converted_to_the_float_policy_and_train(dtype):
    W = (rng.integers(0, 2, (4, 3))).astype(dtype)
    layer = layers.Affine(W=W, b=np.zeros(3, dtype=dtype if dtype != "bool" else "int64"))
    assert layer.params["W"].dtype == np.float32 and layer.params["b"].dtype == np.float32
    np.testing.assert_array_equal(layer.params["W"], W.astype("float32"))
    model = fw.Sequential([layer])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)  # used to raise NumPy's UFuncTypeError here
    assert model.get_weights()[0].dtype == np.float32
    assert not np.array_equal(model.get_weights()[0], W.astype("float32"))


def test_float64_weights_keep_their_dtype():
    layer = layers.Affine(W=np.ones((4, 3)), b=np.zeros(3))
    assert layer.params["W"].dtype == np.float64 and layer.params["b"].dtype == np.float64


@pytest.mark.parametrize("W", [np.ones((4, 3), dtype=complex), np.array([["a"] * 3] * 4)])
def test_non_real_weights_are_refused_at_once(W):
    with pytest.raises(InvalidArgumentError, match="W must hold real numbers"):
        layers.Affine(W=W)


@pytest.mark.parametrize("print_fn", [5, "print", None])
def test_summary_with_a_print_fn_that_cannot_be_called(print_fn):
    model = fw.Sequential([layers.Affine(3)])
    with pytest.raises(InvalidArgumentError, match="print_fn must be callable"):
        model.summary(print_fn=print_fn)


class CompileAtEpochEnd(Callback):
    def __init__(self, **compile_args):
        super().__init__()
        self.compile_args, self.error = compile_args, None

    def on_epoch_end(self, epoch, logs=None):
        try:
            self.model.compile(**self.compile_args)
        except InvalidArgumentError as exc:
            self.error = exc


@pytest.mark.parametrize("compile_args", [{"optimizer": "adam", "loss": "sparse_categorical_crossentropy",
                                           "metrics": ["accuracy"]},
                                          {"optimizer": "sgd", "loss": "sparse_categorical_crossentropy"}])
def test_compile_inside_fit_is_refused_and_fit_goes_on_unchanged(compile_args):
    model = fw.Sequential([layers.Affine(3)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    optimizer = model.optimizer
    callback = CompileAtEpochEnd(**compile_args)
    history = model.fit(X, Y, epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    assert isinstance(callback.error, InvalidArgumentError) and "while fit is running" in str(callback.error)
    assert model.optimizer is optimizer and model.metrics == [] and len(history.history["loss"]) == 2
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")  # allowed again once fit returns
    assert model.optimizer is not optimizer


def test_compile_is_allowed_again_after_a_fit_that_raised():
    class Boom(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            raise RuntimeError("boom")

    model = fw.Sequential([layers.Affine(3)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[Boom()])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")


@pytest.mark.parametrize("name", [5, "", b"model", "x" * 1025, "x" * 5_000_000])
def test_a_model_name_must_be_a_short_non_empty_string(name):
    with pytest.raises(InvalidArgumentError, match="name must be a non-empty string of at most 1,024"):
        fw.Sequential([layers.Affine(3)], name=name)
    model = fw.Sequential([layers.Affine(3)])
    with pytest.raises(InvalidArgumentError):
        model.name = name
    assert model.name == "sequential"


def test_no_name_gives_the_default_as_in_keras():
    assert fw.Sequential([layers.Affine(3)], name=None).name == "sequential"


def test_a_layer_name_is_bounded_too():
    with pytest.raises(InvalidArgumentError, match="at most 1,024 characters"):
        layers.Affine(3, name="x" * 5_000_000)
    assert layers.Affine(3, name="x" * 1024).name == "x" * 1024


def test_a_config_too_large_for_the_loader_is_refused_at_save_and_nothing_is_written(tmp_path, monkeypatch):
    model = fw.Sequential([layers.Affine(3)] + [layers.ReLU() for _ in range(50)])
    model.build((None, 2))
    monkeypatch.setattr(fw.saving, "MAX_JSON_BYTES", 2_000)  # the same check as 4 MiB, with a small model
    with pytest.raises(CheckpointError, match=r"model_config is [\d,]+ bytes of JSON, more than the 2,000"):
        model.save(tmp_path / "run.h5")
    assert list(tmp_path.iterdir()) == []


def test_a_model_name_of_1024_characters_saves_and_loads(tmp_path):
    model = fw.Sequential([layers.Affine(3)], name="é" * 1024)
    model.build((None, 2))
    model.save(tmp_path / "run.h5")
    assert fw.load_model(tmp_path / "run.h5").name == "é" * 1024


def test_a_checkpoint_naming_a_bad_model_name_is_refused(tmp_path):
    model = fw.Sequential([layers.Affine(3)])
    model.build((None, 2))
    model.save(tmp_path / "run.h5")
    with h5py.File(tmp_path / "run.h5", "r+") as file:  # a forged name, its digest re-stamped
        config = json.loads(file.attrs["model_config"])
        config["config"]["name"] = "x" * 2000
        data = json.dumps(config).encode()
        file.attrs["model_config"] = np.bytes_(data)
        checksums = json.loads(file.attrs["checksums"])
        checksums["model_config"] = hashlib.sha256(data).hexdigest()
        file.attrs["checksums"] = np.bytes_(json.dumps(checksums).encode())
    with pytest.raises(CheckpointError, match="at most 1,024 characters"):
        fw.load_model(tmp_path / "run.h5")


def test_after_pop_a_layer_can_be_added_back_and_names_are_numbered_as_before():
    model = fw.Sequential([layers.Affine(2), layers.Affine(3)])
    popped = model.pop()
    model.add(popped)  # the model's index of its layers follows the pop
    model.add(layers.Affine(4))
    assert [layer.name for layer in model.layers] == ["affine", "affine_1", "affine_2"]
    with pytest.raises(InvalidArgumentError, match="already in this model"):
        model.add(popped)
