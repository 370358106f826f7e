"""ONNX export: the exported graph, run by onnxruntime, predicts what the model predicts."""

import subprocess
import sys

import numpy as np
import pytest

import framework as fw
from framework import layers

onnx = pytest.importorskip("onnx", reason="pip install -e '.[test-onnx]'")
ort = pytest.importorskip("onnxruntime", reason="pip install -e '.[test-onnx]'")


def run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def trained_mlp():
    fw.set_seed(5)
    model = fw.Sequential([
        layers.Affine(16, activation="relu"), layers.BatchNormalization(), layers.Dropout(0.3),
        layers.Affine(8), layers.Tanh(), layers.Affine(8, activation="elu"), layers.LeakyReLU(0.1),
        layers.Affine(6), layers.Activation("sigmoid"), layers.Affine(4), layers.SoftmaxWithLoss(),
    ])
    model.compile(optimizer="adam")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 10)).astype(np.float32)
    model.fit(x, rng.integers(0, 4, 64), epochs=3, batch_size=16, verbose=0)
    return model, x


def test_mlp_export_matches_predict_with_a_dynamic_batch(tmp_path):
    model, x = trained_mlp()
    path = fw.export.onnx(model, tmp_path / "mlp.onnx")
    onnx.checker.check_model(onnx.load(path))
    for batch in (1, 7, 64):  # the batch axis is dynamic
        np.testing.assert_allclose(run_onnx(path, x[:batch]), model.predict(x[:batch]), atol=1e-5)
    graph = onnx.load(path).graph
    ops = [node.op_type for node in graph.node]
    assert ops.count("Gemm") == 5 and "Dropout" not in ops and ops[-2] == "Softmax"
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_fused_sigmoid_is_applied_once(tmp_path):
    fw.set_seed(1)
    model = fw.Sequential([layers.Affine(4, activation="relu"), layers.Affine(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")  # fuses the sigmoid into the loss layer
    x = np.random.default_rng(1).standard_normal((9, 3)).astype(np.float32)
    model.build((None, 3))
    path = fw.export.onnx(model, tmp_path / "binary.onnx")
    np.testing.assert_allclose(run_onnx(path, x), model.predict(x), atol=1e-6)
    assert [n.op_type for n in onnx.load(path).graph.node].count("Sigmoid") == 1


def test_the_command_line_exports_a_checkpoint(tmp_path):
    model, x = trained_mlp()
    model.save(tmp_path / "run.h5")
    out = tmp_path / "run.onnx"
    subprocess.run([sys.executable, "-m", "framework", "export", str(tmp_path / "run.h5"), str(out)], check=True)
    np.testing.assert_allclose(run_onnx(out, x), model.predict(x), atol=1e-5)


def test_a_layer_without_an_onnx_form_is_refused(tmp_path):
    class Double(layers.Layer):
        def forward(self, x, training=False):
            return 2 * x

    model = fw.Sequential([layers.Affine(2), Double()])
    model.build((None, 3))
    with pytest.raises(fw.InvalidArgumentError, match=r"layer 'double' \(Double\) has no ONNX form"):
        fw.export.onnx(model, tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_cnn_export_matches_predict(tmp_path, data_format):
    fw.set_seed(2)
    axis = -1 if data_format == "channels_last" else 1
    model = fw.Sequential([
        layers.Convolution(6, 3, padding="same", activation="relu", data_format=data_format),
        layers.MaxPooling2D(2, padding="same", data_format=data_format),
        layers.Convolution(4, (3, 2), strides=(2, 1), padding=1, data_format=data_format),
        layers.BatchNormalization(axis=axis), layers.ELU(),
        layers.AveragePooling2D(2, strides=1, padding="same", data_format=data_format),
        layers.Dropout(0.2),
        layers.Flatten(), layers.Reshape((-1, 2)), layers.Flatten(),
        layers.Affine(5), layers.SoftmaxWithLoss(),
    ])
    model.compile(optimizer="adam")
    rng = np.random.default_rng(2)
    shape = (24, 9, 11, 3) if data_format == "channels_last" else (24, 3, 9, 11)
    x = rng.standard_normal(shape).astype(np.float32)
    model.fit(x, rng.integers(0, 5, 24), epochs=2, batch_size=8, verbose=0)
    path = fw.export.onnx(model, tmp_path / "cnn.onnx")
    np.testing.assert_allclose(run_onnx(path, x), model.predict(x), atol=1e-5)


def test_the_books_pooling_and_global_average_pooling_export(tmp_path):
    fw.set_seed(3)
    model = fw.Sequential([layers.Convolution(4, 3, stride=1, pad=1), layers.ReLU(), layers.Pooling(2, 2, stride=2),
                           layers.Convolution(3, 2), layers.GlobalAveragePooling2D(), layers.Affine(2),
                           layers.SigmoidWithLoss()])
    model.build((None, 1, 8, 8))
    x = np.random.default_rng(3).standard_normal((4, 1, 8, 8)).astype(np.float32)
    path = fw.export.onnx(model, tmp_path / "book.onnx")
    np.testing.assert_allclose(run_onnx(path, x), model.predict(x), atol=1e-6)
