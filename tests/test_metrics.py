"""Metrics: each against an independent computation (scikit-learn's where one exists), on every backend."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn import metrics as skm

import framework as fw
from framework import layers, metrics
from framework.errors import InvalidArgumentError, UnknownNameError
from framework.metrics import functions

from .conftest import to_host

rng = np.random.default_rng(0)
N, C = 40, 6
SCORES = rng.random((N, C)).astype("float32")
PROBS = SCORES / SCORES.sum(axis=1, keepdims=True)
LABELS = rng.integers(0, C, N)
ONE_HOT = np.eye(C, dtype="float32")[LABELS]


@pytest.mark.parametrize("name", ["accuracy", "categorical_accuracy", "sparse_categorical_accuracy"])
@pytest.mark.parametrize("one_hot", [False, True])
def test_class_accuracy_matches_sklearn(backend, name, one_hot):
    t = ONE_HOT if one_hot else LABELS
    value = metrics.get(name)(backend.asarray(t), backend.asarray(PROBS))
    assert float(value) == pytest.approx(skm.accuracy_score(LABELS, PROBS.argmax(axis=1)))


def test_top_k_accuracy_matches_sklearn(backend):
    value = metrics.get("top_k_categorical_accuracy")(backend.asarray(LABELS), backend.asarray(PROBS))
    expected = skm.top_k_accuracy_score(LABELS, PROBS, k=5, labels=range(C))
    assert 0 < expected < 1 and float(value) == pytest.approx(expected)


@pytest.mark.parametrize("name,reference", [("mse", skm.mean_squared_error), ("mae", skm.mean_absolute_error),
                                            ("mean_squared_error", skm.mean_squared_error)])
def test_regression_metrics_match_sklearn(backend, name, reference):
    y = rng.normal(size=(N, 2)).astype("float32")
    p = rng.normal(size=(N, 2)).astype("float32")
    assert float(metrics.get(name)(backend.asarray(y), backend.asarray(p))) == pytest.approx(reference(y, p), rel=1e-5)
    # targets (n,) against one output (n, 1) are taken as (n, 1), never broadcast to (n, n)
    value = metrics.get(name)(backend.asarray(y[:, 0]), backend.asarray(p[:, :1]))
    assert float(value) == pytest.approx(reference(y[:, 0], p[:, 0]), rel=1e-5)


def test_binary_accuracy_thresholds_probabilities(backend):
    p = rng.random((N, 1)).astype("float32")
    t = rng.integers(0, 2, N)
    expected = skm.accuracy_score(t, (p[:, 0] > 0.5).astype(int))
    for name in ("binary_accuracy", "accuracy"):  # one output: "accuracy" is binary
        value = metrics.get(name)(backend.asarray(t.astype("float32")), backend.asarray(p))
        assert float(value) == pytest.approx(expected)


def _binary_data(n=200, seed=1):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, 3)).astype("float32")
    y = (x[:, 0] + 0.5 * r.normal(size=n) > 0).astype("float32")
    return x, y


@pytest.mark.parametrize("loss_layer", [None, layers.SigmoidWithLoss])
def test_accuracy_of_a_one_output_binary_model_thresholds_at_one_half(loss_layer):
    # Before metrics knew the loss, a one-output model always showed accuracy 1.0.
    x, y = _binary_data()
    model = fw.Sequential([layers.Affine(1, input_shape=(3,))] + ([loss_layer()] if loss_layer else []))
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=0.5), metrics=["accuracy"],
                  loss=None if loss_layer else "binary_crossentropy")
    model.fit(x, y, epochs=3, batch_size=200, verbose=0)
    _, accuracy = model.evaluate(x, y)
    expected = np.mean((model.predict(x)[:, 0] > 0.5) == (y == 1))
    assert accuracy == pytest.approx(expected) and 0.5 < accuracy < 1.0


def test_accuracy_is_binary_for_a_binary_loss_with_several_outputs():
    class BinaryLoss(layers.SigmoidWithLoss):
        binary = True  # the attribute wins over the class name

    x = rng.normal(size=(30, 3)).astype("float32")
    y = rng.integers(0, 2, (30, 2)).astype("float32")
    model = fw.Sequential([layers.Affine(2, input_shape=(3,)), BinaryLoss()])
    model.compile(metrics=["accuracy"])
    p = model.predict(x)
    assert model.evaluate(x, y)[1] == pytest.approx(np.mean((p > 0.5) == (y == 1)))
    assert metrics.for_loss("accuracy", BinaryLoss()) is functions.binary_accuracy
    assert metrics.for_loss("accuracy", layers.SoftmaxWithLoss()) is functions.accuracy
    assert metrics.for_loss("accuracy", layers.SigmoidWithLoss()) is functions.binary_accuracy


def test_regression_metrics_of_a_regression_model_against_sklearn():
    x = rng.normal(size=(50, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=50)
    model = fw.Sequential([layers.Affine(1, input_shape=(3,))])
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae", "mse"])
    model.fit(x, y, epochs=3, batch_size=10, verbose=0)
    logs = model.evaluate(x, y, return_dict=True)
    p = model.predict(x)[:, 0]
    assert logs["mae"] == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-5)
    assert logs["mse"] == pytest.approx(skm.mean_squared_error(y, p), rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["mse"], rel=1e-5)


@pytest.mark.parametrize("batch_size", [7, 200])
def test_precision_recall_auc_are_computed_over_the_whole_epoch(batch_size):
    x, y = _binary_data()
    model = fw.Sequential([layers.Affine(1, input_shape=(3,))])
    model.compile(loss="binary_crossentropy", metrics=[fw.metrics.Precision(), fw.metrics.Recall(), "auc"])
    model.fit(x, y, epochs=2, batch_size=batch_size, verbose=0, shuffle=False)
    logs = model.evaluate(x, y, batch_size=batch_size, return_dict=True)
    p = model.predict(x)[:, 0]
    assert logs["precision"] == pytest.approx(skm.precision_score(y, p > 0.5))
    assert logs["recall"] == pytest.approx(skm.recall_score(y, p > 0.5))
    assert logs["auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-2)  # 200 thresholds: approximate
    assert list(model.history.history) == ["loss", "precision", "recall", "auc", "learning_rate"]


def test_auc_is_exact_when_predictions_fall_between_thresholds(backend):
    # Thresholds at multiples of 1/1000; predictions at odd multiples of 1/2000,
    # with ties: every distinct prediction has a threshold of its own.
    r = np.random.default_rng(5)
    p = ((r.integers(0, 1000, 500) + 0.5) / 1000).astype("float64")
    y = (r.random(500) < p).astype("float64")
    auc = fw.metrics.AUC(num_thresholds=1001)
    for part in np.array_split(np.arange(500), 7):
        auc.update_state(backend.asarray(y[part]), backend.asarray(p[part, None]))
    assert auc.result() == pytest.approx(skm.roc_auc_score(y, p), abs=1e-9)
    auc.reset_state()
    assert auc.result() == 0.0


def test_auc_minoring_and_majoring_bound_the_trapezoid(backend):
    x, y = _binary_data(seed=3)
    p = 1 / (1 + np.exp(-x[:, :1] * 2))
    values = {}
    for method in ("minoring", "interpolation", "majoring"):
        auc = fw.metrics.AUC(num_thresholds=20, summation_method=method)
        auc.update_state(backend.asarray(y), backend.asarray(p))
        values[method] = auc.result()
    assert values["minoring"] < values["interpolation"] < values["majoring"]


def test_precision_recall_class_id_and_threshold(backend):
    t = backend.asarray(ONE_HOT)
    p = backend.asarray(PROBS)
    for cls, metric in [(fw.metrics.Precision, skm.precision_score), (fw.metrics.Recall, skm.recall_score)]:
        m = cls(thresholds=0.2, class_id=2)
        m.update_state(t, p)
        assert m.result() == pytest.approx(metric(LABELS == 2, PROBS[:, 2] > 0.2))
        m = cls()  # every output of every sample is one binary decision (Keras's default); indices one-hot
        m.update_state(backend.asarray(LABELS), p)
        assert m.result() == pytest.approx(metric(ONE_HOT.ravel(), PROBS.ravel() > 0.5, zero_division=0.0))


def test_a_user_function_gets_host_arrays_and_what_predict_returns():
    seen = []

    def mean_top_probability(y_true, y_pred):
        seen.append((type(y_true), type(y_pred)))
        return float(y_pred.max(axis=1).mean())

    model = fw.Sequential([layers.Affine(C, input_shape=(C,))])
    model.compile(loss="sparse_categorical_crossentropy", metrics=[mean_top_probability])
    logs = model.evaluate(SCORES, LABELS, batch_size=N, return_dict=True)
    assert logs["mean_top_probability"] == pytest.approx(model.predict(SCORES).max(axis=1).mean())
    assert set(seen) == {(np.ndarray, np.ndarray)}


def test_user_function_metrics_work_on_the_strict_backend(backend):
    model = fw.Sequential([layers.Affine(C, input_shape=(C,))])
    model.compile(loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", "auc", lambda t, p: float(np.mean(p.argmax(1) == t))])
    history = model.fit(SCORES, LABELS, epochs=1, batch_size=8, verbose=0)
    assert history.history["accuracy"] == pytest.approx(history.history["<lambda>"])


class _Plugin:
    @staticmethod
    @fw.hookimpl
    def register_metrics(register):
        register(lambda y_true, y_pred: float(np.mean(y_pred[:, 0])), name="first_output_mean")


def test_a_plugin_registers_a_metric_by_name():
    name = fw.registry.register_plugin(_Plugin, name="test-metric-plugin")
    try:
        model = fw.Sequential([layers.Affine(2, input_shape=(C,))])
        model.compile(loss="mse", metrics=["first_output_mean"])
        y = rng.normal(size=(N, 2))
        logs = model.evaluate(SCORES, y, return_dict=True)
        assert logs["first_output_mean"] == pytest.approx(model.predict(SCORES)[:, 0].mean())
    finally:
        fw.registry.unregister_plugin(name)


def test_bad_metric_arguments_raise_the_frameworks_error():
    model = fw.Sequential([layers.Affine(3)])
    with pytest.raises(UnknownNameError, match="unknown metric 'f1'"):
        model.compile(loss="sparse_categorical_crossentropy", metrics=["f1"])
    with pytest.raises(InvalidArgumentError, match="both be reported as 'accuracy'"):
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy", "accuracy"])
    with pytest.raises(InvalidArgumentError, match="metrics must hold"):
        model.compile(loss="sparse_categorical_crossentropy", metrics=[3])
    assert not model.compiled
    with pytest.raises(InvalidArgumentError, match=r"thresholds must be a number in \[0, 1\], got thresholds=1.5"):
        fw.metrics.Precision(thresholds=1.5)
    with pytest.raises(InvalidArgumentError, match="num_thresholds must be an integer > 1, got num_thresholds=1"):
        fw.metrics.AUC(num_thresholds=1)
    with pytest.raises(InvalidArgumentError, match="curve must be 'ROC'"):
        fw.metrics.AUC(curve="PR")
    with pytest.raises(InvalidArgumentError, match="class_id must be None or a non-negative integer"):
        fw.metrics.Recall(class_id=-1)


CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import framework as fw
    model = fw.load_model(sys.argv[1])
    x, y = np.load(sys.argv[2]), np.load(sys.argv[3])
    print(repr(model.evaluate(x, y, batch_size=16, return_dict=True)))
    print(model.metrics[1].get_config())
""")


def test_compiled_metrics_survive_save_and_load_in_a_fresh_process(tmp_path):
    model = fw.Sequential([layers.Affine(C, input_shape=(C,))])
    model.compile(loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", fw.metrics.AUC(num_thresholds=50, name="auc_50"), "mae",
                           fw.metrics.Precision(thresholds=0.3), fw.metrics.Recall(class_id=1)])
    model.fit(SCORES, LABELS, epochs=2, batch_size=16, verbose=0)
    model.save(tmp_path / "m.h5")
    np.save(tmp_path / "x.npy", SCORES)
    np.save(tmp_path / "y.npy", LABELS)
    env = dict(os.environ, FRAMEWORK_BACKEND="numpy")
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "m.h5"), str(tmp_path / "x.npy"),
                          str(tmp_path / "y.npy")], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    out = out.stdout
    logs, config = out.strip().splitlines()
    assert eval(logs) == pytest.approx(model.evaluate(SCORES, LABELS, batch_size=16, return_dict=True))
    assert list(eval(logs)) == ["loss", "accuracy", "auc_50", "mae", "precision", "recall"]
    assert eval(config) == {"num_thresholds": 50, "curve": "ROC", "summation_method": "interpolation", "name": "auc_50"}


def test_an_unregistered_metric_function_is_left_out_of_a_checkpoint_with_a_warning(tmp_path):
    def my_metric(y_true, y_pred):
        return 0.0

    model = fw.Sequential([layers.Affine(3, input_shape=(2,))])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy", my_metric])
    with pytest.warns(RuntimeWarning, match="'my_metric' is not registered"):
        model.save(tmp_path / "m.h5")
    assert fw.load_model(tmp_path / "m.h5").metrics == ["accuracy"]


def test_metric_values_are_floats_on_float32_models(backend):
    model = fw.Sequential([layers.Affine(C, input_shape=(C,))])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy", "auc", "mse"])
    logs = model.evaluate(SCORES, LABELS, return_dict=True)
    assert all(type(value) is float for value in logs.values())
    assert to_host(backend, model(SCORES)).dtype == np.float32


def test_auc_counting_by_bucket_equals_comparing_with_every_threshold(backend):
    r = np.random.default_rng(8)
    p = r.random((300, 3)).astype("float32")
    p[:5] = [[0.0, 1.0, 0.5]] * 5  # predictions exactly on the end and middle thresholds
    y = r.integers(0, 2, (300, 3)).astype("float32")
    auc = fw.metrics.AUC(num_thresholds=11)
    auc.update_state(backend.asarray(y), backend.asarray(p))
    tp, fp = auc._counts_by_comparison(backend.asarray(y), backend.asarray(p))
    np.testing.assert_array_equal(to_host(backend, auc.true_positives), to_host(backend, tp))
    np.testing.assert_array_equal(to_host(backend, auc.false_positives), to_host(backend, fp))
