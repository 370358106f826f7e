"""Batch modes (full batch, batch size 1, mini-batches) and sampling with or without replacement."""

import math

import numpy as np
import pytest
from scipy import stats

import framework as fw
from framework import data, layers
from framework.errors import InvalidArgumentError

from .test_sequential import Recorder  # the identity layer that keeps what training fed it

rng = np.random.default_rng(8)
X = rng.random((30, 4)).astype("float32")
Y = rng.integers(0, 3, 30)


def model():
    fw.set_seed(5)
    m = fw.Sequential([layers.Affine(6), layers.ReLU(), layers.Affine(3), layers.SoftmaxWithLoss()])
    m.compile(optimizer=fw.optimizers.SGD(0.1, momentum=0.9))
    m.build((None, 4))  # now: weights are drawn at build, from the seed just set
    return m


# -- the draw ---------------------------------------------------------------------
def test_without_replacement_each_epoch_is_a_permutation():
    orders = [data.epoch_order(3, epoch, 1000) for epoch in range(5)]
    for order in orders:
        assert np.array_equal(np.sort(order), np.arange(1000))
    assert not np.array_equal(orders[0], orders[1])


def test_with_replacement_about_1_minus_1_over_e_of_the_samples_appear():
    n = 10_000
    q = (1 - 1 / n) ** n  # probability that a given sample is never drawn
    mean = n * (1 - q)
    # Var of the number of distinct samples: sum over pairs of indicator covariances.
    variance = n * q * (1 - q) + n * (n - 1) * ((1 - 2 / n) ** n - q * q)
    assert abs(mean / n - (1 - 1 / math.e)) < 1e-4
    for epoch in range(20):
        distinct = len(np.unique(data.epoch_order(17, epoch, n, "with_replacement")))
        assert abs(distinct - mean) < 5 * math.sqrt(variance), (epoch, distinct, mean, math.sqrt(variance))


def test_with_replacement_draws_every_sample_uniformly():
    n, epochs = 50, 400  # 20,000 draws, 400 expected per sample
    counts = np.zeros(n, dtype=np.int64)
    for epoch in range(epochs):
        counts += np.bincount(data.epoch_order(29, epoch, n, "with_replacement"), minlength=n)
    assert counts.sum() == n * epochs
    assert stats.chisquare(counts).pvalue > 1e-4
    # And the number of times one sample appears in an epoch is ~Poisson(1).
    per_epoch = np.concatenate([np.bincount(data.epoch_order(31, e, 2000, "with_replacement"), minlength=2000)
                                for e in range(10)])
    observed = np.bincount(np.minimum(per_epoch, 4), minlength=5)
    poisson = stats.poisson(1.0)
    expected = np.array([poisson.pmf(k) for k in range(4)] + [poisson.sf(3)]) * len(per_epoch)
    assert stats.chisquare(observed, expected).pvalue > 1e-4


def test_the_draw_depends_on_seed_and_epoch_alone():
    a = data.epoch_order(5, 3, 100, "with_replacement")
    assert np.array_equal(a, data.epoch_order(5, 3, 100, "with_replacement"))
    assert not np.array_equal(a, data.epoch_order(5, 4, 100, "with_replacement"))
    assert not np.array_equal(a, data.epoch_order(6, 3, 100, "with_replacement"))


# -- fit ------------------------------------------------------------------------------
def test_fit_feeds_exactly_the_drawn_samples():
    recorder = Recorder()
    fw.set_seed(5)
    m = fw.Sequential([recorder, layers.Affine(3), layers.SoftmaxWithLoss()])
    m.compile(optimizer="sgd")
    m.fit(X, Y, batch_size=7, epochs=2, verbose=0, sampling="with_replacement")
    seen = np.concatenate(recorder.seen)
    drawn = np.concatenate([data.epoch_order(m.shuffle_seed, epoch, len(X), "with_replacement") for epoch in range(2)])
    assert np.array_equal(seen, X[drawn])
    assert len(np.unique(drawn[:30])) < 30  # some samples repeat, some are left out


def test_sampling_is_reproducible_under_set_seed_and_differs_from_a_permutation():
    runs = []
    for sampling in ("with_replacement", "with_replacement", "without_replacement"):
        m = model()
        m.fit(X, Y, batch_size=5, epochs=3, verbose=0, sampling=sampling)
        runs.append(m.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1]))
    assert not np.array_equal(runs[0][0], runs[2][0])


def test_a_bad_sampling_is_refused_before_training():
    m = model()
    before = m.get_weights()
    with pytest.raises(InvalidArgumentError, match=r"sampling must be one of \['without_replacement', "
                                                   r"'with_replacement'\], got sampling='bootstrap'"):
        m.fit(X, Y, sampling="bootstrap", verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), before)) and m.optimizer.iterations == 0


def test_full_batch_is_gradient_descent_on_all_the_data():
    fitted, by_hand = model(), model()
    fitted.fit(X, Y, batch_size=len(X), epochs=4, shuffle=False, verbose=0)
    for _ in range(4):
        by_hand.train_on_batch(X, Y)
    assert all(np.array_equal(a, b) for a, b in zip(fitted.get_weights(), by_hand.get_weights()))
    assert fitted.optimizer.iterations == 4
    shuffled = model()  # a permuted full batch: the same mean gradient, summed in another order
    shuffled.fit(X, Y, batch_size=len(X), epochs=4, verbose=0)
    for a, b in zip(shuffled.get_weights(), by_hand.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_batch_size_1_is_one_step_per_sample_in_the_epochs_order():
    fitted, by_hand = model(), model()
    fitted.fit(X, Y, batch_size=1, epochs=2, verbose=0)
    for epoch in range(2):
        for i in data.epoch_order(fitted.shuffle_seed, epoch, len(X)):
            by_hand.train_on_batch(X[i : i + 1], Y[i : i + 1])
    assert all(np.array_equal(a, b) for a, b in zip(fitted.get_weights(), by_hand.get_weights()))
    assert fitted.optimizer.iterations == 60


def test_mini_batches_cover_the_data_with_a_short_last_batch():
    recorder = Recorder()
    fw.set_seed(5)
    m = fw.Sequential([recorder, layers.Affine(3), layers.SoftmaxWithLoss()])
    m.compile(optimizer="sgd")
    m.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    assert [len(batch) for batch in recorder.seen] == [8, 8, 8, 6]
    assert np.array_equal(np.concatenate(recorder.seen), X[data.epoch_order(m.shuffle_seed, 0, len(X))])


def test_an_epochs_order_is_numpys_permutation_in_four_byte_indices():
    # The order of earlier versions (rng.permutation), so resumed runs keep their data order.
    for seed, epoch, n in [(0, 0, 1), (3, 2, 7), (11, 5, 1000), (2**40, 9, 60_001)]:
        order = data.epoch_order(seed, epoch, n)
        assert order.dtype == np.int32
        np.testing.assert_array_equal(order, np.random.default_rng([seed, epoch]).permutation(n))


def test_shuffled_in_memory_batches_are_exactly_the_indexed_rows():
    # ArrayBatches gathers a shuffled batch with numpy.take (faster); x[index] is the reference.
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -3e38, 1.5], dtype=np.float32)
    x = np.random.default_rng(3).choice(values, size=(53, 2, 3)).astype(np.float32)
    y = np.arange(53) % 4
    order = data.epoch_order(7, 0, 53)
    batches = list(data.adapters.ArrayBatches(x, y, 8).batches(order))
    assert len(batches) == 7
    for start, (x_batch, y_batch) in zip(range(0, 53, 8), batches):
        index = order[start:start + 8]
        assert x_batch.shape == x[index].shape and x_batch.dtype == x.dtype
        assert x_batch.tobytes() == x[index].tobytes()  # every bit: -0.0, NaN and denormals too
        assert y_batch.tobytes() == y[index].tobytes() and y_batch.dtype == y.dtype
    in_order = list(data.adapters.ArrayBatches(x, y, 8).batches())
    assert all(np.shares_memory(x_batch, x) for x_batch, _ in in_order)  # in order: views, no copy
