"""Registers the built-in activations under Keras's names (``Dense(..., activation="relu")``)."""

from framework import layers
from framework.hookspecs import hookimpl


@hookimpl
def register_activations(register):
    register(layers.ReLU, name="relu")
    register(layers.Sigmoid, name="sigmoid")
    register(layers.Linear, name="linear")
