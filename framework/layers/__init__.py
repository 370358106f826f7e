"""Layers: each a forward pass and its hand-written backward pass.

============================  =====================================
``Affine`` (alias ``Dense``)  ``x @ W + b``
``ReLU``                      ``max(x, 0)``
``Sigmoid``                   ``1 / (1 + exp(-x))``
``SoftmaxWithLoss``           softmax + cross-entropy, ends a model
``AddLayer``, ``MulLayer``    graph nodes of the book's chapter 5
``Linear``                    ``x`` (the identity activation)
``Dropout``                   inverted dropout, in training only
``BatchNormalization``        per-feature normalization over the batch
============================  =====================================

Plugin layers are found by name with `framework.layers.get`.
"""

from framework.layers.affine import Affine, Dense
from framework.layers.base import Layer, LossLayer
from framework.layers.batch_normalization import BatchNormalization
from framework.layers.dropout import Dropout
from framework.layers.graph_nodes import AddLayer, MulLayer
from framework.layers.linear import Linear
from framework.layers.relu import ReLU
from framework.layers.sigmoid import Sigmoid
from framework.layers.softmax_with_loss import SoftmaxWithLoss

__all__ = ["Layer", "LossLayer", "Affine", "Dense", "ReLU", "Sigmoid", "SoftmaxWithLoss", "AddLayer", "MulLayer", "Linear", "get"]
__all__ += ["Dropout", "BatchNormalization"]


def get(name):
    """The layer class registered under `name` (built-in or from a plugin)."""
    from framework import registry

    return registry.get("layers", name, what="layer").obj
