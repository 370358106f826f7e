"""Shared fixtures: every layer and model test runs on each available backend.

``strict`` is a test-only backend whose arrays refuse implicit conversion to
NumPy, as CuPy's do: a NumPy call on a backend array fails a test here
instead of a user's GPU run. ``cupy`` runs where CuPy and a CUDA device exist.
"""

import numpy as np
import pytest

import framework as fw
from framework import registry
from framework.errors import BackendError

from . import strict_backend

registry.register_plugin(strict_backend, name="strict-test-backend")


def _cupy_skip_reason():
    try:
        fw.backend._create("cupy")
    except BackendError as exc:
        return str(exc)
    return None


_CUPY_SKIP = _cupy_skip_reason()

BACKENDS = [
    "numpy",
    "strict",
    pytest.param("cupy", marks=[pytest.mark.gpu, pytest.mark.skipif(_CUPY_SKIP is not None, reason=f"no GPU: {str(_CUPY_SKIP).split(';')[0]}")]),
]


# For a module whose every test needs CuPy and a GPU: ``pytestmark = GPU_ONLY``.
GPU_ONLY = [pytest.mark.gpu, pytest.mark.skipif(_CUPY_SKIP is not None, reason="no GPU")]


@pytest.fixture
def cupy_backend():
    """The CuPy backend, made current for the test and restored after (with ``GPU_ONLY``)."""
    previous = fw.get_backend()
    yield fw.set_backend("cupy")
    fw.set_backend(previous)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The backend under test, made current for the test and restored after."""
    previous = fw.get_backend()
    current = fw.set_backend(request.param)
    yield current
    fw.set_backend(previous)


@pytest.fixture(autouse=True)
def _restore_globals():
    """Each test starts from float32 and a fixed seed, whatever an earlier test set."""
    fw.set_floatx("float32")
    fw.set_seed(1234)
    yield
    fw.set_floatx("float32")


@pytest.fixture
def float64():
    fw.set_floatx("float64")
    yield
    fw.set_floatx("float32")


def to_host(backend, value):
    """A backend array (or tuple of them) as NumPy, for assertions."""
    if isinstance(value, tuple):
        return tuple(to_host(backend, v) for v in value)
    return backend.to_numpy(value) if not isinstance(value, (int, float)) else np.asarray(value)


@pytest.fixture
def add_plugin():
    """Register plugin objects for one test; every one is unregistered after it, pass or fail."""
    names = []

    def add(plugin, name):
        names.append(name)
        return registry.register_plugin(plugin, name=name)

    yield add
    for name in names:
        registry.unregister_plugin(name)
