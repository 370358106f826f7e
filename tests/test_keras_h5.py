"""Keras's legacy .h5 model files: loaded from files real Keras wrote, and written for Keras to load.

The fixtures in tests/data/keras are data, not dependencies: Keras 3 wrote
them (scripts/make_keras_fixtures.py) and recorded its predictions; for the
other direction, scripts/write_framework_keras_files.py wrote framework
models in Keras's layout and Keras recorded what it predicts for them.
"""

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import framework as fw
from framework import layers

DATA = Path(__file__).parent / "data" / "keras"
KERAS_PREDICTIONS = np.load(DATA / "predictions.npz")
FRAMEWORK_PREDICTIONS = np.load(DATA / "framework_predictions.npz")


@pytest.mark.parametrize("name", ["keras3_mlp", "keras2_mlp", "keras3_cnn"])
def test_keras_files_load_and_predict_what_keras_predicted(name):
    model = fw.load_model(DATA / f"{name}.h5")  # recognised by content: no format given
    x = KERAS_PREDICTIONS[f"{name}_x"]
    np.testing.assert_allclose(model.predict(x), KERAS_PREDICTIONS[f"{name}_y"], atol=1e-5)
    assert not model.compiled


def test_keras_dense_with_activation_becomes_the_frameworks_own_layers():
    model = fw.load_model(DATA / "keras3_mlp.h5", format="keras_h5")
    kinds = [(type(layer).__name__, getattr(layer, "activation_name", None)) for layer in model.layers]
    assert kinds == [("Affine", "relu"), ("Dropout", None), ("BatchNormalization", None), ("Affine", "tanh"),
                     ("Affine", "leaky_relu"), ("Affine", "softmax")]
    batchnorm = model.layers[2]
    with h5py.File(DATA / "keras3_mlp.h5") as f:
        group = f["model_weights/batch_normalization/sequential/batch_normalization"]
        np.testing.assert_array_equal(fw.get_backend().to_numpy(batchnorm.state["moving_variance"]),
                                      group["moving_variance"][()])
        np.testing.assert_array_equal(fw.get_backend().to_numpy(model.layers[0].params["W"]),
                                      f["model_weights/dense/sequential/dense/kernel"][()])


def test_a_keras_channels_last_cnn_keeps_its_layout_and_kernels():
    model = fw.load_model(DATA / "keras3_cnn.h5")
    conv = model.layers[0]
    assert type(conv).__name__ == "Convolution" and conv.data_format == "channels_last"
    assert model.input_shape == (None, 12, 12, 2)
    with h5py.File(DATA / "keras3_cnn.h5") as f:
        kernel = f["model_weights/conv2d/sequential/conv2d/kernel"][()]  # (kh, kw, in, out)
    np.testing.assert_array_equal(fw.get_backend().to_numpy(conv.params["W"]), kernel.transpose(3, 2, 0, 1))


@pytest.mark.parametrize("name, message", [
    ("keras3_lambda", r"layer 2 \('Lambda', name 'lambda'\): Keras layer class 'Lambda' is not supported"),
    ("keras3_functional", r"the model is a 'Functional'; only Sequential Keras models are supported"),
])
def test_unsupported_keras_models_are_refused_naming_the_layer(name, message):
    with pytest.raises(fw.CheckpointError, match=message):
        fw.load_model(DATA / f"{name}.h5")


def _edited(tmp_path, edit, source="keras3_mlp.h5"):
    path = tmp_path / source
    shutil.copy(DATA / source, path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _edit_config(change):
    def edit(f):
        config = json.loads(f.attrs["model_config"])
        change(config)
        f.attrs["model_config"] = json.dumps(config)

    return edit


@pytest.mark.parametrize("edit, message", [
    (_edit_config(lambda c: c["config"]["layers"][1]["config"].update(activation="gelu")),
     "activation 'gelu' is not one of the framework's"),
    (_edit_config(lambda c: c["config"]["layers"][1].update(class_name="__import__")),
     "Keras layer class '__import__' is not supported"),
    (_edit_config(lambda c: c["config"]["layers"][0]["config"].update(batch_shape=[None, -8])),
     "the input shape must be"),
    (_edit_config(lambda c: c["config"]["layers"][1]["config"].update(units=17)),
     "has shape"),
    (lambda f: f["model_weights/dense"].attrs.create("weight_names", np.array([b"sequential/dense/kernel"])),
     "has 2 weights in the model but 1 in the file"),
    (lambda f: (f["model_weights/dense/sequential/dense"].move("kernel", "k2"),
                f["model_weights/dense/sequential/dense"].__setitem__("kernel", h5py.SoftLink("/model_weights/dense/sequential/dense/k2"))),
     "is a SoftLink; only hard links are accepted"),
    (lambda f: f["model_weights/dense/sequential/dense"].__setitem__("kernel", h5py.ExternalLink("/etc/passwd", "/x"))
     if not f["model_weights/dense/sequential/dense"].__delitem__("kernel") else None,
     "is a ExternalLink; only hard links are accepted"),
])
def test_damaged_or_hostile_keras_files_are_refused(tmp_path, edit, message):
    path = _edited(tmp_path, edit)
    with pytest.raises(fw.CheckpointError, match=message):
        fw.load_model(path)


def test_keras_loads_what_the_framework_writes():
    """Keras's recorded predictions for framework-written files equal the framework's own."""
    for key in FRAMEWORK_PREDICTIONS.files:
        if key.endswith("_keras_y"):
            name = key[: -len("_keras_y")]
            model = fw.load_model(DATA / f"{name}.h5")  # the file also reads back here
            x = FRAMEWORK_PREDICTIONS[f"{name}_x"]
            np.testing.assert_allclose(model.predict(x), FRAMEWORK_PREDICTIONS[key], atol=1e-5, err_msg=name)


def test_the_writer_still_writes_the_committed_files(tmp_path):
    """The committed framework-written files are what today's writer produces (so Keras's check still holds)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("writer", Path(__file__).parents[1] / "scripts" /
                                                  "write_framework_keras_files.py")
    writer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(writer)
    for name, make in writer.MODELS.items():
        model, x = make()
        model.save(tmp_path / f"{name}.h5", format="keras_h5")
        with h5py.File(tmp_path / f"{name}.h5") as new, h5py.File(DATA / f"{name}.h5") as old:
            assert json.loads(new.attrs["model_config"]) == json.loads(old.attrs["model_config"])
            assert new.attrs["keras_version"] == old.attrs["keras_version"]
            names = []
            new.visit(names.append)
            # Trained weights agree to round-off, not to the bit: the BLAS library picks
            # its matrix kernels by processor (AVX-512 or AVX2), which add in other orders,
            # and 2-3 epochs of Adam amplify that. Measured between two such machines:
            # 1e-5 relative, and 3e-5 absolute on the bias that BatchNormalization cancels
            # (its gradient is round-off). Another seed, layer or epoch moves them far more.
            for item in names:
                if isinstance(new[item], h5py.Dataset):
                    np.testing.assert_allclose(new[item][()], old[item][()], rtol=1e-4, atol=1e-4, err_msg=item)


def test_a_framework_model_round_trips_through_the_keras_layout(tmp_path):
    fw.set_seed(0)
    model = fw.Sequential([layers.Affine(7, activation="elu"), layers.BatchNormalization(), layers.Affine(2),
                           layers.SigmoidWithLoss()])
    model.compile(optimizer="sgd")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 4)).astype(np.float32)
    model.fit(x, rng.integers(0, 2, (20, 2)).astype(np.float32), epochs=2, verbose=0)
    path = tmp_path / "m.h5"
    model.save(path, format="keras_h5")
    with h5py.File(path) as f:
        assert {"keras_version", "backend", "model_config"} <= set(f.attrs)
        assert "format_version" not in f.attrs
    loaded = fw.load_model(path)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), atol=1e-6)  # probabilities both ways


def test_a_keras_path_is_refused_pointing_to_keras_h5(tmp_path):
    model = fw.Sequential([layers.Affine(2)])
    model.build((None, 3))
    with pytest.raises(fw.InvalidArgumentError, match="format='keras_h5'"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()


def test_layers_without_a_keras_equivalent_are_refused_on_save(tmp_path):
    model = fw.Sequential([layers.Affine(2), layers.Activation("linear"), layers.MulticlassHingeLoss()])
    model.build((None, 3))
    model.save(tmp_path / "ok.h5", format="keras_h5")  # the hinge loss predicts raw scores: nothing to add
    class Double(layers.Layer):  # a custom class: Keras could not know it
        def forward(self, x, training=False):
            return 2 * x

    bad = fw.Sequential([layers.Affine(2), Double()])
    bad.build((None, 3))
    with pytest.raises(fw.CheckpointError, match="Double has no Keras equivalent"):
        bad.save(tmp_path / "bad.h5", format="keras_h5")
    assert not (tmp_path / "bad.h5").exists()


def test_native_files_are_still_read_by_the_native_format(tmp_path):
    model = fw.Sequential([layers.Affine(2), layers.SoftmaxWithLoss()])
    model.compile()
    model.build((None, 3))
    model.save(tmp_path / "native.h5")
    assert fw.load_model(tmp_path / "native.h5").compiled  # the native format keeps the compile settings
    with pytest.raises(fw.CheckpointError, match="keras_version"):
        fw.load_model(tmp_path / "native.h5", format="keras_h5")


def test_string_attributes_are_read_under_a_deadline(tmp_path):
    """A damaged HDF5 heap can make reading a string attribute loop forever: the read is stopped and refused."""
    import time

    from framework.plugins import keras_h5

    def forever(reader):
        time.sleep(600)

    start = time.monotonic()
    with pytest.raises(fw.CheckpointError, match=r"took more than 1 s .*refused"):
        keras_h5._bounded(forever, DATA / "keras3_mlp.h5", seconds=1)
    assert time.monotonic() - start < 60
    # The child's own refusals come back as they are.
    path = tmp_path / "no_config.h5"
    shutil.copy(DATA / "keras3_mlp.h5", path)
    with h5py.File(path, "r+") as f:
        del f.attrs["model_config"]
    with pytest.raises(fw.CheckpointError, match="the attribute 'model_config' of '/' is missing"):
        fw.load_model(path, format="keras_h5")
