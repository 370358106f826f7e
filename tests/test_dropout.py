"""Dropout: inverted dropout in training only, seeded masks, held fixed for gradient checks."""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError
from framework.random import fixed_noise, noise_fixed
from framework.testing import check_layer

from .conftest import to_host


def expected_mask(seed, call, shape, rate):
    """The documented stream: call k keeps the units where default_rng([seed, k]).random() >= rate."""
    keep = np.random.default_rng([seed, call]).random(shape, dtype=np.float32) >= rate
    return keep / (1.0 - rate)


def test_inference_is_the_identity(backend):
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    layer = layers.Dropout(0.5)
    out = layer.forward(backend.asarray(x))
    dx = layer.backward(backend.asarray(x))
    assert np.array_equal(to_host(backend, out), x) and np.array_equal(to_host(backend, dx), x)
    assert layer.calls == 0  # inference draws nothing


def test_training_drops_and_scales_with_the_documented_masks(backend):
    x = np.random.default_rng(0).normal(size=(50, 40)).astype(np.float32)
    layer = layers.Dropout(0.3, seed=42)
    for call in range(3):
        out = to_host(backend, layer.forward(backend.asarray(x), training=True))
        mask = expected_mask(42, call, x.shape, 0.3)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, x * mask, rtol=1e-6)
        dout = np.random.default_rng(call).normal(size=x.shape).astype(np.float32)
        dx = to_host(backend, layer.backward(backend.asarray(dout)))
        assert dx.dtype == np.float32
        np.testing.assert_allclose(dx, dout * mask, rtol=1e-6)
        assert abs((out == 0).mean() - 0.3) < 0.03  # about `rate` of the units dropped
    assert layer.calls == 3
    masks = [expected_mask(42, call, x.shape, 0.3) for call in range(2)]
    assert not np.array_equal(masks[0], masks[1])  # each call draws a new mask


def test_the_expected_value_is_kept():
    x = np.ones((200, 500), dtype=np.float32)
    out = layers.Dropout(0.5, seed=1).forward(x, training=True)
    assert abs(float(out.mean()) - 1.0) < 0.01
    assert set(np.unique(out)) == {0.0, 2.0}


def test_rate_zero_changes_nothing_in_training():
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    layer = layers.Dropout(0.0)
    assert np.array_equal(layer.forward(x, training=True), x)


def test_fixed_noise_repeats_the_next_mask_without_advancing():
    x = np.ones((8, 16), dtype=np.float32)
    layer = layers.Dropout(0.5, seed=3)
    layer.forward(x, training=True)
    assert not noise_fixed()
    with fixed_noise():
        assert noise_fixed()
        held = [layer.forward(x, training=True) for _ in range(3)]
    assert not noise_fixed()
    assert layer.calls == 1
    assert all(np.array_equal(h, held[0]) for h in held)
    # The held mask is the one the next ordinary call draws: a check leaves the stream as it was.
    assert np.array_equal(layer.forward(x, training=True), held[0])
    assert layer.calls == 2


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("rate, input_shape", [(0.5, (6, 5)), (0.2, (2, 3, 4, 4)), (0.0, (3, 4))])
def test_conformance_kit(backend, rate, input_shape, training):
    layer = layers.Dropout(rate)
    report = check_layer(layer, input_shape, training=training)
    assert report.max_relative_error < 1e-6 and set(report.parameters) == {"input"}
    assert layer.calls == 0  # the kit held the mask, and advanced nothing


def test_gradient_check_in_training_actually_drops(float64):
    """The training-mode check is of the dropped function: dx is 0 where the held mask is."""
    layer = layers.Dropout(0.5, seed=5)
    x = np.random.default_rng(0).normal(size=(6, 8))
    report = fw.gradient_check(layer, x, training=True)
    assert report.max_relative_error < 1e-7
    with fixed_noise():
        layer.forward(x, training=True)
        dx = layer.backward(np.ones_like(x))
    assert np.array_equal(dx, expected_mask(5, 0, x.shape, 0.5))
    assert (dx == 0).any()


def fit_with_dropout(seed):
    fw.set_seed(seed)
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 6)).astype(np.float32), rng.integers(0, 3, 64)
    model = fw.Sequential([layers.Affine(16), layers.ReLU(), layers.Dropout(0.5), layers.Affine(3)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    return model


def test_set_seed_makes_runs_bit_identical():
    first, second, other = fit_with_dropout(5), fit_with_dropout(5), fit_with_dropout(6)
    assert first.layers[2].seed == second.layers[2].seed != other.layers[2].seed
    for a, b in zip(first.get_weights(), second.get_weights()):
        assert np.array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])
    assert first.layers[2].calls == 12  # 3 epochs of 4 batches


def test_same_weights_and_data_but_other_masks_train_differently():
    """The masks matter: the same model with the dropout stream moved on ends elsewhere."""
    a, b = fit_with_dropout(5), fit_with_dropout(5)
    weights = a.get_weights()
    rng = np.random.default_rng(1)
    x, y = rng.random((16, 6)).astype(np.float32), rng.integers(0, 3, 16)
    b.layers[2].calls += 1
    a.train_on_batch(x, y)
    b.train_on_batch(x, y)
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])
    assert not np.array_equal(a.get_weights()[0], weights[0])


def test_the_seed_is_drawn_at_build_time_with_the_weights():
    """set_seed after making the model but before fit fixes the masks, as it fixes the weights."""
    def run():
        model = fw.Sequential([layers.Affine(4), layers.Dropout(0.5)])
        fw.set_seed(9)
        model.build((None, 3))
        return model.layers[1].seed

    assert layers.Dropout(0.5).get_config()["seed"] is None  # not drawn yet
    assert run() == run()


def test_config_records_the_seed_in_use():
    layer = layers.Dropout(0.25)
    layer.build((None, 10))
    config = layer.get_config()
    assert config == {"name": "dropout", "rate": 0.25, "seed": layer.seed}
    clone = layers.Dropout.from_config(config)
    x = np.ones((4, 10), dtype=np.float32)
    assert np.array_equal(clone.forward(x, training=True), layer.forward(x, training=True))


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "0.5", True, None, float("nan")])
def test_a_rate_outside_zero_one_is_refused(rate):
    with pytest.raises(InvalidArgumentError, match=r"rate must be a number in \[0, 1\), got rate="):
        layers.Dropout(rate)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_a_bad_seed_is_refused(seed):
    with pytest.raises(InvalidArgumentError, match="seed="):
        layers.Dropout(0.5, seed=seed)


@pytest.mark.parametrize("state", [{"calls": -1}, {"calls": 1.0}, {"calls": True}, {}, None, {"calls": 1, "x": 2}])
def test_a_bad_random_state_is_refused_and_changes_nothing(state):
    layer = layers.Dropout(0.5)
    layer.calls = 4
    with pytest.raises(InvalidArgumentError, match="random state"):
        layer.set_random_state(state)
    assert layer.calls == 4


THRESHOLDS = [0.0, 0.2, 0.5, 1 / 3, 0.7, 3355443 * 2.0**-24, 3355443 * 2.0**-24 + 1e-12, 3355443 * 2.0**-24 - 1e-12,
              1e-30, 2.0**-24, 1 - 2.0**-24, 1 - 2.0**-25, 0.99999999, float(np.float32(0.2)),
              -0.0, float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize("raw_bits", [True, False], ids=["raw-bits", "numpy-floats"])
def test_uniform_at_least_is_numpys_float_comparison(monkeypatch, raw_bits):
    # The plain expression is the reference; both paths must give its booleans.
    from framework import random

    if raw_bits:
        if np.little_endian:
            assert random._raw_bits_make_floats()  # this NumPy makes its floats so: the fast path is what runs
    else:
        monkeypatch.setattr(random, "_raw_bits_ok", False)
    # Thresholds at, just above and just below drawn uniforms: where > and >=, or a
    # ceiling and a floor, would differ (a chance of 2**-32 per unit otherwise).
    uniforms = np.random.default_rng([42, 7]).random(128 * 256, dtype=np.float32)
    # and a uniform made of 32 bits whose lowest 8 (dropped by NumPy) are zero: there `bits >= limit` is tight
    raw = np.random.PCG64([42, 7]).random_raw(128 * 256 // 2).view(np.uint32)
    tight = int(np.flatnonzero(raw % 256 == 0)[0])
    drawn = uniforms[[0, 3, 39, tight]].tolist()
    at_draws = [value + offset for value in drawn for offset in (0.0, 1e-12, -1e-12, 2.0**-26)]
    # As Python floats (NumPy compares them in float32) and as NumPy float64 (compared in float64).
    for threshold in THRESHOLDS + at_draws + [np.float64(value) for value in at_draws] + [-0.5, 1.5, 1.0]:
        for shape in [(128, 256), (3, 5), (7,), (1, 1, 3), (1,), (), (40,)]:
            for seed in ([0, 0], [42, 7], [2**63 - 2, 123456]):
                keep = random.uniform_at_least(seed, shape, threshold)
                expected = np.random.default_rng(seed).random(shape, dtype=np.float32) >= threshold
                assert keep.dtype == bool and keep.shape == np.shape(expected)
                assert np.array_equal(keep, expected), (threshold, shape, seed)


def test_dropout_masks_of_odd_sizes_follow_the_stream():
    # An odd number of units uses half of the last 64-bit draw.
    x = np.ones((3, 7), dtype=np.float32)
    layer = layers.Dropout(0.45, seed=9)
    for call in range(4):
        out = layer.forward(x, training=True)
        assert np.array_equal(out, x * expected_mask(9, call, x.shape, 0.45).astype(np.float32))
