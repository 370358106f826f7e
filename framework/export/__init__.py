"""Export a model for serving: ``fw.export.onnx(model, "model.onnx")``.

Needs the optional ``onnx`` package (``pip install 'dlfs-framework[onnx]'``);
``python -m framework export MODEL_FILE OUT.onnx`` does the same from a
checkpoint.
"""

from framework.export.onnx_graph import onnx_model

__all__ = ["onnx", "onnx_model"]


def onnx(model, path, opset=17):
    """Write `model` at inference to `path` as an ONNX graph with a dynamic batch axis.

    Affine becomes Gemm, convolutions Conv, pooling MaxPool/AveragePool,
    BatchNormalization its moving-statistics affine map, Dropout disappears;
    a softmax or sigmoid loss layer becomes what its `predict` applies. The
    graph's input is ``"input"`` and its output ``"output"``; onnx.checker
    passes on what is written. Returns the path.
    """
    import os

    from framework import saving

    proto = onnx_model(model, opset=opset)
    path = os.fspath(path)
    with saving.atomic_write(path) as temporary:
        with open(temporary, "wb") as file:
            file.write(proto.SerializeToString())
    return path
