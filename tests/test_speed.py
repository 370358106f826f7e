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
            "print(sorted(m for m in ('cupy', 'h5py', 'sklearn', 'torch', 'threadpoolctl', 'numba') if m in sys.modules))")
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


def others_running(monkeypatch, n):
    """Pretend `n` threads of other processes are running (None: the load cannot be read)."""
    monkeypatch.setattr(threads, "_others_running", lambda: n)
    monkeypatch.setattr(threads, "_last_probe", (-float("inf"), None))  # forget the last reading


def fit_recording_blas_threads():
    seen = []
    spy = fw.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(blas_threads_now()))
    small_model().fit(*data(), batch_size=32, verbose=0, callbacks=[spy])
    return seen


def test_auto_gives_the_library_one_thread_per_free_core_while_other_processes_run(monkeypatch):
    monkeypatch.setattr(threads, "_cores", lambda: 2)
    others_running(monkeypatch, 1)
    before = blas_threads_now()
    seen = fit_recording_blas_threads()
    assert seen and all(n == [1] * len(before) for n in seen)
    assert blas_threads_now() == before  # the pool is given back


def test_auto_leaves_the_library_alone_on_a_quiet_machine(monkeypatch):
    others_running(monkeypatch, 0)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        expected = blas_threads_now()
        seen = fit_recording_blas_threads()
    assert seen and all(n == expected for n in seen)


def test_auto_never_raises_the_librarys_own_number_of_threads(monkeypatch):
    monkeypatch.setattr(threads, "_cores", lambda: 8)
    others_running(monkeypatch, 2)  # 6 cores free, but the library was set to 1 (as OPENBLAS_NUM_THREADS=1 does)
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        seen = fit_recording_blas_threads()
    assert seen and all(set(n) == {1} for n in seen)


@pytest.mark.parametrize("cores, others, expected", [(2, 0, None), (2, 1, 1), (2, 5, 1), (8, 3, 5), (16, 0, None),
                                                     (2, None, 1), (16, None, None)])
def test_auto_counts_the_cores_other_processes_leave(monkeypatch, cores, others, expected):
    monkeypatch.setattr(threads, "_cores", lambda: cores)
    others_running(monkeypatch, others)
    assert threads.blas_threads() == expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_busy_process_is_seen_as_running():
    assert threads._others_running() >= 0
    busy = subprocess.Popen([sys.executable, "-c", "print('ready', flush=True)\nwhile True: pass"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert busy.stdout.readline().strip() == "ready"
        # The busy loop is running or waiting for a core whenever we look; look a few times.
        readings = [threads._others_running() for _ in range(20)]
    finally:
        busy.kill()
        busy.wait()
    assert max(readings) >= 1, readings


def test_the_load_is_read_at_most_once_a_second(monkeypatch):
    calls = []
    monkeypatch.setattr(threads, "_others_running", lambda: calls.append(1) or 0)
    monkeypatch.setattr(threads, "_last_probe", (-float("inf"), None))
    for _ in range(5):
        threads.blas_threads()
    assert len(calls) == 3  # one probe: three readings 1 ms apart


def test_a_process_seen_at_one_reading_only_does_not_take_a_core(monkeypatch):
    readings = iter([1, 0, 1])  # a short-lived process: running at the first and last look only
    monkeypatch.setattr(threads, "_others_running", lambda: next(readings))
    monkeypatch.setattr(threads, "_last_probe", (-float("inf"), None))
    monkeypatch.setattr(threads, "_cores", lambda: 2)
    assert threads.blas_threads() is None


def test_the_setting_and_the_environment_variable_choose_the_threads(monkeypatch):
    monkeypatch.setenv("FRAMEWORK_BLAS_THREADS", "off")
    assert threads.blas_threads() is None
    monkeypatch.setenv("FRAMEWORK_BLAS_THREADS", "3")
    assert threads.blas_threads() == 3
    threads.set_blas_threads("auto")  # the call wins over the environment
    monkeypatch.setattr(threads, "_cores", lambda: 2)
    others_running(monkeypatch, 1)
    assert threads.blas_threads() == 1
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
    for setting in (1, 2):
        (w1, loss1, p1), (w2, loss2, p2) = train(setting), train(setting)
        assert loss1 == loss2
        for a, b in zip(w1 + [p1], w2 + [p2]):
            np.testing.assert_array_equal(a, b)


def test_one_thread_gives_the_numbers_of_the_library_default():
    # The plain path is the reference: only the products' summation order may differ.
    (w1, loss1, p1), (w2, loss2, p2) = train(1), train("off")
    np.testing.assert_allclose(loss1, loss2, rtol=1e-5)
    for a, b in zip(w1 + [p1], w2 + [p2]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


# -- the NumPy backend keeps freed memory for the next step ---------------------
FAULTS = """
import resource, numpy as np, framework as fw
fw.get_backend().prepare_loop()  # what fit, evaluate and predict do first

def step():  # a step's large temporaries: three 8 MiB arrays, freed together
    a, b, c = np.ones(2**21, np.float32), np.ones(2**21, np.float32), np.ones(2**21, np.float32)
    return float(a[0] + b[0] + c[0])

step(); step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)  # pages the kernel had to fill
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_the_numpy_backend_reuses_freed_memory_instead_of_new_pages_every_step():
    import os

    def page_faults(**env):
        environ = {key: value for key, value in os.environ.items() if key != "FRAMEWORK_MALLOC"}
        done = subprocess.run([sys.executable, "-c", FAULTS], capture_output=True, text=True, check=True,
                              env={**environ, **env})
        return int(done.stdout.strip())

    if not page_faults(FRAMEWORK_MALLOC="off") > 20 * 500:  # pages of a step's arrays filled anew every step
        pytest.skip("this C library keeps freed memory without being asked")
    assert page_faults() < 500  # the same 20 steps, on memory kept from the first two


def test_framework_malloc_off_leaves_the_c_library_alone(monkeypatch):
    from backends import numpy_backend

    monkeypatch.setenv("FRAMEWORK_MALLOC", "off")
    assert numpy_backend.keep_freed_memory() is False
