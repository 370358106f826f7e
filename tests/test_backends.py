"""Backends: choosing one, the errors, and the strict backend that stands in for CuPy in CI."""

import os
import subprocess
import sys

import numpy as np
import pytest

import framework as fw
from framework import layers

from .strict_backend import ImplicitConversionError


def run_python(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})


def test_default_backend_is_numpy():
    result = run_python("import framework as fw, numpy; b = fw.get_backend(); print(b.name, b.xp is numpy)",
                        FRAMEWORK_BACKEND="")
    assert result.stdout.split() == ["numpy", "True"], result.stderr


def test_environment_variable_chooses_and_unknown_names_fail_at_first_use():
    code = "import framework as fw\nprint('imported')\nfw.get_backend()"
    result = run_python(code, FRAMEWORK_BACKEND="tpu")
    assert result.stdout.strip() == "imported"  # importing is fine; the first use fails
    assert "UnknownNameError: unknown backend 'tpu'; known: cupy, numpy" in result.stderr


def test_cupy_backend_error_says_what_to_install():
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed here")
    except ImportError:
        pass
    with pytest.raises(fw.BackendError, match=r"needs CuPy.*pip install 'dlfs-framework\[cuda12\]'"):
        fw.set_backend("cupy")


def test_get_backend_gives_name_and_xp(backend):
    assert fw.get_backend() is backend
    assert backend.name in ("numpy", "strict", "cupy")
    assert hasattr(backend.xp, "exp")


def test_strict_backend_catches_numpy_calls_on_backend_arrays():
    backend = fw.set_backend("strict")
    try:
        a = backend.asarray(np.ones((2, 3), dtype="float32"))
        with pytest.raises(ImplicitConversionError):
            np.asarray(a)
        with pytest.raises(ImplicitConversionError):
            a + np.ones((2, 3))  # mixing host and device arrays
        with pytest.raises(ImplicitConversionError):
            np.ones((2, 3)) * a
        with pytest.raises(ImplicitConversionError):
            backend.xp.exp(np.ones(3))  # xp functions take backend arrays only
        np.testing.assert_allclose(backend.to_numpy(backend.xp.exp(a) * 2 + 1), np.exp(np.ones((2, 3))) * 2 + 1, rtol=1e-6)

        class LeakyLayer(layers.ReLU):
            def forward(self, x, training=False):
                return np.maximum(np.asarray(x), 0)  # the bug a GPU user would hit

        with pytest.raises(ImplicitConversionError):
            fw.Sequential([LeakyLayer(), layers.Affine(2)]).predict(np.ones((2, 3)))
    finally:
        fw.set_backend("numpy")


def test_scatter_add_accumulates_repeated_indices(backend):
    a = backend.asarray(np.zeros(4, dtype="float32"))
    backend.scatter_add(a, backend.asarray(np.array([0, 2, 2, 3])), backend.asarray(np.ones(4, dtype="float32")))
    assert backend.to_numpy(a).tolist() == [1, 0, 2, 1]


@pytest.mark.gpu
def test_cupy_trains_like_numpy():
    """Runs where CuPy and a CUDA device exist; elsewhere skipped with the reason."""
    try:
        fw.set_backend("cupy")
    except fw.BackendError as exc:
        pytest.skip(f"no GPU: {exc}")
    try:
        (x, t), _ = fw.datasets.load("digits")
        fw.set_seed(0)
        model = fw.Sequential([layers.Affine(16), layers.ReLU(), layers.Affine(10), layers.SoftmaxWithLoss()])
        model.compile(optimizer="adam", metrics=["accuracy"])
        model.fit(x, t, epochs=3, verbose=0)
        gpu = model.get_weights()
    finally:
        fw.set_backend("numpy")
    fw.set_seed(0)
    model = fw.Sequential([layers.Affine(16), layers.ReLU(), layers.Affine(10), layers.SoftmaxWithLoss()])
    model.compile(optimizer="adam", metrics=["accuracy"])
    model.fit(x, t, epochs=3, verbose=0)
    for a, b in zip(gpu, model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
