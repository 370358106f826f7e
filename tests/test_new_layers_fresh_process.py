"""Every new layer, loss, initializer and regularizer survives save/load in a fresh process."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

import framework as fw
from framework import initializers, layers, regularizers

rng = np.random.default_rng(11)
X = rng.standard_normal((40, 4)).astype("float32")


def _models():
    reg = dict(kernel_regularizer=regularizers.L2(0.01), bias_regularizer=regularizers.L1L2(0.001, 0.002))
    return {
        "bce_fused": (fw.Sequential([layers.Dense(8, activation="elu", kernel_initializer=initializers.RandomNormal(0.0, 0.3), **reg),
                                     layers.LeakyReLU(alpha=0.1), layers.Dense(1, activation="sigmoid")]),
                      "binary_crossentropy", (X[:, 0] > 0).astype("float32")),
        "mse": (fw.Sequential([layers.Dense(6, activation="tanh", bias_initializer=initializers.Constant(0.1)),
                               layers.Activation("leaky_relu"), layers.Dense(2), layers.IdentityWithLoss()]),
                None, X[:, :2] * 2.0),
        "mae": (fw.Sequential([layers.Dense(5, kernel_initializer="he_uniform", kernel_regularizer="l1"), layers.ELU(alpha=0.5),
                               layers.Dense(1)]), "mae", X[:, 1]),
        "hinge": (fw.Sequential([layers.Dense(5), layers.Tanh(), layers.Dense(3), layers.Softmax(),
                                 layers.Dense(3, use_bias=False, kernel_initializer="glorot_normal")]),
                  "multiclass_hinge", rng.integers(0, 3, 40)),
        "softmax_fused": (fw.Sequential([layers.Dense(5, activation="relu"), layers.Dense(3), layers.Activation("softmax")]),
                          "sparse_categorical_crossentropy", rng.integers(0, 3, 40)),
        "sigmoid_with_loss": (fw.Sequential([layers.Dense(2), layers.SigmoidWithLoss()]), None,
                              rng.uniform(0, 1, (40, 2)).astype("float32")),
    }


CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    import framework as fw
    folder, names = sys.argv[1], sys.argv[2].split(",")
    x = np.load(f"{folder}/x.npy")
    out = {}
    for name in names:
        model = fw.load_model(f"{folder}/{name}.h5")
        np.save(f"{folder}/{name}.pred.npy", model.predict(x))
        out[name] = {"config": model.get_config(), "loss": model.evaluate(x, np.load(f"{folder}/{name}.y.npy"))}
    print(json.dumps(out))
""")


def test_models_with_every_new_object_load_in_a_fresh_process(tmp_path):
    np.save(tmp_path / "x.npy", X)
    expected = {}
    for name, (model, loss, y) in _models().items():
        fw.set_seed(2)
        model.compile(optimizer="adam", loss=loss)
        model.fit(X, y, epochs=2, batch_size=16, verbose=0)
        model.save(tmp_path / f"{name}.h5")
        np.save(tmp_path / f"{name}.y.npy", y)
        expected[name] = (model.predict(X), json.loads(json.dumps(model.get_config())), model.evaluate(X, y))
    env = dict(os.environ, FRAMEWORK_BACKEND="numpy")
    env.pop("FRAMEWORK_PLUGINS", None)
    result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), ",".join(expected)], check=True, env=env,
                            capture_output=True, text=True)
    got = json.loads(result.stdout)
    for name, (prediction, config, loss) in expected.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.pred.npy"), prediction, err_msg=name)
        assert got[name]["config"] == config, name
        assert got[name]["loss"] == loss, name  # regularization penalties included on both sides
