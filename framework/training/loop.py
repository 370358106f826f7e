"""The training and inference loops behind `Sequential.fit`, `evaluate` and `predict`.

The model holds the structure (layers, shapes, weights); this module walks
the data: epochs, batches, callbacks, running metrics. Each step is
`framework.training.step.train_step`.
"""

import math
import warnings

import numpy as np  # host-side data only: batching, results

from framework import data, distributed
from framework import metrics as metrics_module
from framework import random
from framework.backend import get_backend
from framework.errors import InvalidArgumentError
from framework.training import checks
from framework.training.callbacks import Callback, CallbackList, History
from framework.training.progress import ProgressBar
from framework.training.step import regularization_loss, train_step


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


def fit(model, x=None, y=None, batch_size=32, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, initial_epoch=0, sampling="without_replacement", steps_per_epoch=None):
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
    if validation_data is not None:
        val = _validation(model, validation_data, batch_size)
    elif validation_split > 0:
        train, val = train.split(validation_split)
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
    log_keys = ["loss"] + model.metrics
    log_keys += [f"val_{key}" for key in log_keys] if val is not None else []
    params = {"epochs": epochs, "steps": steps, "verbose": verbose, "metrics": log_keys + ["learning_rate"]}
    hooks = CallbackList(extra + callbacks + [model.history], model, params)
    metric_fns = [(name, metrics_module.get(name)) for name in model.metrics]
    model.stop_training = False
    model._initial_epoch = None  # BackupAndRestore sets it when it restores a backup
    hooks.on_train_begin()
    if model._initial_epoch is not None:
        initial_epoch = model._initial_epoch
    warned = False
    for epoch in range(initial_epoch, epochs):
        hooks.on_epoch_begin(epoch)
        if n is not None and (sampling == "with_replacement" or shuffle):
            order = data.epoch_order(model.shuffle_seed, epoch, n, sampling)
        else:  # in order, or the source's own order (a generator's)
            order = None
        sums = dict.fromkeys(["loss"] + model.metrics, 0.0)
        seen = 0
        for step, (x_batch, y_batch) in enumerate(train.batches(order)):
            hooks.on_train_batch_begin(step)
            (x_part, t_part), counts = distributed.local_batch(x_batch, y_batch)
            t = backend.asarray(t_part)
            loss, scores = train_step(model, backend.asarray(x_part), t, counts)
            size = counts[0]
            local = [float(loss) * size if size else 0.0] + [fn(scores, t) * size if size else 0.0 for _, fn in metric_fns]
            batch_sums = distributed.reduce_sums(local)  # the global batch's sums
            for key, value in zip(sums, batch_sums):
                sums[key] += value
            seen += counts[1]
            if not warned and not math.isfinite(batch_sums[0]):
                warned = True  # once per fit: a diverged run would repeat it every batch
                warnings.warn(f"fit: the loss became {batch_sums[0] / counts[1]} at epoch {epoch + 1}, batch {step + 1}; "
                              "the weights are no longer finite (lower the learning rate, or clip with clipnorm=; "
                              "TerminateOnNaN stops such a run)", RuntimeWarning, stacklevel=3)
            hooks.on_train_batch_end(step, {key: total / seen for key, total in sums.items()})
            if model.stop_training:
                break
        train.on_epoch_end()
        if seen == 0:  # a generator ran out of data before this epoch's first batch
            break
        logs = {key: total / seen for key, total in sums.items()}
        logs["learning_rate"] = model.optimizer.last_learning_rate  # that of the epoch's last update
        if val is not None:
            val_logs = evaluate_arrays(model, *val, batch_size) if isinstance(val, tuple) else evaluate_batches(model, val)
            logs.update({f"val_{key}": value for key, value in val_logs.items()})
        model.epochs_done = epoch + 1  # before the hooks: a checkpoint saved there records this epoch
        hooks.on_epoch_end(epoch, logs)
        if model.stop_training or train.ran_out:
            break
    hooks.on_train_end()
    return model.history


def train_on_batch(model, x, y):
    """See `Sequential.train_on_batch`."""
    model._require_compiled("train_on_batch")
    x, y = _prepare(model, x, y)
    model.build((None, *x.shape[1:]))
    backend = get_backend()
    t = backend.asarray(y)
    loss, scores = train_step(model, backend.asarray(x), t)
    results = [float(loss)] + [metrics_module.get(name)(scores, t) for name in model.metrics]
    return results[0] if len(results) == 1 else results


def evaluate_arrays(model, x, y, batch_size):
    """``{"loss": ..., metric: ...}`` of `model` on checked host arrays, as means over all samples."""
    backend = get_backend()
    loss_layer = model._loss_layer
    metric_fns = [(name, metrics_module.get(name)) for name in model.metrics]
    sums = dict.fromkeys(["loss"] + model.metrics, 0.0)
    n = len(x)
    part = distributed.local_part(n)  # each rank evaluates its share; the sums are added up below
    x, y = x[part], y[part]
    penalty = float(regularization_loss(model))  # the weights do not change here; Keras adds it to evaluate's loss too
    for index in data.batches(len(x), batch_size):
        t = backend.asarray(y[index])
        scores = model._forward(backend.asarray(x[index]), training=False)
        sums["loss"] += (float(loss_layer.forward(scores, t)) + penalty) * len(t)
        for name, fn in metric_fns:
            sums[name] += fn(scores, t) * len(t)
    totals = distributed.reduce_sums(list(sums.values()))
    return {key: total / n for key, total in zip(sums, totals)}


def evaluate_batches(model, source):
    """As `evaluate_arrays`, over the checked host batches of a `data.adapt` adapter.

    Every rank of a distributed job reads all the batches (a stream cannot
    be cut into shares up front), so each has the whole result.
    """
    backend = get_backend()
    loss_layer = model._loss_layer
    metric_fns = [(name, metrics_module.get(name)) for name in model.metrics]
    sums = dict.fromkeys(["loss"] + model.metrics, 0.0)
    seen = 0
    penalty = float(regularization_loss(model))
    for x_batch, y_batch in source.batches():
        t = backend.asarray(y_batch)
        scores = model._forward(backend.asarray(x_batch), training=False)
        sums["loss"] += (float(loss_layer.forward(scores, t)) + penalty) * len(t)
        for name, fn in metric_fns:
            sums[name] += fn(scores, t) * len(t)
        seen += len(t)
    return {key: total / seen for key, total in sums.items()}


def _validation(model, validation_data, batch_size):
    """Checked host arrays ``(x_val, y_val)``, or an adapter for data read batch by batch."""
    if isinstance(validation_data, data.Sequence):
        return data.adapt(validation_data, None, batch_size, _preparer(model))
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise InvalidArgumentError(
            "validation_data must be a tuple (x_val, y_val) or a fw.data.Sequence, "
            f"got {type(validation_data).__name__}"
        )
    if any(data.is_stream(part) for part in validation_data):
        return data.adapt(*validation_data, batch_size, _preparer(model))
    return _prepare(model, *validation_data, "validation_data[0]", "validation_data[1]")


def evaluate(model, x=None, y=None, batch_size=32, verbose=0, return_dict=False, steps=None):
    """See `Sequential.evaluate`."""
    model._require_compiled("evaluate")
    batch_size = checks.positive_int(batch_size, "batch_size")
    verbose = checks.one_of(verbose, (0, 1, 2), "verbose") if distributed.is_chief() else 0
    if data.is_stream(x):
        source = data.adapt(x, y, batch_size, _preparer(model), _steps(steps), "steps")
        model.build((None, *source.feature_shape))
        logs = evaluate_batches(model, source)
    else:
        x, y = _prepare(model, x, y)
        model.build((None, *x.shape[1:]))
        logs = evaluate_arrays(model, x, y, batch_size)
    if verbose:
        from framework.training.progress import format_logs

        print(format_logs(logs))
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


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
