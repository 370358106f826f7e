"""Learning-rate schedules: Keras 3's formulas, registration, and use by the optimizers."""

import math

import numpy as np
import pytest

import framework as fw
from framework import layers, registry
from framework.errors import InvalidArgumentError, UnknownNameError

S = fw.schedules


def test_inverse_sqrt_decay_is_the_notes_one_over_sqrt_t():
    schedule = S.InverseSqrtDecay(0.3)
    assert [schedule(step) for step in range(4)] == [0.3, 0.3 / math.sqrt(2), 0.3 / math.sqrt(3), 0.3 / 2]
    assert S.InverseSqrtDecay(1.0, decay_steps=10)(30) == pytest.approx(0.5)


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_and_exponential_decay(staircase):
    inverse = S.InverseTimeDecay(0.1, decay_steps=4, decay_rate=0.5, staircase=staircase)
    exponential = S.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5, staircase=staircase)
    for step in range(12):
        p = step // 4 if staircase else step / 4
        assert inverse(step) == pytest.approx(0.1 / (1 + 0.5 * p), rel=1e-15)
        assert exponential(step) == pytest.approx(0.1 * 0.5**p, rel=1e-15)


def test_piecewise_constant_decay_boundaries_belong_to_the_earlier_piece():
    schedule = S.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])
    assert [schedule(step) for step in range(8)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1, 0.1]


def test_cosine_decay_without_and_with_warmup():
    schedule = S.CosineDecay(0.2, decay_steps=10, alpha=0.1)
    assert schedule(0) == pytest.approx(0.2)
    assert schedule(5) == pytest.approx(0.2 * (0.9 * 0.5 + 0.1))  # cos(pi/2) = 0
    assert schedule(10) == schedule(25) == pytest.approx(0.02)
    warm = S.CosineDecay(0.0, decay_steps=10, warmup_target=0.4, warmup_steps=4)
    assert [warm(step) for step in range(5)] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert warm(4 + 5) == pytest.approx(0.2) and warm(100) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: S.InverseSqrtDecay(math.nan), "initial_learning_rate must be a finite number"),
        (lambda: S.InverseSqrtDecay(0.0), "initial_learning_rate must be > 0"),
        (lambda: S.ExponentialDecay(0.1, 0, 0.5), "decay_steps must be a positive integer"),
        (lambda: S.ExponentialDecay(0.1, 10, math.inf), "decay_rate must be a finite number"),
        (lambda: S.PiecewiseConstantDecay([1, 2], [0.1, 0.2]), "one more entry than boundaries"),
        (lambda: S.PiecewiseConstantDecay([3, 2], [0.1, 0.2, 0.3]), "boundaries must increase strictly"),
        (lambda: S.CosineDecay(0.1, 10, warmup_steps=-1), "warmup_steps must be a non-negative integer"),
        (lambda: S.InverseSqrtDecay(0.1)(-1), "step must be a non-negative integer"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(InvalidArgumentError, match=message):
        make()


def test_registered_and_found_by_get():
    assert {"InverseSqrtDecay", "InverseTimeDecay", "ExponentialDecay", "PiecewiseConstantDecay",
            "CosineDecay"} <= set(registry.names("schedules"))
    schedule = S.PiecewiseConstantDecay([2], [0.1, 0.01])
    assert S.get(schedule) is schedule and S.get(None) is None
    rebuilt = S.get({"class_name": "PiecewiseConstantDecay", "config": schedule.get_config()})
    assert type(rebuilt) is S.PiecewiseConstantDecay and rebuilt.get_config() == schedule.get_config()
    with pytest.raises(InvalidArgumentError, match="needs its arguments"):
        S.get("CosineDecay")
    with pytest.raises(UnknownNameError, match="unknown schedule"):
        S.get("Sawtooth")
    with pytest.raises(UnknownNameError, match="never imported"):
        S.get({"class_name": "os.system", "config": {}})


def test_the_optimizer_calls_the_schedule_with_its_iterations_before_each_update(backend):
    schedule = S.InverseSqrtDecay(0.5)
    optimizer = fw.optimizers.SGD(learning_rate=schedule)
    w = np.array([1.0, 2.0], dtype=np.float32)
    params = {"w": backend.asarray(w.copy())}
    g = np.array([1.0, -1.0], dtype=np.float32)
    for step in range(5):
        assert optimizer.learning_rate == schedule(step)
        optimizer.apply(params, {"w": backend.asarray(g)})
        assert optimizer.last_learning_rate == schedule(step)
        w = w - np.float32(0.5 / math.sqrt(step + 1)) * g
    np.testing.assert_allclose(backend.to_numpy(params["w"]), w, rtol=1e-6)
    assert backend.to_numpy(params["w"]).dtype == np.float32


def test_history_logs_the_rate_of_each_epochs_last_update():
    x = np.random.default_rng(0).random((20, 4)).astype("float32")
    y = np.arange(20) % 3
    model = fw.Sequential([layers.Affine(3), layers.SoftmaxWithLoss()])
    model.compile(optimizer=fw.optimizers.Adam(S.ExponentialDecay(0.01, decay_steps=1, decay_rate=0.9)))
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)  # 3 updates an epoch
    assert history.history["learning_rate"] == [0.01 * 0.9**2, 0.01 * 0.9**5, 0.01 * 0.9**8]


def test_a_schedule_is_saved_in_the_checkpoint(tmp_path):
    model = fw.Sequential([layers.Affine(3), layers.SoftmaxWithLoss()])
    schedule = S.CosineDecay(0.1, 50, alpha=0.05, warmup_target=0.3, warmup_steps=5)
    model.compile(optimizer=fw.optimizers.SGD(schedule, momentum=0.9))
    model.fit(np.ones((10, 4), "float32"), np.arange(10) % 3, batch_size=4, epochs=2, verbose=0)
    model.save(tmp_path / "m.h5")
    loaded = fw.load_model(tmp_path / "m.h5")
    assert type(loaded.optimizer.schedule) is S.CosineDecay
    assert loaded.optimizer.schedule.get_config() == schedule.get_config()
    assert loaded.optimizer.iterations == 6 and loaded.optimizer.learning_rate == schedule(6)
