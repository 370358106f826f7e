"""The training and inference loops behind `Sequential.fit`, `evaluate` and `predict`.

The model holds the structure (layers, shapes, weights); this module walks
the data: epochs, batches, callbacks, running metrics. Each step is
`framework.training.step.train_step`.
"""

import functools
import warnings

import numpy as np  # host-side data only: batching, results

from framework import data, distributed
from framework import random, threads
from framework.backend import get_backend
from framework.errors import InvalidArgumentError
from framework.training import checks
from framework.training import weights as weights_module
from framework.training.callbacks import Callback, CallbackList, History
from framework.training.metric_tracker import BatchLogs, MetricTracker, metric_keys, reads_batch_logs
from framework.training.progress import ProgressBar
from framework.training.step import data_loss, regularization_loss, train_step


def _prepare(model, x, y, x_name="x", y_name="y"):
    """Checked host arrays: x as floatx (n, ...), y as the loss layer takes it."""
    if not model._layers:
        raise InvalidArgumentError("the model has no layers; add some first")
    x = checks.features(x, x_name, feature_shape=model.input_shape[1:] if model.built else None)
    output_shape = model.compute_output_shape((None, *x.shape[1:]))
    y = model._loss_layer.prepare_targets(y, output_shape, argument=y_name)
    checks.same_length(x, y, x_name, y_name)
    return x, y


def _preparer(model, targets=True):
    """``prepare(x, y, where)`` for `data.adapt`: `_prepare` on the whole data (`where` None) or one batch."""
    if not model._layers:
        raise InvalidArgumentError("the model has no layers; add some first")

    def prepare(x, y, where):
        x_name, y_name = ("x", "y") if where is None else (f"{where}: x", f"{where}: y")
        if not targets:
            return checks.features(x, x_name, feature_shape=model.input_shape[1:] if model.built else None), None
        return _prepare(model, x, y, x_name, y_name)

    return prepare


def _loop(function):
    """Run a loop with the BLAS threads `framework.threads` chooses, once the backend prepared for it."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        get_backend().prepare_loop()  # the NumPy backend keeps freed memory for the next step
        with threads.limited():  # fewer BLAS threads while other processes run
            return function(*args, **kwargs)

    return wrapper


@_loop
def fit(model, x=None, y=None, batch_size=32, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, initial_epoch=0, sampling="without_replacement", steps_per_epoch=None,
        class_weight=None, sample_weight=None):
    """See `Sequential.fit`."""
    model._require_compiled("fit")
    batch_size = checks.positive_int(batch_size, "batch_size")
    epochs = checks.non_negative_int(epochs, "epochs")
    initial_epoch = checks.non_negative_int(initial_epoch, "initial_epoch")
    verbose = checks.one_of(verbose, (0, 1, 2), "verbose")
    verbose = verbose if distributed.is_chief() else 0  # one progress display per job
    validation_split = checks.fraction(validation_split, "validation_split")
    sampling = checks.one_of(sampling, data.SAMPLINGS, "sampling")
    callbacks = _check_callbacks(callbacks)
    if steps_per_epoch is not None:
        steps_per_epoch = checks.positive_int(steps_per_epoch, "steps_per_epoch")
    train = data.adapt(x, y, batch_size, _preparer(model), steps_per_epoch, "steps_per_epoch")
    if sampling == "with_replacement" and train.size is None:
        raise InvalidArgumentError(
            f"sampling='with_replacement' draws samples by index; x, a {type(x).__name__}, has none to draw "
            "(use a Sequence, or arrays)"
        )
    n_outputs = model.compute_output_shape((None, *train.feature_shape))[-1]
    w = _train_weights(model, x, train, n_outputs, sample_weight, class_weight)
    if validation_data is not None:
        val = _validation(model, validation_data, batch_size)
    elif validation_split > 0:
        train, val = train.split(validation_split)
        val_w = None
        if w is not None:  # as in Keras, the weights are split with the data (class weights weigh training only)
            w, val_w = w[:train.size], (w[train.size:] if sample_weight is not None else None)
        if isinstance(val, tuple):  # in-memory arrays (a disk array's part is read batch by batch)
            val = (*val, val_w)
    else:
        val = None
    model.build((None, *train.feature_shape))
    if model.shuffle_seed is None:
        model.shuffle_seed = distributed.broadcast_value(random.new_seed())  # one data order for all ranks

    backend = get_backend()
    n = train.size  # what an epoch's order permutes; None: the source's own order
    steps = train.steps
    model.history = History()
    extra = [ProgressBar(verbose)] if verbose else []
    # The keys every epoch's logs will have: callbacks check their templates against them.
    log_keys = ["loss"] + metric_keys(model.metrics)
    log_keys += [f"val_{key}" for key in log_keys] if val is not None else []
    params = {"epochs": epochs, "steps": steps, "verbose": verbose, "metrics": log_keys + ["learning_rate"]}
    hooks = CallbackList(extra + callbacks + [model.history], model, params)
    model.stop_training = False
    model._initial_epoch = None  # BackupAndRestore sets it when it restores a backup
    hooks.on_train_begin()
    if model._initial_epoch is not None:
        initial_epoch = model._initial_epoch
    warned = False
    # Batch logs are read (a GPU synchronisation) only for callbacks that look at every batch.
    eager_logs = any(reads_batch_logs(callback) for callback in hooks.callbacks)
    for epoch in range(initial_epoch, epochs):
        hooks.on_epoch_begin(epoch)
        if n is not None and (sampling == "with_replacement" or shuffle):
            order = data.epoch_order(model.shuffle_seed, epoch, n, sampling)
        else:  # in order, or the source's own order (a generator's)
            order = None
        tracker = MetricTracker(model, model._loss_layer)
        seen = 0
        for step, (x_batch, y_batch, w_batch) in enumerate(_weighted_batches(train, order, w, class_weight, n_outputs)):
            hooks.on_train_batch_begin(step)
            parts, counts = distributed.local_batch(x_batch, y_batch, *([] if w_batch is None else [w_batch]))
            t = backend.asarray(parts[1])
            weight = None if w_batch is None else backend.asarray(parts[2])
            loss, scores = train_step(model, backend.asarray(parts[0]), t, counts, sample_weight=weight)
            if counts[0]:  # a rank with an empty shard adds nothing, but joins the reduction below
                tracker.update(loss, scores, t)
            seen += counts[1]
            # The running means of the global batches, on every rank.
            batch_logs = tracker.results() if eager_logs else BatchLogs(tracker.results)
            hooks.on_train_batch_end(step, batch_logs)
            if model.stop_training:
                break
        train.on_epoch_end()
        if seen == 0:  # a generator ran out of data before this epoch's first batch
            break
        logs = tracker.results()
        if not warned and tracker.first_non_finite is not None:
            warned = True  # once per fit: a diverged run would repeat it every epoch
            batch, loss = tracker.first_non_finite
            warnings.warn(f"fit: the loss became {loss} at epoch {epoch + 1}, batch {batch + 1}; "
                          "the weights are no longer finite (lower the learning rate, or clip with clipnorm=; "
                          "TerminateOnNaN stops such a run)", RuntimeWarning, stacklevel=4)  # past the _loop wrapper
        logs["learning_rate"] = model.optimizer.last_learning_rate  # that of the epoch's last update
        if val is not None:
            val_logs = (evaluate_arrays(model, val[0], val[1], batch_size, val[2]) if isinstance(val, tuple)
                        else evaluate_batches(model, val))
            logs.update({f"val_{key}": value for key, value in val_logs.items()})
        model.epochs_done = epoch + 1  # before the hooks: a checkpoint saved there records this epoch
        hooks.on_epoch_end(epoch, logs)
        if model.stop_training or train.ran_out:
            break
    hooks.on_train_end()
    return model.history


def _train_weights(model, x, train, n_outputs, sample_weight, class_weight):
    """The per-sample weights of in-memory training data (n,), or None (streams weigh batch by batch)."""
    if sample_weight is None and class_weight is None:
        return None
    if data.is_stream(x):
        if sample_weight is not None:
            raise InvalidArgumentError(
                f"sample_weight needs in-memory arrays x and y (one weight per sample); x is a {type(x).__name__}: "
                "read batch by batch, it has no samples to align the weights with (class_weight works)"
            )
        weights_module.sample_weights(np.zeros(0, dtype=np.int64), n_outputs, None, class_weight)  # checks the dict
        weights_module.check_loss_layer(model._loss_layer, class_weight)
        return None
    w = weights_module.sample_weights(train.y, n_outputs, sample_weight, class_weight)
    weights_module.check_loss_layer(model._loss_layer, w)
    return w


def _weighted_batches(train, order, w, class_weight, n_outputs):
    """``(x, y, w)`` host batches: weights from the per-sample array, from `class_weight` per batch, or None."""
    if w is not None:  # in-memory arrays: batch i is the same rows of x, y and w
        for index in data.batches(train.size, train.batch_size, order):
            yield train.x[index], train.y[index], w[index]
        return
    for x_batch, y_batch in train.batches(order):
        weights = None if class_weight is None else weights_module.sample_weights(y_batch, n_outputs, None, class_weight)
        yield x_batch, y_batch, weights


@_loop
def train_on_batch(model, x, y, sample_weight=None, class_weight=None):
    """See `Sequential.train_on_batch`."""
    model._require_compiled("train_on_batch")
    x, y, w = _prepare_weighted(model, x, y, sample_weight, class_weight)
    model.build((None, *x.shape[1:]))
    backend = get_backend()
    t = backend.asarray(y)
    loss, scores = train_step(model, backend.asarray(x), t, sample_weight=None if w is None else backend.asarray(w))
    tracker = MetricTracker(model, model._loss_layer, reduce=False)
    tracker.update(loss, scores, t)
    results = list(tracker.results().values())
    return results[0] if len(results) == 1 else results


def _prepare_weighted(model, x, y, sample_weight=None, class_weight=None, x_name="x", y_name="y",
                      w_name="sample_weight"):
    """`_prepare`, and the per-sample weights (n,) or None."""
    x, y = _prepare(model, x, y, x_name, y_name)
    n_outputs = model.compute_output_shape((None, *x.shape[1:]))[-1]
    w = weights_module.sample_weights(y, n_outputs, sample_weight, class_weight, argument=w_name)
    weights_module.check_loss_layer(model._loss_layer, w)
    return x, y, w


def evaluate_arrays(model, x, y, batch_size, w=None):
    """``{"loss": ..., metric: ...}`` of `model` on checked host arrays, as means over all samples.

    With weights `w` the loss is ``sum(w_i * loss_i) / n`` over all n samples.
    """
    backend = get_backend()
    loss_layer = model._loss_layer
    # The weights do not change here: the regularization penalty (Keras adds it
    # to evaluate's loss too) is read once, and the tracker adds it to each
    # batch's loss when it reads them, all at once (one GPU synchronisation).
    tracker = MetricTracker(model, loss_layer, loss_offset=float(regularization_loss(model)))
    part = distributed.local_part(len(x))  # each rank evaluates its share; the tracker adds them up
    x, y, w = x[part], y[part], None if w is None else w[part]
    for index in data.batches(len(x), batch_size):
        t = backend.asarray(y[index])
        scores = model._forward(backend.asarray(x[index]), training=False)
        weight = None if w is None else backend.asarray(w[index])
        tracker.update(data_loss(loss_layer, scores, t, weight), scores, t)
    return tracker.results()


def evaluate_batches(model, source):
    """As `evaluate_arrays`, over the checked host batches of a `data.adapt` adapter.

    Every rank of a distributed job reads all the batches (a stream cannot
    be cut into shares up front), so each has the whole result.
    """
    backend = get_backend()
    loss_layer = model._loss_layer
    tracker = MetricTracker(model, loss_layer, reduce=False, loss_offset=float(regularization_loss(model)))
    for x_batch, y_batch in source.batches():
        t = backend.asarray(y_batch)
        scores = model._forward(backend.asarray(x_batch), training=False)
        tracker.update(loss_layer.forward(scores, t), scores, t)
    return tracker.results()


def _validation(model, validation_data, batch_size):
    """Checked host arrays ``(x_val, y_val, w_val)``, or an adapter for data read batch by batch."""
    if isinstance(validation_data, data.Sequence):
        return data.adapt(validation_data, None, batch_size, _preparer(model))
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise InvalidArgumentError(
            "validation_data must be a tuple (x_val, y_val) or a fw.data.Sequence, "
            f"got {type(validation_data).__name__} (in-memory arrays may add weights: (x_val, y_val, sample_weight_val))"
        )
    if any(data.is_stream(part) for part in validation_data[:2]):
        if len(validation_data) == 3:
            raise InvalidArgumentError("validation_data: sample weights need in-memory arrays x_val and y_val")
        return data.adapt(*validation_data, batch_size, _preparer(model))
    return _prepare_weighted(model, *validation_data[:2], validation_data[2] if len(validation_data) == 3 else None,
                             None, "validation_data[0]", "validation_data[1]", "validation_data[2]")


@_loop
def evaluate(model, x=None, y=None, batch_size=32, verbose=0, return_dict=False, steps=None, sample_weight=None):
    """See `Sequential.evaluate`."""
    model._require_compiled("evaluate")
    batch_size = checks.positive_int(batch_size, "batch_size")
    verbose = checks.one_of(verbose, (0, 1, 2), "verbose") if distributed.is_chief() else 0
    if data.is_stream(x):
        if sample_weight is not None:
            raise InvalidArgumentError(f"sample_weight needs in-memory arrays x and y; x is a {type(x).__name__}")
        source = data.adapt(x, y, batch_size, _preparer(model), _steps(steps), "steps")
        model.build((None, *source.feature_shape))
        logs = evaluate_batches(model, source)
    else:
        x, y, w = _prepare_weighted(model, x, y, sample_weight)
        model.build((None, *x.shape[1:]))
        logs = evaluate_arrays(model, x, y, batch_size, w)
    if verbose:
        from framework.training.progress import format_logs

        print(format_logs(logs))
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


@_loop
def predict(model, x, batch_size=32, verbose=0, steps=None):
    """See `Sequential.predict`."""
    batch_size = checks.positive_int(batch_size, "batch_size")
    if not model._layers:
        raise InvalidArgumentError("predict: the model has no layers; add some first")
    if data.is_stream(x):
        return _predict_batches(model, data.adapt(x, None, batch_size, _preparer(model, targets=False), _steps(steps),
                                                  "steps", targets=False))
    x = checks.features(x, "x", feature_shape=model.input_shape[1:] if model.built else None, allow_empty=True)
    model.build((None, *x.shape[1:]))
    backend = get_backend()
    loss_layer = model._loss_layer
    x = x[distributed.local_part(len(x))]  # each rank predicts its share; all get the whole below
    output_shape = model.compute_output_shape((len(x), *x.shape[1:]))
    out = np.empty(output_shape, dtype=x.dtype)
    for index in data.batches(len(x), batch_size):
        y = model._forward(backend.asarray(x[index]), training=False)
        if loss_layer is not None:
            y = loss_layer.predict(y)
        out[index] = backend.to_numpy(y)
    return distributed.gather(out)


def _predict_batches(model, source):
    """`predict` over an adapter's batches: the outputs, concatenated on the host."""
    model.build((None, *source.feature_shape))
    backend = get_backend()
    loss_layer = model._loss_layer
    outputs = []
    for x_batch, _ in source.batches():
        y = model._forward(backend.asarray(x_batch), training=False)
        outputs.append(backend.to_numpy(loss_layer.predict(y) if loss_layer is not None else y))
    return np.concatenate(outputs)


def _steps(steps):
    return None if steps is None else checks.positive_int(steps, "steps")


def _check_callbacks(callbacks):
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise InvalidArgumentError(f"callbacks must be a list of Callback objects, got {type(callbacks).__name__}")
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise InvalidArgumentError(f"callbacks must hold Callback objects, got {type(callback).__name__}")
    return list(callbacks)


def predict_on_batch(model, x):
    """See `Sequential.predict_on_batch`."""
    x = checks.features(x, "x", feature_shape=model.input_shape[1:] if model.built else None, allow_empty=True)
    return predict(model, x, batch_size=max(len(x), 1))


def call(model, x, training=False):
    """See `Sequential.__call__`: one forward pass over all of `x`, the result left on the backend."""
    if not model._layers:
        raise InvalidArgumentError("model(x): the model has no layers; add some first")
    backend = get_backend()
    feature_shape = model.input_shape[1:] if model.built else None
    if type(x) is type(backend.xp.empty(0)) and not isinstance(x, np.ndarray):
        # Already a backend array (CuPy's): checked for shape only, never copied to the host.
        if x.ndim < 2 or (feature_shape is not None and tuple(x.shape[1:]) != tuple(feature_shape)):
            raise InvalidArgumentError(
                f"x must have shape (batch, *{feature_shape or 'features'}), got shape {tuple(x.shape)}"
            )
    else:
        x = backend.asarray(checks.features(x, "x", feature_shape=feature_shape, allow_empty=True))
    model.build((None, *x.shape[1:]))
    y = model._forward(x, training=training)
    loss_layer = model._loss_layer
    return loss_layer.predict(y) if loss_layer is not None else y


def test_on_batch(model, x, y, sample_weight=None, return_dict=False):
    """See `Sequential.test_on_batch`."""
    model._require_compiled("test_on_batch")
    x, y, w = _prepare_weighted(model, x, y, sample_weight)
    model.build((None, *x.shape[1:]))
    logs = evaluate_arrays(model, x, y, len(x), w)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
