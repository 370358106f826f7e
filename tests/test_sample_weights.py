"""Sample and class weights: a batch's loss is sum(w_i * loss_i) / N, and so is its gradient."""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError

from .conftest import to_host

rng = np.random.default_rng(2)
N, C = 12, 4
X = rng.normal(size=(N, C))
LABELS = rng.integers(0, C, N)
WEIGHTS = rng.integers(0, 4, N).astype("float64")


def _log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("one_hot", [False, True])
def test_weighted_softmax_cross_entropy_against_numpy(backend, float64, one_hot):
    t = np.eye(C)[LABELS] if one_hot else LABELS
    loss_layer = layers.SoftmaxWithLoss()
    loss = loss_layer.forward(backend.asarray(X), backend.asarray(t), sample_weight=backend.asarray(WEIGHTS))
    per_sample = -_log_softmax(X)[np.arange(N), LABELS]
    assert float(loss) == pytest.approx((WEIGHTS * per_sample).sum() / N)  # divided by N, not by sum(w)
    dx = to_host(backend, loss_layer.backward(2.0))
    probabilities = np.exp(_log_softmax(X))
    expected = 2.0 * WEIGHTS[:, None] * (probabilities - np.eye(C)[LABELS]) / N
    np.testing.assert_allclose(dx, expected, rtol=1e-10, atol=1e-12)


def test_weighted_gradient_against_central_differences(float64):
    loss_layer = layers.SoftmaxWithLoss()
    loss_layer.forward(X, LABELS, sample_weight=WEIGHTS)
    dx = loss_layer.backward()
    numerical = np.zeros_like(X)
    h = 1e-6
    for index in np.ndindex(*X.shape):
        plus, minus = X.copy(), X.copy()
        plus[index] += h
        minus[index] -= h
        numerical[index] = (layers.SoftmaxWithLoss().forward(plus, LABELS, sample_weight=WEIGHTS)
                            - layers.SoftmaxWithLoss().forward(minus, LABELS, sample_weight=WEIGHTS)) / (2 * h)
    np.testing.assert_allclose(dx, numerical, rtol=1e-6, atol=1e-9)


def test_without_weights_the_loss_and_gradient_are_unchanged(float64):
    plain, weighted = layers.SoftmaxWithLoss(), layers.SoftmaxWithLoss()
    assert plain.forward(X, LABELS) == pytest.approx(weighted.forward(X, LABELS, sample_weight=np.ones(N)), rel=1e-14)
    np.testing.assert_allclose(plain.backward(), weighted.backward(), rtol=1e-14)


def _model(seed=5):
    fw.set_seed(seed)
    model = fw.Sequential([layers.Affine(8, input_shape=(C,)), layers.ReLU(), layers.Affine(C)])
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    return model


def test_integer_weights_train_as_repeated_samples(float64):
    # One full-batch step: weights w on N samples equal the duplicated data set
    # (sum w samples), whose batch mean divides by sum(w) instead of N.
    weighted, repeated = _model(), _model()
    weighted.fit(X, LABELS, sample_weight=WEIGHTS, batch_size=N, epochs=1, shuffle=False, verbose=0)
    repeat = WEIGHTS.astype(int)
    repeated.optimizer.learning_rate *= repeat.sum() / N
    repeated.fit(np.repeat(X, repeat, axis=0), np.repeat(LABELS, repeat), batch_size=int(repeat.sum()), epochs=1,
                 shuffle=False, verbose=0)
    for a, b in zip(weighted.get_weights(), repeated.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert not np.allclose(weighted.get_weights()[0], _model().get_weights()[0])  # it did train


def test_class_weight_equals_the_sample_weights_it_stands_for(backend):
    class_weight = {0: 0.5, 2: 3.0}  # class 1 and 3 keep 1.0, as in Keras
    by_class, by_sample = _model(), _model()
    by_class.fit(X, LABELS, class_weight=class_weight, batch_size=5, epochs=2, verbose=0, shuffle=False)
    weights = np.array([class_weight.get(label, 1.0) for label in LABELS])
    by_sample.fit(X, LABELS, sample_weight=weights, batch_size=5, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(by_class.get_weights(), by_sample.get_weights()):
        np.testing.assert_array_equal(a, b)
    one_hot = _model()
    one_hot.compile(optimizer=fw.optimizers.SGD(learning_rate=0.1), loss="categorical_crossentropy")
    one_hot.fit(X, np.eye(C)[LABELS], class_weight=class_weight, batch_size=5, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(one_hot.get_weights(), by_sample.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_weighted_evaluate_against_the_predicted_probabilities(backend):
    model = _model()
    loss = model.evaluate(X, LABELS, sample_weight=WEIGHTS, batch_size=5)
    p = model.predict(X).astype("float64")
    assert loss == pytest.approx((WEIGHTS * -np.log(p[np.arange(N), LABELS])).sum() / N, rel=1e-5)
    assert model.test_on_batch(X, LABELS, sample_weight=WEIGHTS) == pytest.approx(loss, rel=1e-5)


def test_validation_split_takes_its_share_of_the_weights():
    model = _model()
    history = model.fit(X, LABELS, sample_weight=WEIGHTS, validation_split=0.25, epochs=1, verbose=0)
    split = int(N * 0.75)
    expected = model.evaluate(X[split:], LABELS[split:], sample_weight=WEIGHTS[split:])
    assert history.history["val_loss"] == [pytest.approx(expected)]
    with_data = model.fit(X, LABELS, validation_data=(X, LABELS, WEIGHTS), epochs=1, verbose=0)
    assert with_data.history["val_loss"] == [pytest.approx(model.evaluate(X, LABELS, sample_weight=WEIGHTS))]


@pytest.mark.parametrize("kwargs,message", [
    (dict(sample_weight=np.ones(N - 1)), rf"sample_weight must have shape \({N},\), one weight per sample, got shape \({N - 1},\)"),
    (dict(sample_weight=-np.ones(N)), "sample_weight must be non-negative, got the weight -1.0"),
    (dict(sample_weight=np.full(N, np.nan)), "sample_weight must be finite"),
    (dict(class_weight={7: 2.0}), "class_weight has the unknown class 7; the model's classes are 0 to 3"),
    (dict(class_weight={"cat": 2.0}), "class_weight has the unknown class 'cat'"),
    (dict(class_weight={1: -2.0}), r"class_weight\[1\] must be a finite non-negative number, got -2.0"),
    (dict(class_weight=[1.0, 2.0]), "class_weight must be a dict"),
    (dict(class_weight={1: 2.0}, sample_weight=np.ones(N)), "sample_weight and class_weight cannot both be given"),
])
def test_bad_weights_raise_before_anything_changes(kwargs, message):
    model = _model()
    before = model.get_weights()
    with pytest.raises(InvalidArgumentError, match=message):
        model.fit(X, LABELS, epochs=1, verbose=0, **kwargs)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.history is None
    if "sample_weight" in kwargs and "class_weight" not in kwargs:
        with pytest.raises(InvalidArgumentError, match=message):
            model.evaluate(X, LABELS, **kwargs)


def test_weighted_training_keeps_float32(backend):
    model = _model()
    model.fit(X, LABELS, sample_weight=WEIGHTS, epochs=1, verbose=0)
    assert all(w.dtype == np.float32 for w in model.get_weights())
    assert isinstance(model.history.history["loss"][0], float)


class _Batches(fw.data.Sequence):
    def __init__(self, size):
        self.size = size

    def __len__(self):
        return -(-N // self.size)

    def __getitem__(self, i):
        part = slice(i * self.size, (i + 1) * self.size)
        return X[part], LABELS[part]


def test_class_weight_weighs_data_read_batch_by_batch_as_it_weighs_arrays():
    from_arrays, from_sequence = _model(), _model()
    class_weight = {1: 2.5, 3: 0.0}
    from_arrays.fit(X, LABELS, class_weight=class_weight, batch_size=5, epochs=2, shuffle=False, verbose=0)
    from_sequence.fit(_Batches(5), class_weight=class_weight, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(from_arrays.get_weights(), from_sequence.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(InvalidArgumentError, match="sample_weight needs in-memory arrays x and y"):
        from_sequence.fit(_Batches(5), sample_weight=np.ones(N), verbose=0)
    with pytest.raises(InvalidArgumentError, match="class_weight has the unknown class 9"):
        from_sequence.fit(_Batches(5), class_weight={9: 1.0}, verbose=0)
