"""Activations by Keras's lower-case names: ``"relu"``, ``"sigmoid"``, ``"linear"``, ...

An activation is a registered kind of its own (hook ``register_activations``):
each name maps to a `Layer` class whose forward and backward compute it, so
``Dense(64, activation="relu")`` runs exactly `ReLU`'s code. The kind is
separate from ``layers``: the name ``"relu"`` and the class ``ReLU`` never
clash.
"""

from framework import registry
from framework.errors import InvalidArgumentError, UnknownNameError


def get(identifier, argument="activation"):
    """A new activation layer for `identifier`: a registered name, or None for none.

    Returns None for None (no activation); raises `UnknownNameError` naming
    `argument` and listing the known names for an unknown one.
    """
    if identifier is None:
        return None
    if not isinstance(identifier, str):
        raise InvalidArgumentError(f"{argument} must be a name such as 'relu' or None, got {argument}={identifier!r}")
    if identifier not in registry.names("activations"):
        raise UnknownNameError(
            f"{argument}: unknown activation {identifier!r}; known: {', '.join(names())}"
        )
    return registry.get("activations", identifier, what="activation").obj()


def names():
    """The registered activation names."""
    return registry.names("activations")
