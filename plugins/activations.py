"""Registers the built-in activations under Keras's names (``Dense(..., activation="relu")``)."""

import functools

from framework import layers
from framework.hookspecs import hookimpl


@hookimpl
def register_activations(register):
    register(layers.ReLU, name="relu")
    register(layers.Sigmoid, name="sigmoid")
    register(layers.Linear, name="linear")
    register(layers.Tanh, name="tanh")
    # Keras's function leaky_relu defaults to 0.2; its layer LeakyReLU to 0.3.
    register(functools.partial(layers.LeakyReLU, negative_slope=0.2), name="leaky_relu")
    register(layers.ELU, name="elu")
    register(layers.Softmax, name="softmax")
