"""Registers the built-in initializers under Keras's names and class names."""

from framework import initializers as init
from framework.hookspecs import hookimpl


@hookimpl
def register_initializers(register):
    # Class names first: a nested spec names an object by the first name its
    # class is registered under.
    for cls, name in [(init.Zeros, "zeros"), (init.Ones, "ones"), (init.Constant, "constant"),
                      (init.RandomNormal, "random_normal"), (init.RandomUniform, "random_uniform"),
                      (init.GlorotUniform, "glorot_uniform"), (init.GlorotNormal, "glorot_normal"),
                      (init.HeNormal, "he_normal"), (init.HeUniform, "he_uniform")]:
        register(cls)
        register(cls, name=name)
