"""Write the framework-side files of the Keras interop tests (run in the framework's environment).

    python scripts/write_framework_keras_files.py tests/data/keras
    KERAS_BACKEND=torch python scripts/make_keras_fixtures.py tests/data/keras --framework-files

The first command saves small seeded framework models with
``model.save(..., format="keras_h5")`` and the inputs to predict on; the
second, where Keras is installed, loads those files with
``keras.models.load_model`` and records Keras's predictions beside them
(framework_predictions.npz), which tests/test_keras_h5.py compares with the
framework's own.
"""

import os
import sys

import numpy as np

import framework as fw
from framework import layers


def mlp():
    fw.set_seed(3)
    model = fw.Sequential([
        layers.Affine(12, activation="relu"),
        layers.BatchNormalization(),
        layers.Dropout(0.2),
        layers.Affine(8), layers.Tanh(),
        layers.Affine(6), layers.LeakyReLU(0.1),
        layers.Affine(6), layers.ELU(0.5),
        layers.Affine(4, activation="sigmoid"),
        layers.Affine(3), layers.SoftmaxWithLoss(),
    ])
    model.compile(optimizer="adam")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    model.fit(x, rng.integers(0, 3, 64), epochs=3, batch_size=16, verbose=0)  # moves weights and BN statistics
    return model, x[:10]


def cnn(data_format):
    def make():
        fw.set_seed(4)
        model = fw.Sequential([
            layers.Convolution(6, 3, padding="same", activation="relu", data_format=data_format),
            layers.MaxPooling2D(2, data_format=data_format),
            layers.Convolution(4, (3, 2), strides=(2, 1), data_format=data_format),
            layers.BatchNormalization(axis=-1 if data_format == "channels_last" else 1),
            layers.LeakyReLU(),
            layers.AveragePooling2D(2, padding="same", data_format=data_format),
            layers.Convolution(5, 1, activation="tanh", data_format=data_format),
            layers.GlobalAveragePooling2D(data_format=data_format),
            layers.Affine(3), layers.SoftmaxWithLoss(),
        ])
        model.compile(optimizer="adam")
        rng = np.random.default_rng(4)
        shape = (32, 11, 10, 2) if data_format == "channels_last" else (32, 2, 11, 10)
        x = rng.standard_normal(shape).astype(np.float32)
        model.fit(x, rng.integers(0, 3, 32), epochs=2, batch_size=8, verbose=0)
        return model, x[:6]

    return make


def cnn_flatten():
    fw.set_seed(6)
    model = fw.Sequential([layers.Convolution(3, 3, data_format="channels_last"), layers.ELU(),
                           layers.Dropout(0.1), layers.Flatten(), layers.Affine(4), layers.SigmoidWithLoss()])
    model.compile(optimizer="sgd")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((16, 6, 7, 2)).astype(np.float32)
    model.fit(x, rng.integers(0, 2, (16, 4)).astype(np.float32), epochs=2, batch_size=8, verbose=0)
    return model, x[:5]


MODELS = {"framework_mlp": mlp, "framework_cnn_channels_first": cnn("channels_first"),
          "framework_cnn_channels_last": cnn("channels_last"), "framework_cnn_flatten": cnn_flatten}


def main(folder):
    inputs = {}
    for name, make in MODELS.items():
        model, x = make()
        model.save(os.path.join(folder, f"{name}.h5"), format="keras_h5")
        inputs[f"{name}_x"] = x
        inputs[f"{name}_framework_y"] = model.predict(x)
    np.savez(os.path.join(folder, "framework_inputs.npz"), **inputs)
    print("wrote", sorted(MODELS))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/keras")
