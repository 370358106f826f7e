"""What the speed work must not break: a light import, float32 end to end, the BLAS thread setting, reproducibility."""

import subprocess
import sys

import numpy as np
import pytest

import framework as fw
from framework import layers, registry, threads
from framework.errors import InvalidArgumentError

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads_now():
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def small_model(optimizer=None):
    model = fw.Sequential([layers.Affine(16), layers.ReLU(), layers.Affine(3), layers.SoftmaxWithLoss()])
    model.compile(optimizer=optimizer or fw.optimizers.SGD(0.1))
    return model


def data(n=64):
    rng = np.random.default_rng(0)
    return rng.random((n, 6), dtype=np.float32), rng.integers(0, 3, n)


@pytest.fixture(autouse=True)
def _default_setting(monkeypatch):
    monkeypatch.delenv("FRAMEWORK_BLAS_THREADS", raising=False)
    yield
    threads.set_blas_threads(None)


def test_import_framework_loads_no_heavy_library():
    code = ("import sys, framework; "
            "print(sorted(m for m in ('cupy', 'h5py', 'sklearn', 'torch', 'threadpoolctl') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", sorted(registry.names("optimizers")))
def test_every_registered_optimizer_keeps_float32_weights_and_state(name):
    model = small_model(fw.optimizers.get(name))
    x, t = data()
    model.fit(x, t, batch_size=16, epochs=2, verbose=0)
    assert {w.dtype for w in model.get_weights()} == {np.dtype(np.float32)}
    state = model.optimizer.get_state()["slots"]
    assert all(a.dtype == np.float32 for table in state.values() for a in table.values()), name


def test_fit_and_predict_use_one_blas_thread_by_default_and_give_the_pool_back():
    before = blas_threads_now()
    seen = []
    spy = fw.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(blas_threads_now()))
    model = small_model()
    x, t = data()
    model.fit(x, t, batch_size=32, verbose=0, callbacks=[spy])
    assert seen and all(n == [1] * len(before) for n in seen)
    assert blas_threads_now() == before


def test_the_setting_and_the_environment_variable_choose_the_threads(monkeypatch):
    monkeypatch.setenv("FRAMEWORK_BLAS_THREADS", "off")
    assert threads.blas_threads() is None
    monkeypatch.setenv("FRAMEWORK_BLAS_THREADS", "3")
    assert threads.blas_threads() == 3
    threads.set_blas_threads("auto")  # the call wins over the environment
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    assert threads.blas_threads() == 1  # auto: one thread on a small machine, where it was measured
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 16)
    assert threads.blas_threads() is None  # and the library's own choice elsewhere
    threads.set_blas_threads(None)
    assert threads.blas_threads() == 3


def test_off_leaves_the_blas_pool_alone():
    threads.set_blas_threads("off")
    seen = []
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        expected = blas_threads_now()
        spy = fw.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(blas_threads_now()))
        small_model().fit(*data(), batch_size=32, verbose=0, callbacks=[spy])
    assert seen and all(n == expected for n in seen)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "two", "0"])
def test_bad_settings_are_refused_before_anything_changes(bad):
    threads.set_blas_threads(2)
    with pytest.raises(InvalidArgumentError, match="threads must be a positive integer, 'auto' or 'off', got"):
        threads.set_blas_threads(bad)
    assert threads.blas_threads() == 2


def test_a_bad_environment_variable_is_named_when_fit_starts(monkeypatch):
    monkeypatch.setenv("FRAMEWORK_BLAS_THREADS", "many")
    model = small_model()
    with pytest.raises(InvalidArgumentError, match="FRAMEWORK_BLAS_THREADS must be .* got 'many'"):
        model.fit(*data(), verbose=0)
    assert not model.built  # refused before the model was touched


def train(setting):
    threads.set_blas_threads(setting)
    fw.set_seed(7)
    model = small_model(fw.optimizers.Adam(0.01))
    x = np.random.default_rng(1).random((512, 300), dtype=np.float32)  # products large enough to thread
    t = np.arange(512) % 3
    history = model.fit(x, t, batch_size=128, epochs=2, verbose=0)
    return model.get_weights(), history.history["loss"], model.predict(x, batch_size=256)


def test_results_are_bit_identical_under_set_seed_with_the_same_threads():
    for setting in ("auto", 2):
        (w1, loss1, p1), (w2, loss2, p2) = train(setting), train(setting)
        assert loss1 == loss2
        for a, b in zip(w1 + [p1], w2 + [p2]):
            np.testing.assert_array_equal(a, b)


def test_one_thread_gives_the_numbers_of_the_library_default():
    # The plain path is the reference: only the products' summation order may differ.
    (w1, loss1, p1), (w2, loss2, p2) = train("auto"), train("off")
    np.testing.assert_allclose(loss1, loss2, rtol=1e-5)
    for a, b in zip(w1 + [p1], w2 + [p2]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
