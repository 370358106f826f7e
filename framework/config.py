"""Global settings: the float type of new weights and inputs."""

from framework.errors import InvalidArgumentError

_FLOAT_TYPES = ("float32", "float64")
_floatx = "float32"


def floatx():
    """The float type used for weights and inputs: ``"float32"`` (default) or ``"float64"``."""
    return _floatx


def set_floatx(dtype):
    """Set the float type of weights created from now on and of model inputs.

    Use ``"float64"`` for gradient checks; ``"float32"`` trains about twice as fast.
    """
    global _floatx
    name = getattr(dtype, "__name__", None) or str(dtype)
    if name not in _FLOAT_TYPES:
        raise InvalidArgumentError(f"set_floatx: dtype must be one of {_FLOAT_TYPES}, got {dtype!r}")
    _floatx = name
