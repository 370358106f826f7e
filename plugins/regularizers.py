"""Registers the built-in regularizers under their class names and Keras's short names."""

from framework import regularizers
from framework.hookspecs import hookimpl


@hookimpl
def register_regularizers(register):
    # Class names first: a nested spec names an object by the first name found.
    for cls, name in [(regularizers.L1, "l1"), (regularizers.L2, "l2"), (regularizers.L1L2, "l1_l2")]:
        register(cls)
        register(cls, name=name)
