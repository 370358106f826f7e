"""Weight initialisers: host random numbers, moved once to the backend."""

import contextlib
import functools
import math

from framework import random
from framework.backend import get_backend
from framework.errors import InvalidArgumentError


_skip = False  # True inside `uninitialized()`


@contextlib.contextmanager
def uninitialized():
    """Within it, every initialiser returns an uninitialised array (``xp.empty``).

    For weights that are about to be overwritten, such as a model rebuilt from
    a checkpoint: drawing random numbers for them is wasted work, and on
    NumPy ``empty`` only reserves address space, so a layer of absurd size
    named by a hostile file costs no memory before its mismatch with the
    file's weights is found. Every initialiser obtained here obeys it, user
    callables given to `get` included.
    """
    global _skip
    previous, _skip = _skip, True
    try:
        yield
    finally:
        _skip = previous


def _skippable(init):
    """`init`, returning an uninitialised array instead inside `uninitialized()`."""

    @functools.wraps(init)
    def initialize(shape, dtype):
        if _skip:
            return get_backend().xp.empty(shape, dtype=dtype)
        return init(shape, dtype)

    return initialize


def _fans(shape):
    """(fan_in, fan_out) of a weight: all axes but the last feed one output unit."""
    fan_out = shape[-1]
    fan_in = math.prod(shape[:-1]) if len(shape) > 1 else shape[0]
    return fan_in, fan_out


@_skippable
def glorot_uniform(shape, dtype):
    """Uniform on [-l, l], l = sqrt(6 / (fan_in + fan_out)) (Xavier; Keras's default)."""
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return get_backend().asarray(random.generator().uniform(-limit, limit, shape), dtype=dtype)


@_skippable
def he_normal(shape, dtype):
    """Normal with std sqrt(2 / fan_in): keeps the variance of ReLU activations."""
    fan_in, _ = _fans(shape)
    return get_backend().asarray(random.generator().normal(0.0, math.sqrt(2.0 / fan_in), shape), dtype=dtype)


def normal(std):
    """Normal with a fixed std, the book's ``weight_init_std`` (e.g. 0.01)."""

    @_skippable
    def init(shape, dtype):
        return get_backend().asarray(random.generator().normal(0.0, std, shape), dtype=dtype)

    return init


@_skippable
def zeros(shape, dtype):
    return get_backend().xp.zeros(shape, dtype=dtype)


_BY_NAME = {"glorot_uniform": glorot_uniform, "xavier": glorot_uniform, "he_normal": he_normal, "he": he_normal}


def get(spec, argument="weight_init"):
    """An initialiser from a name, a float std, or a callable ``(shape, dtype) -> array``."""
    if callable(spec):
        return _skippable(spec)
    if isinstance(spec, str) and spec in _BY_NAME:
        return _BY_NAME[spec]
    if isinstance(spec, (int, float)) and not isinstance(spec, bool) and spec > 0:
        return normal(float(spec))
    raise InvalidArgumentError(
        f"{argument} must be one of {sorted(_BY_NAME)}, a positive std or a callable, got {spec!r}"
    )
