"""The CuPy backend's one-kernel optimizer updates give the optimizers' own lines' numbers on CuPy, bit for bit.

The reference is each optimizer's plain lines run by CuPy (the backend's
kernels switched off); the same steps then run through
backends/cupy_fused.py, on weights, gradients and slots that hold the
special values as well as ordinary ones. Every bit must agree (float32
denormals are flushed to zero by both, as CuPy compiles every kernel);
a NaN must stay a NaN. Runs where CuPy and a CUDA device exist.
"""

import numpy as np
import pytest

from framework.backends import cupy_fused

from .conftest import GPU_ONLY
from .test_fused_updates import OPTIMIZERS, SHAPE, _bits, adam_mlp_weights_after_fit, with_specials

pytestmark = GPU_ONLY


@pytest.fixture(autouse=True)
def _on_cupy(cupy_backend):
    """Every test here runs on CuPy (`cupy_backend` is conftest's)."""


def _steps(backend, make, dtype, steps=4):
    """Weights and optimizer slots, as NumPy arrays, after `steps` updates on the GPU."""
    rng = np.random.default_rng(0)
    params = {key: backend.asarray(with_specials(rng, dtype)) for key in ("layer/W", "layer/b")}
    optimizer = make()
    for _ in range(steps):
        grads = {key: backend.asarray(with_specials(rng, dtype, 0.1)) for key in params}
        optimizer.apply(params, grads)
    slots = {f"{slot}/{key}": array for slot, table in optimizer.state.items() for key, array in table.items()}
    return {key: backend.to_numpy(array) for key, array in {**params, **slots}.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fused_update_gives_the_plain_lines_bits(cupy_backend, name, dtype, monkeypatch):
    real_update = cupy_fused.update
    monkeypatch.setattr(cupy_fused, "update", lambda *args: False)
    expected = _steps(cupy_backend, OPTIMIZERS[name], dtype)
    calls = []

    def spy(*args):
        calls.append(real_update(*args))
        return calls[-1]

    monkeypatch.setattr(cupy_fused, "update", spy)
    got = _steps(cupy_backend, OPTIMIZERS[name], dtype)

    assert calls and all(calls), "the kernels did not run"
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key].dtype == dtype
        np.testing.assert_array_equal(_bits(got[key]), _bits(expected[key]), err_msg=f"{name} {key}")


def test_fused_update_declines_what_it_cannot_do_and_changes_nothing(cupy_backend):
    cupy = cupy_backend.xp
    rng = np.random.default_rng(1)
    param = cupy.asarray(rng.standard_normal(SHAPE).astype(np.float32))
    grad = cupy.asarray(rng.standard_normal(SHAPE).astype(np.float32))
    cases = {
        "mixed dtypes": ("sgd", (param, grad.astype(np.float64))),
        "another shape": ("sgd", (param, grad[:-1])),
        "integers": ("sgd", (param.astype(np.int32), grad.astype(np.int32))),
        "half precision": ("sgd", (param.astype(np.float16), grad.astype(np.float16))),
        "a NumPy array": ("sgd", (param, cupy.asnumpy(grad))),
        "an unknown rule": ("lion", (param, grad)),
    }
    for case, (rule, arrays) in cases.items():
        before = [cupy.asnumpy(a) for a in arrays]
        assert cupy_backend.fused_update(rule, arrays, (0.1,)) is False, case
        for a, b in zip(arrays, before):
            np.testing.assert_array_equal(cupy.asnumpy(a), b, err_msg=case)
    assert cupy_backend.fused_update("sgd", (param, grad), (0.1,)) is True


def test_a_model_trains_to_the_same_weights_with_and_without_the_kernels(monkeypatch):
    got = adam_mlp_weights_after_fit()
    monkeypatch.setattr(cupy_fused, "update", lambda *args: False)
    expected = adam_mlp_weights_after_fit()
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(_bits(np.asarray(a)), _bits(np.asarray(b)))
