"""Bad input: the framework's own errors, naming the argument, expected and given; nothing changed."""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import FrameworkError, InvalidArgumentError, NotCompiledError, UnknownNameError

rng = np.random.default_rng(0)
X = rng.random((40, 6)).astype("float32")
T = np.arange(40) % 3


def compiled_model():
    model = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(3), layers.SoftmaxWithLoss()])
    model.compile(optimizer="adam", metrics=["accuracy"])
    model.build((None, 6))
    return model


def unchanged(model, before):
    return all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(x=X, y=T[:30]), r"same number of samples, got 40 and 30"),
        (dict(x=X[:0], y=T[:0]), r"x is empty"),
        (dict(x=X, y=np.where(T == 2, 3, T)), r"class indices in \[0, 3\).*got the label 3"),
        (dict(x=X, y=np.where(T == 2, -1, T)), r"class indices in \[0, 3\).*got the label -1"),
        (dict(x=X, y=T + 0.5), r"integral class indices"),
        (dict(x=X, y=np.eye(5)[T % 5]), r"one-hot of width 5 but the model has 3 outputs"),
        (dict(x=X[:, :5], y=T), r"x has feature shape \(5,\) but the model was built for \(6,\)"),
        (dict(x=X[:, 0], y=T), r"x must have a batch axis.*ndim >= 2.*\(40,\)"),
        (dict(x=X.astype(str), y=T), r"x must hold numbers, got dtype <U"),
        (dict(x=X.astype(object), y=T), r"x must hold numbers, got dtype object"),
        (dict(x=X, y=T.astype(str)), r"y must hold numbers, got dtype <U"),
        (dict(x=np.where(np.arange(240).reshape(40, 6) == 13, np.nan, X), y=T), r"x contains NaN or Inf \(first at index \(2, 1\)\)"),
        (dict(x=np.where(np.arange(240).reshape(40, 6) == 0, np.inf, X), y=T), r"x contains NaN or Inf"),
        (dict(x=X, y=T, batch_size=0), r"batch_size must be a positive integer, got batch_size=0"),
        (dict(x=X, y=T, batch_size=-5), r"batch_size=-5"),
        (dict(x=X, y=T, batch_size=2.5), r"batch_size=2.5"),
        (dict(x=X, y=T, batch_size="32"), r"batch_size='32'"),
        (dict(x=X, y=T, epochs=-1), r"epochs must be a non-negative integer, got epochs=-1"),
        (dict(x=X, y=T, validation_split=1.0), r"validation_split must be a number in \[0, 1\), got validation_split=1.0"),
        (dict(x=X, y=T, validation_split=1.5), r"validation_split=1.5"),
        (dict(x=X, y=T, validation_split=-0.1), r"validation_split=-0.1"),
        (dict(x=X, y=T, validation_data=(X[:5, :4], T[:5])), r"validation_data\[0\] has feature shape"),
        (dict(x=X, y=T, validation_data=X), r"validation_data must be a tuple"),
        (dict(x=X, y=T, verbose=3), r"verbose must be one of \[0, 1, 2\], got verbose=3"),
        (dict(x=X, y=T, callbacks=[print]), r"callbacks must hold Callback objects"),
        (dict(x=[[1, 2], [3]], y=T), r"x must be array-like"),
    ],
)
def test_fit_rejects_bad_input_before_any_change(kwargs, pattern):
    model = compiled_model()
    before = model.get_weights()
    kwargs.setdefault("verbose", 0)
    with pytest.raises(InvalidArgumentError, match=pattern):
        model.fit(**kwargs)
    assert unchanged(model, before)
    assert model.optimizer.iterations == 0


def test_bad_labels_do_not_build_an_unbuilt_model():
    model = fw.Sequential([layers.Affine(3), layers.SoftmaxWithLoss()])
    model.compile(optimizer="sgd")
    with pytest.raises(InvalidArgumentError, match="got the label 5"):
        model.fit(X, T + 5, verbose=0)
    assert not model.built and not model.layers[0].built


def test_named_losses_check_the_label_format():
    model = fw.Sequential([layers.Affine(3)])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(InvalidArgumentError, match=r"one-hot labels of shape \(n, 3\).*got shape \(40,\)"):
        model.fit(X, T, verbose=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(InvalidArgumentError, match=r"class indices of shape \(n,\).*got shape \(40, 3\)"):
        model.fit(X, np.eye(3)[T], verbose=0)


@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch"])
def test_before_compile(method):
    model = fw.Sequential([layers.Affine(3), layers.SoftmaxWithLoss()])
    with pytest.raises(NotCompiledError, match=f"{method}: the model is not compiled"):
        getattr(model, method)(X, T)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(optimizer="adamax"), r"unknown optimizer 'adamax'; known: AdaGrad, Adam, (\w+, )*SGD"),
        (dict(optimizer=42), r"optimizer must be an Optimizer or a name"),
        (dict(loss="huber"), r"unknown loss 'huber'; known: binary_crossentropy, (\w+, )*sparse_categorical_crossentropy"),
        (dict(metrics=["f1"]), r"unknown metric 'f1'; known: AUC, .*binary_accuracy"),
        (dict(metrics="accuracy"), r"metrics must be a list"),
    ],
)
def test_compile_rejects_unknown_names(kwargs, pattern):
    model = fw.Sequential([layers.Affine(3)])
    if "loss" not in kwargs:
        kwargs["loss"] = "sparse_categorical_crossentropy"
    with pytest.raises(UnknownNameError if "unknown" in pattern else InvalidArgumentError, match=pattern):
        model.compile(**kwargs)
    assert not model.compiled


def test_compile_needs_exactly_one_loss():
    with pytest.raises(InvalidArgumentError, match="no loss"):
        fw.Sequential([layers.Affine(3)]).compile(optimizer="sgd")
    with pytest.raises(InvalidArgumentError, match="already ends with the loss layer"):
        fw.Sequential([layers.Affine(3), layers.SoftmaxWithLoss()]).compile(loss="categorical_crossentropy")


def test_unknown_dataset_and_backend():
    with pytest.raises(UnknownNameError, match=r"unknown dataset 'cifar100'; known: .*digits.*mnist"):
        fw.datasets.load("cifar100")
    before = fw.get_backend()
    with pytest.raises(UnknownNameError, match=r"unknown backend 'jax'; known: .*numpy"):
        fw.set_backend("jax")
    assert fw.get_backend() is before


@pytest.mark.parametrize("bad", [42, "relu", np.zeros(3), layers.Affine])
def test_sequential_takes_only_layers(bad):
    with pytest.raises(InvalidArgumentError, match="expected a Layer, got"):
        fw.Sequential([layers.Affine(3), bad])


def test_sequential_rejects_two_input_nodes_and_misplaced_losses():
    with pytest.raises(InvalidArgumentError, match="takes 2 inputs"):
        fw.Sequential([layers.AddLayer()])
    with pytest.raises(InvalidArgumentError, match="must stay last"):
        fw.Sequential([layers.SoftmaxWithLoss(), layers.Affine(3)])
    with pytest.raises(InvalidArgumentError, match="already in this model"):
        fw.Sequential([layers.Affine(3, name="a"), layers.Affine(3, name="a")])


def test_predict_and_evaluate_check_their_input():
    model = compiled_model()
    with pytest.raises(InvalidArgumentError, match=r"feature shape \(4,\)"):
        model.predict(X[:, :4])
    with pytest.raises(InvalidArgumentError, match="NaN"):
        model.predict(np.full((2, 6), np.nan))
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        model.evaluate(X, T, batch_size=0)


def test_set_weights_checks_everything_first():
    model = compiled_model()
    before = model.get_weights()
    bad = [w.copy() for w in before]
    bad[0] = bad[0] + 1
    bad[2] = np.zeros((5, 5))
    with pytest.raises(InvalidArgumentError, match=r"affine_1/W has shape \(8, 3\), got \(5, 5\)"):
        model.set_weights(bad)
    assert unchanged(model, before)
    with pytest.raises(InvalidArgumentError, match="expected a list of 4 arrays, got 2"):
        model.set_weights(before[:2])


def test_build_checks_the_shape_chain_before_creating_weights():
    first = layers.Affine(4)
    model = fw.Sequential([first, layers.Affine(W=np.ones((5, 2), dtype="float32"))])
    with pytest.raises(InvalidArgumentError, match=r"W has shape \(5, 2\) but the inputs have 4 features"):
        model.build((None, 3))
    assert not first.built and not model.built


def test_every_error_is_a_framework_error():
    for cls in (InvalidArgumentError, UnknownNameError, NotCompiledError, fw.BackendError, fw.PluginError):
        assert issubclass(cls, FrameworkError)
    assert issubclass(InvalidArgumentError, ValueError)


@pytest.mark.parametrize("bad", [-1, 1.5, "7", None])
def test_set_seed_rejects_bad_seeds(bad):
    with pytest.raises(InvalidArgumentError, match="seed must be a non-negative integer"):
        fw.set_seed(bad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_finiteness_check_finds_every_nan_and_inf_and_survives_overflow(dtype):
    # all_finite sums each sample by a matrix-vector product where it can; the elementwise test is the reference.
    from framework.training.checks import all_finite

    rng = np.random.default_rng(0)
    for shape in [(50, 7), (4, 1, 5, 5), (3, 70000), (0, 4), (1, 1), (9,)]:
        x = rng.standard_normal(shape).astype(dtype)
        for array in (x, x[:, ::2] if x.ndim > 1 else x[::2], np.asfortranarray(x)):
            assert all_finite(array) is True
        for bad in (np.nan, np.inf, -np.inf):
            for at in sorted({0, x.size // 2, x.size - 1}) if x.size else []:
                y = x.copy()
                y.reshape(-1)[at] = bad
                assert all_finite(y) is False, (shape, bad, at)
    huge = np.full((6, 8), np.finfo(dtype).max, dtype)  # finite, but every sum overflows to inf
    assert all_finite(huge) is True
    huge[2, 3] = np.nan
    assert all_finite(huge) is False
    assert all_finite(np.arange(12).reshape(3, 4)) is True  # integers: the whole array's sum
