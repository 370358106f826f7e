"""Write the Keras fixture files of tests/test_keras_h5.py with real Keras 3 (run where Keras is installed).

    KERAS_BACKEND=torch python scripts/make_keras_fixtures.py tests/data/keras

Keras is not a dependency of the framework or of its tests: the files and the
predictions Keras gave for them are committed as data. Written:

- keras3_mlp.h5, keras3_cnn.h5: Sequential models saved by ``model.save``
  (Keras's legacy HDF5 format), trained for a few steps so that the weights
  and BatchNormalization's moving statistics are not at their initial values;
- keras2_mlp.h5: the same MLP in Keras 2's layout (an InputLayer with ``batch_input_shape``,
  weight names ending in ``:0``), written with h5py since Keras 2 and 3 cannot
  be installed side by side; Keras 3 loads it to record the predictions;
- keras3_lambda.h5, keras3_functional.h5: models the framework must refuse;
- predictions.npz: for each loadable file, the input and Keras's predictions.

With ``--framework-files`` it instead loads the files the framework wrote
(scripts/write_framework_keras_files.py) and records Keras's predictions for
them in framework_predictions.npz.
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402


def mlp():
    keras.backend.clear_session()  # layer names from 0 in each file
    return keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(8, activation="tanh"),
        keras.layers.Dense(6, activation="leaky_relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])


def cnn():
    keras.backend.clear_session()
    return keras.Sequential([
        keras.Input((12, 12, 2)),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(3, (3, 2), strides=(1, 2), activation="elu"),
        keras.layers.BatchNormalization(),
        keras.layers.AveragePooling2D(2, padding="same"),
        keras.layers.Flatten(),
        keras.layers.Dense(5),
        keras.layers.Activation("softmax"),
    ])


def trained(model, x, classes):
    rng = np.random.default_rng(1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, rng.integers(0, classes, len(x)), epochs=3, batch_size=8, verbose=0)
    return model


def keras2_layout(source, path):
    """`source` (a Keras 3 .h5 file of the MLP) rewritten in Keras 2's layout."""
    with h5py.File(source, "r") as f, h5py.File(path, "w") as out:
        config = json.loads(f.attrs["model_config"])
        layers = config["config"]["layers"]
        # Keras 2 (tf.keras 2.x) named the input shape batch_input_shape, gave
        # dtypes as strings and nested objects without "module" keys.
        first = layers[0]["config"]
        first["batch_input_shape"] = first.pop("batch_shape")
        first.pop("optional", None)
        config["config"].pop("dtype", None)
        for layer in layers:
            layer["config"]["dtype"] = "float32"
            for value in layer["config"].values():
                if isinstance(value, dict):
                    value.pop("module", None), value.pop("registered_name", None)
        out.attrs["model_config"] = json.dumps(config)
        out.attrs["keras_version"] = "2.15.0"
        out.attrs["backend"] = "tensorflow"
        weights = out.create_group("model_weights")
        names = [name.decode() if isinstance(name, bytes) else name for name in f["model_weights"].attrs["layer_names"]]
        weights.attrs["layer_names"] = np.array([n.encode() for n in names])
        weights.attrs["backend"] = "tensorflow"
        weights.attrs["keras_version"] = "2.15.0"
        for name in names:
            group = weights.create_group(name)
            old = [w.decode() if isinstance(w, bytes) else w for w in f["model_weights"][name].attrs["weight_names"]]
            new = []
            for weight in old:
                short = f"{name}/{weight.split('/')[-1]}:0"
                group.create_dataset(short, data=f["model_weights"][name][weight][()])
                new.append(short.encode())
            group.attrs["weight_names"] = np.array(new, dtype="S") if new else np.zeros((0,), "S1")


def main(folder):
    os.makedirs(folder, exist_ok=True)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    results = {}

    x_mlp = rng.standard_normal((32, 8)).astype("float32")
    path = os.path.join(folder, "keras3_mlp.h5")
    trained(mlp(), x_mlp, 3).save(path)
    results["keras3_mlp"] = x_mlp[:10]

    x_cnn = rng.standard_normal((16, 12, 12, 2)).astype("float32")
    path = os.path.join(folder, "keras3_cnn.h5")
    trained(cnn(), x_cnn, 5).save(path)
    results["keras3_cnn"] = x_cnn[:6]

    keras2_layout(os.path.join(folder, "keras3_mlp.h5"), os.path.join(folder, "keras2_mlp.h5"))
    results["keras2_mlp"] = x_mlp[10:20]

    keras.backend.clear_session()
    lam = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2), keras.layers.Lambda(lambda t: t * 2)])
    lam.save(os.path.join(folder, "keras3_lambda.h5"))
    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(os.path.join(folder, "keras3_functional.h5"))

    arrays = {}
    for name, x in results.items():
        model = keras.models.load_model(os.path.join(folder, f"{name}.h5"), compile=False)
        arrays[f"{name}_x"] = x
        arrays[f"{name}_y"] = np.asarray(model.predict(x, verbose=0))
    np.savez(os.path.join(folder, "predictions.npz"), **arrays)
    print("wrote", sorted(os.listdir(folder)), "with keras", keras.__version__)


def framework_files(folder):
    """Keras's predictions for the files the framework wrote (scripts/write_framework_keras_files.py)."""
    with np.load(os.path.join(folder, "framework_inputs.npz")) as inputs:
        arrays = {}
        for key in inputs.files:
            if key.endswith("_x"):
                name = key[:-2]
                model = keras.models.load_model(os.path.join(folder, f"{name}.h5"), compile=False)
                arrays[f"{name}_x"] = inputs[key]
                arrays[f"{name}_keras_y"] = np.asarray(model.predict(inputs[key], verbose=0))
    np.savez(os.path.join(folder, "framework_predictions.npz"), **arrays)
    print("Keras", keras.__version__, "predicted", sorted(k[:-8] for k in arrays if k.endswith("_keras_y")))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    folder = args[0] if args else "tests/data/keras"
    framework_files(folder) if "--framework-files" in sys.argv else main(folder)
