"""Weight initializers: host random numbers, moved once to the backend.

A registered kind (hook ``register_initializers``): Keras's names
(``"zeros"``, ``"ones"``, ``"glorot_uniform"``, ``"glorot_normal"``,
``"he_normal"``, ``"he_uniform"``, ``"random_normal"``,
``"random_uniform"``) and its classes (``RandomNormal(mean, stddev)``,
``Constant(value)``, ...). An initializer is called as ``init(shape, dtype)``
and returns a backend array; its ``get_config()`` lets a layer's config name
it as a nested ``{"class_name", "config"}`` spec.

Random draws come from the framework's seeded generator (`fw.set_seed`), so
unlike Keras the classes take no ``seed`` argument.
"""

import contextlib
import functools
import math

from framework import random, registry
from framework.backend import get_backend
from framework.configurable import Configurable
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


def _host(draw, dtype):
    return get_backend().asarray(draw, dtype=dtype)


def _number(value, argument, owner, positive=False):
    """`value` as a Python float, refused (naming `argument`) unless finite (and > 0 with `positive`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or (
        positive and value <= 0
    ):
        expected = "a positive number" if positive else "a finite number"
        raise InvalidArgumentError(f"{owner}: {argument} must be {expected}, got {argument}={value!r}")
    return float(value)


class Initializer(Configurable):
    """Base class: ``init(shape, dtype)`` returns a new backend array; `get_config` rebuilds it."""

    def __call__(self, shape, dtype):
        if _skip:
            return get_backend().xp.empty(shape, dtype=dtype)
        return self.draw(tuple(shape), dtype)

    def draw(self, shape, dtype):
        raise NotImplementedError

    def get_config(self):
        return {}


class Zeros(Initializer):
    """All zeros (Keras's default bias initializer)."""

    def draw(self, shape, dtype):
        return get_backend().xp.zeros(shape, dtype=dtype)


class Ones(Initializer):
    """All ones."""

    def draw(self, shape, dtype):
        return get_backend().xp.ones(shape, dtype=dtype)


class Constant(Initializer):
    """Every element `value`."""

    def __init__(self, value=0.0):
        self.value = _number(value, "value", "Constant")

    def draw(self, shape, dtype):
        return get_backend().xp.full(shape, self.value, dtype=dtype)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """Normal with `mean` and std `stddev` (Keras's defaults 0.0 and 0.05)."""

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean = _number(mean, "mean", "RandomNormal")
        self.stddev = _number(stddev, "stddev", "RandomNormal", positive=True)

    def draw(self, shape, dtype):
        return _host(random.generator().normal(self.mean, self.stddev, shape), dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class RandomUniform(Initializer):
    """Uniform on [`minval`, `maxval`) (Keras's defaults -0.05 and 0.05)."""

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval = _number(minval, "minval", "RandomUniform")
        self.maxval = _number(maxval, "maxval", "RandomUniform")
        if self.maxval <= self.minval:
            raise InvalidArgumentError(f"RandomUniform: maxval must exceed minval, got minval={minval!r}, maxval={maxval!r}")

    def draw(self, shape, dtype):
        return _host(random.generator().uniform(self.minval, self.maxval, shape), dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


class GlorotUniform(Initializer):
    """Uniform on [-l, l], l = sqrt(6 / (fan_in + fan_out)) (Xavier; Keras's default kernel initializer)."""

    def draw(self, shape, dtype):
        fan_in, fan_out = _fans(shape)
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return _host(random.generator().uniform(-limit, limit, shape), dtype)


class GlorotNormal(Initializer):
    """Normal with std sqrt(2 / (fan_in + fan_out)) (Keras truncates it at 2 std; this does not)."""

    def draw(self, shape, dtype):
        fan_in, fan_out = _fans(shape)
        return _host(random.generator().normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), shape), dtype)


class HeNormal(Initializer):
    """Normal with std sqrt(2 / fan_in): keeps the variance of ReLU activations (not truncated, unlike Keras)."""

    def draw(self, shape, dtype):
        fan_in, _ = _fans(shape)
        return _host(random.generator().normal(0.0, math.sqrt(2.0 / fan_in), shape), dtype)


class HeUniform(Initializer):
    """Uniform on [-l, l], l = sqrt(6 / fan_in)."""

    def draw(self, shape, dtype):
        fan_in, _ = _fans(shape)
        limit = math.sqrt(6.0 / fan_in)
        return _host(random.generator().uniform(-limit, limit, shape), dtype)


# The functions older code calls directly.
glorot_uniform = GlorotUniform()
he_normal = HeNormal()
zeros = Zeros()


def normal(std):
    """Normal with a fixed std, the book's ``weight_init_std`` (e.g. 0.01)."""
    return RandomNormal(0.0, std)


# Older names this framework accepted before Keras's.
_ALIASES = {"xavier": "glorot_uniform", "he": "he_normal"}


def get(identifier, argument="kernel_initializer"):
    """An initializer ``(shape, dtype) -> array`` from `identifier`.

    Accepts an `Initializer`, a registered name (``"he_normal"``), a nested
    ``{"class_name", "config"}`` spec, a positive float (the std of a normal,
    the book's ``weight_init_std``) or a callable ``(shape, dtype) -> array``.
    """
    from framework import serialization

    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        name = _ALIASES.get(identifier, identifier)
        if name in registry.names("initializers"):
            return registry.get("initializers", name).obj()
    elif isinstance(identifier, dict):
        return serialization.from_nested_spec("initializers", identifier, argument, base=Initializer)
    elif isinstance(identifier, (int, float)) and not isinstance(identifier, bool) and identifier > 0:
        return normal(float(identifier))
    elif callable(identifier):
        return _skippable(identifier)
    raise InvalidArgumentError(
        f"{argument} must be an initializer name (one of {', '.join(names())}), an Initializer, "
        f"a positive std or a callable (shape, dtype) -> array, got {argument}={identifier!r}"
    )


def names():
    """The registered initializer names."""
    return registry.names("initializers")


def to_config(init, given):
    """What a layer's config stores for an initializer: the name it was given, else a nested spec."""
    from framework import serialization

    if isinstance(given, str):
        return given
    if isinstance(init, Initializer) and registry.name_of("initializers", type(init)) is not None:
        return serialization.nested_spec("initializers", init, "initializer")
    return None  # a user callable: not describable; its weights are saved anyway
