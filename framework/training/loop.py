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


def fit(model, x=None, y=None, batch_size=32, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, initial_epoch=0, sampling="without_replacement"):
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
    x, y = _prepare(model, x, y)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise InvalidArgumentError(
                f"validation_data must be a tuple (x_val, y_val), got {type(validation_data).__name__}"
            )
        val = _prepare(model, *validation_data, "validation_data[0]", "validation_data[1]")
    elif validation_split > 0:
        split = int(len(x) * (1.0 - validation_split))
        if split == 0 or split == len(x):
            raise InvalidArgumentError(
                f"validation_split={validation_split} of {len(x)} samples leaves "
                f"{split} for training and {len(x) - split} for validation; both need at least one"
            )
        x, y, val = x[:split], y[:split], (x[split:], y[split:])
    else:
        val = None
    model.build((None, *x.shape[1:]))
    if model.shuffle_seed is None:
        model.shuffle_seed = distributed.broadcast_value(random.new_seed())  # one data order for all ranks

    backend = get_backend()
    n = len(x)
    steps = -(-n // batch_size)
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
        if sampling == "with_replacement" or shuffle:
            order = data.epoch_order(model.shuffle_seed, epoch, n, sampling)
        else:
            order = None
        sums = dict.fromkeys(["loss"] + model.metrics, 0.0)
        seen = 0
        for step, index in enumerate(data.batches(n, batch_size, order)):
            hooks.on_train_batch_begin(step)
            (x_part, t_part), counts = distributed.local_batch(x[index], y[index])
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
        logs = {key: total / seen for key, total in sums.items()}
        logs["learning_rate"] = model.optimizer.last_learning_rate  # that of the epoch's last update
        if val is not None:
            val_logs = evaluate_arrays(model, *val, batch_size)
            logs.update({f"val_{key}": value for key, value in val_logs.items()})
        model.epochs_done = epoch + 1  # before the hooks: a checkpoint saved there records this epoch
        hooks.on_epoch_end(epoch, logs)
        if model.stop_training:
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


def evaluate(model, x=None, y=None, batch_size=32, verbose=0, return_dict=False):
    """See `Sequential.evaluate`."""
    model._require_compiled("evaluate")
    batch_size = checks.positive_int(batch_size, "batch_size")
    verbose = checks.one_of(verbose, (0, 1, 2), "verbose") if distributed.is_chief() else 0
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


def predict(model, x, batch_size=32, verbose=0):
    """See `Sequential.predict`."""
    batch_size = checks.positive_int(batch_size, "batch_size")
    if not model._layers:
        raise InvalidArgumentError("predict: the model has no layers; add some first")
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


def _check_callbacks(callbacks):
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise InvalidArgumentError(f"callbacks must be a list of Callback objects, got {type(callbacks).__name__}")
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise InvalidArgumentError(f"callbacks must hold Callback objects, got {type(callback).__name__}")
    return list(callbacks)
