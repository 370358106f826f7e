"""The NumPy backend's one-pass optimizer updates give the optimizers' own NumPy lines' numbers, bit for bit.

The reference is each optimizer's plain NumPy code, run with
``FRAMEWORK_NUMBA=off``; the same steps then run through the compiled
kernels (backends/numpy_fused.py), on weights, gradients and slots that hold
the special values as well as ordinary ones. Every bit must agree, signed
zeros, infinities and denormals included; a NaN must stay a NaN.
"""

import subprocess
import sys

import numpy as np
import pytest

import framework as fw
from framework.backend import get_backend
from framework.backends import numpy_fused

pytest.importorskip("numba")
# The special values make NumPy's lines warn (inf - inf, ...): intended here.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SHAPE = (130, 130)  # 16,900 weights: at least FUSE_MIN, so the kernels take them
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 3e38, -3e38, 1e-30, 1.0, -1.0]

OPTIMIZERS = {
    "sgd": lambda: fw.optimizers.SGD(learning_rate=0.1),
    "momentum": lambda: fw.optimizers.SGD(learning_rate=0.1, momentum=0.9),
    "nesterov": lambda: fw.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
    "adam": lambda: fw.optimizers.Adam(learning_rate=0.01),
    "adamw": lambda: fw.optimizers.AdamW(learning_rate=0.01, weight_decay=0.004),
    "adam-clipnorm": lambda: fw.optimizers.Adam(learning_rate=0.01, clipnorm=1.0, epsilon=1e-3),
    "nadam": lambda: fw.optimizers.Nadam(learning_rate=0.01),
    "rmsprop": lambda: fw.optimizers.RMSprop(learning_rate=0.01),
    "adagrad": lambda: fw.optimizers.AdaGrad(learning_rate=0.01),
    "adagrad-accumulator": lambda: fw.optimizers.AdaGrad(learning_rate=0.01, initial_accumulator_value=0.5),
}


def with_specials(rng, dtype, scale=1.0, shape=SHAPE):
    """Normal numbers times `scale`, with a fifth of the entries from SPECIAL."""
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    flat = x.reshape(-1)
    at = rng.choice(flat.size, size=flat.size // 5, replace=False)
    flat[at] = np.asarray(SPECIAL, dtype)[rng.integers(0, len(SPECIAL), size=at.size)]
    return x


def _steps(make, dtype, steps=4):
    """Weights and optimizer slots after `steps` updates (each step's gradients drawn from one seed)."""
    rng = np.random.default_rng(0)
    params = {"layer/W": with_specials(rng, dtype, 1.0), "layer/b": with_specials(rng, dtype, 1.0)}
    optimizer = make()
    for _ in range(steps):
        grads = {key: with_specials(rng, dtype, 0.1) for key in params}
        optimizer.apply(params, grads)
    slots = {f"{slot}/{key}": array for slot, table in optimizer.state.items() for key, array in table.items()}
    return {**params, **slots}


def _bits(array):
    """The bit patterns, with every NaN as one: where both operands of a sum are NaN,
    which one's sign comes out is the processor's choice, in NumPy too."""
    bits = array.view(np.uint32 if array.dtype == np.float32 else np.uint64).copy()
    bits[np.isnan(array)] = 1
    return bits


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fused_update_gives_the_plain_lines_bits(name, dtype, monkeypatch):
    calls = []
    real_update = numpy_fused.update

    def spy(rule, arrays, scalars):
        calls.append(real_update(rule, arrays, scalars))
        return calls[-1]

    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = _steps(OPTIMIZERS[name], dtype)
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    monkeypatch.setattr(numpy_fused, "update", spy)
    got = _steps(OPTIMIZERS[name], dtype)

    assert calls and all(calls), "the compiled kernels did not run"
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key].dtype == dtype
        np.testing.assert_array_equal(_bits(got[key]), _bits(expected[key]), err_msg=f"{name} {key}")


@pytest.mark.parametrize("make", [lambda: fw.optimizers.Adam(amsgrad=True),
                                  lambda: fw.optimizers.RMSprop(centered=True),
                                  lambda: fw.optimizers.RMSprop(momentum=0.5)])
def test_variants_without_a_kernel_run_the_plain_lines(make, monkeypatch):
    monkeypatch.setattr(numpy_fused, "update", lambda *args: pytest.fail("this variant has no kernel"))
    _steps(make, np.float32, steps=1)


def test_fused_update_declines_what_it_cannot_do_and_changes_nothing(monkeypatch):
    rng = np.random.default_rng(1)
    param = rng.standard_normal(SHAPE).astype(np.float32)
    grad = rng.standard_normal(SHAPE).astype(np.float32)
    cases = {
        "a strided view": (param.T, grad),
        "mixed dtypes": (param, grad.astype(np.float64)),
        "another shape": (param, grad[:-1]),
        "integers": (param.astype(np.int32), grad.astype(np.int32)),
        "fewer than FUSE_MIN weights": (param[:10], grad[:10]),
        "a read-only array": (np.frombuffer(param.tobytes(), np.float32).reshape(SHAPE), grad),
    }
    for case, arrays in cases.items():
        before = [a.copy() for a in arrays]
        assert get_backend().fused_update("sgd", arrays, (0.1,)) is False, case
        for a, b in zip(arrays, before):
            np.testing.assert_array_equal(a, b, err_msg=case)
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    assert get_backend().fused_update("sgd", (param, grad), (0.1,)) is False
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    assert get_backend().fused_update("sgd", (param, grad), (0.1,)) is True


def adam_mlp_weights_after_fit():
    """The weights of a small seeded MLP after two epochs of Adam on seeded random data, on the current backend."""
    rng = np.random.default_rng(2)
    x = rng.random((256, 200), dtype=np.float32)
    t = rng.integers(0, 4, 256)
    fw.set_seed(0)
    model = fw.Sequential([fw.layers.Affine(100, activation="relu"), fw.layers.Affine(4),
                           fw.layers.SoftmaxWithLoss()])
    model.compile(optimizer=fw.optimizers.Adam(0.01))
    model.fit(x, t, batch_size=64, epochs=2, verbose=0)
    return model.get_weights()


def test_a_model_trains_to_the_same_weights_with_and_without_the_kernels(monkeypatch):
    assert_same_with_and_without_kernels(monkeypatch, adam_mlp_weights_after_fit)


def spy_on_kernels(monkeypatch, module, names=("forward", "backward")):
    """A list that records, for each call of `module`'s `names`, whether the kernels did it (a result, not None)."""
    calls = []
    for name in names:
        real = getattr(module, name)

        def spy(*args, real=real):
            result = real(*args)
            calls.append(result is not None)
            return result

        monkeypatch.setattr(module, name, spy)
    return calls


def assert_same_with_and_without_kernels(monkeypatch, train):
    """`train()`'s arrays are the same, bit for bit, with the compiled kernels and with FRAMEWORK_NUMBA=off."""
    monkeypatch.setenv("FRAMEWORK_BLAS_THREADS", "1")  # "auto" follows the load: the products could differ
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = train()
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    got = train()
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(_bits(a), _bits(b))


def test_a_small_model_trains_without_importing_numba():
    """Arrays under FUSE_MIN weights take the NumPy lines: no Numba import (0.4 s) for a small model."""
    code = (
        "import sys, numpy as np, framework as fw\n"
        "m = fw.Sequential([fw.layers.Affine(64, activation='relu'), fw.layers.Affine(3), fw.layers.SoftmaxWithLoss()])\n"
        "m.compile(optimizer='adam')\n"
        "m.fit(np.ones((64, 100), np.float32), np.arange(64) % 3, epochs=1, verbose=0)\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
