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
``Tanh``, ``LeakyReLU``,      activations (``Activation(name)`` for
``ELU``, ``Softmax``          any registered activation name)
``IdentityWithLoss``          mean squared error ("mse")
``IdentityWithAbsoluteLoss``  mean absolute error ("mae")
``SigmoidWithLoss``           sigmoid + binary cross-entropy
``MulticlassHingeLoss``       the multiclass SVM loss
``Convolution`` (``Conv2D``)  2-d convolution through im2col
``MaxPooling2D``, ``Pooling`` the max of each window
``AveragePooling2D``          the mean of each window
``GlobalAveragePooling2D``    the mean over height and width
``Flatten``, ``Reshape``      new shapes for the same numbers
``Input(shape)``              not a layer: a model's first element, its input shape
============================  =====================================

Plugin layers are found by name with `framework.layers.get`.
"""

from framework.layers.affine import Affine, Dense
from framework.layers.base import Layer, LossLayer
from framework.layers.batch_normalization import BatchNormalization
from framework.layers.convolution import Conv2D, Convolution
from framework.layers.dropout import Dropout
from framework.layers.flatten import Flatten
from framework.layers.graph_nodes import AddLayer, MulLayer
from framework.layers.input import Input
from framework.layers.linear import Linear
from framework.layers.pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D, Pooling
from framework.layers.relu import ReLU
from framework.layers.reshape import Reshape
from framework.layers.sigmoid import Sigmoid
from framework.layers.softmax_with_loss import SoftmaxWithLoss
from framework.layers.tanh import Tanh
from framework.layers.leaky_relu import LeakyReLU
from framework.layers.elu import ELU
from framework.layers.softmax import Softmax
from framework.layers.activation import Activation
from framework.layers.identity_with_loss import IdentityWithLoss
from framework.layers.identity_with_absolute_loss import IdentityWithAbsoluteLoss
from framework.layers.sigmoid_with_loss import SigmoidWithLoss
from framework.layers.multiclass_hinge_loss import MulticlassHingeLoss

__all__ = ["Layer", "LossLayer", "Affine", "Dense", "ReLU", "Sigmoid", "SoftmaxWithLoss", "AddLayer", "MulLayer", "Linear", "get"]
__all__ += ["Dropout", "BatchNormalization"]
__all__ += ["Tanh", "LeakyReLU", "ELU", "Softmax", "Activation", "IdentityWithLoss", "IdentityWithAbsoluteLoss",
            "SigmoidWithLoss", "MulticlassHingeLoss"]
__all__ += ["Convolution", "Conv2D", "MaxPooling2D", "Pooling", "AveragePooling2D", "GlobalAveragePooling2D",
            "Flatten", "Reshape"]
__all__ += ["Input"]


def get(name):
    """The layer class registered under `name` (built-in or from a plugin)."""
    from framework import registry

    return registry.get("layers", name, what="layer").obj
