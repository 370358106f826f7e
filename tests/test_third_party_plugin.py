"""The example plugin (examples/plugin_example), installed, works like a built-in.

A model using its `Swish` layer and `Lion` optimizer trains, saves, and loads
in a fresh process that never imports the plugin: the entry point alone
brings it in.
"""

import importlib.metadata
import json

import numpy as np
import pytest

import framework as fw
from framework import layers

from . import fake_site

try:
    importlib.metadata.distribution("framework-swish-lion")
except importlib.metadata.PackageNotFoundError:
    pytest.skip(
        "the example plugin is not installed: pip install -e examples/plugin_example", allow_module_level=True
    )

LOAD = """
import json, sys
import numpy as np
import framework as fw
assert "framework_swish_lion" not in sys.modules
model = fw.load_model(sys.argv[1])
data = np.load(sys.argv[2])
np.save(sys.argv[3], model.predict(data["x"]))
model.train_on_batch(data["x"], data["y"])  # resumes with the restored Lion state
np.savez(sys.argv[4], *model.get_weights())
print(json.dumps({
    "layer_module": type(model.layers[1]).__module__,
    "optimizer": repr(model.optimizer),
    "iterations": model.optimizer.iterations,
}))
"""


def _data():
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 4)) * 3
    y = np.arange(90) % 3
    x = (centers[y] + rng.standard_normal((90, 4))).astype(np.float32)
    return x, y


def _model():
    swish = fw.layers.get("Swish")
    return fw.Sequential([layers.Affine(16), swish(), layers.Affine(3), layers.SoftmaxWithLoss()])


def test_train_save_and_load_in_a_fresh_process(tmp_path):
    x, y = _data()
    fw.set_seed(0)
    model = _model()
    model.compile(optimizer="lion", metrics=["accuracy"])
    assert type(model.optimizer).__name__ == "Lion" and model.optimizer.learning_rate == 1e-4
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]

    path, data = tmp_path / "swish-lion.h5", tmp_path / "data.npz"
    model.save(path)
    np.savez(data, x=x, y=y)
    result = fake_site.run_python(LOAD, args=[str(path), str(data), str(tmp_path / "pred.npy"), str(tmp_path / "w.npz")])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["layer_module"] == "framework_swish_lion.swish"
    assert report["optimizer"] == repr(model.optimizer)

    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), model.predict(x))
    model.train_on_batch(x, y)
    assert report["iterations"] == model.optimizer.iterations
    resumed = np.load(tmp_path / "w.npz")
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_array_equal(resumed[f"arr_{i}"], weight)


def test_without_the_plugin_loading_names_the_missing_layer(tmp_path):
    model = _model()
    model.compile(optimizer="lion")
    model.build((None, 4))
    model.save(tmp_path / "swish-lion.h5")
    code = """
    import sys
    import framework as fw
    try:
        fw.load_model(sys.argv[1])
    except fw.FrameworkError as exc:
        print(type(exc).__name__, exc)
    """
    result = fake_site.run_python(code, plugins="", args=[str(tmp_path / "swish-lion.h5")])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("CheckpointError")
    assert "'Swish'" in result.stdout
    assert "'framework-swish-lion'" in result.stdout  # the checkpoint says what to install
