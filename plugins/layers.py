"""Registers the built-in layers by class name (configs and checkpoints use these names)."""

from framework import layers
from framework.hookspecs import hookimpl


@hookimpl
def register_layers(register):
    for cls in (layers.Affine, layers.ReLU, layers.Sigmoid, layers.SoftmaxWithLoss, layers.AddLayer, layers.MulLayer,
                layers.Linear):
        register(cls)
    register(layers.Dropout)
    register(layers.BatchNormalization)
    for cls in (layers.Tanh, layers.LeakyReLU, layers.ELU, layers.Softmax, layers.Activation,
                layers.IdentityWithLoss, layers.IdentityWithAbsoluteLoss, layers.SigmoidWithLoss,
                layers.MulticlassHingeLoss):
        register(cls)
    for cls in (layers.Convolution, layers.MaxPooling2D, layers.Pooling, layers.AveragePooling2D,
                layers.GlobalAveragePooling2D, layers.Flatten, layers.Reshape):
        register(cls)
