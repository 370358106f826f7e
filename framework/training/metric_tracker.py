"""The running loss and metrics of an epoch (or of one evaluation).

Function metrics give one value per batch, averaged over the epoch weighted
by batch size; `Metric` objects keep counts over the epoch and compute their
value from them (precision, recall, AUC are not means of batch values).
Metrics see ``y_pred`` as `predict` returns it and ignore sample weights
(Keras's ``metrics``; it weighs only ``weighted_metrics``). In data-parallel
training each rank tracks its shards, and `results` adds the ranks' sums
and counts up in one reduction, so every rank reports the global values.

The batch losses (and the metrics computed on the backend) stay where they
were computed until `results` is called: reading a value on the host
synchronises a GPU, so a training loop that reads its logs only at the end
of the epoch (or when the progress bar redraws) waits for the device once
then, not at every step. `BatchLogs` are the per-batch logs that read
nothing until a callback looks at them.
"""

import math
from collections.abc import MutableMapping

import numpy as np  # host buffers for the reduction

from framework import distributed
from framework import metrics as metrics_module
from framework.backend import get_backend
from framework.errors import InvalidArgumentError
from framework.metrics import Metric


def metric_keys(identifiers):
    """The History key of each metric identifier; raises on an unknown name or a repeated key."""
    keys = []
    for identifier in identifiers:
        name = metrics_module.key(identifier, metrics_module.get(identifier))
        if name in keys or name == "loss":
            raise InvalidArgumentError(f"compile: two metrics would both be reported as {name!r}; give them distinct names")
        keys.append(name)
    return keys


class MetricTracker:
    """Accumulates ``loss`` and each compiled metric over batches; `results()` gives the means so far."""

    def __init__(self, model, loss_layer, reduce=True, loss_offset=0.0):
        self.loss_layer = loss_layer
        self.reduce = reduce  # False where each rank works alone (train_on_batch)
        # A Python float added to each batch's loss as it is read: evaluation's
        # regularization penalty (the weights do not change there), added in float64.
        self.loss_offset = loss_offset
        self.entries = []
        for identifier in model.metrics:
            metric = metrics_module.for_loss(identifier, loss_layer)
            if isinstance(metric, Metric):  # a fresh copy: the compiled object is only a template
                metric = type(metric).from_config(metric.get_config())
                metric.reset_state()
            self.entries.append((metrics_module.key(identifier, metric), metric))
        self.seen = 0
        self.sums = dict.fromkeys(["loss"] + [key for key, _ in self.entries], 0.0)
        # Read on the host later, in batch order: each batch's size, and its loss
        # then its metrics computed on the backend, in `backend_metrics` order.
        self.backend_metrics = [key for key, metric in self.entries
                                if not isinstance(metric, Metric) and getattr(metric, "on_backend", False)]
        self.pending_sizes, self.pending_values = [], []
        self.batches = 0  # batches added to the sums so far
        self.first_non_finite = None  # (batch index from 0, the mean loss then) once the loss is inf or NaN

    READ_EVERY = 1024  # batches kept on the device at most: bounded memory, a synchronisation per 1024 steps

    def update(self, loss, scores, t):
        """Add one batch: its mean `loss`, the model's raw `scores` and the targets `t` (backend arrays)."""
        size = len(t)
        self.seen += size
        self.pending_sizes.append(size)
        self.pending_values.append(loss)
        if self.entries:
            y_pred = self.loss_layer.predict(scores) if self.loss_layer is not None else scores
            host = None
            for key, metric in self.entries:
                if isinstance(metric, Metric):
                    metric.update_state(t, y_pred)
                elif getattr(metric, "on_backend", False):
                    self.pending_values.append(metric(t, y_pred))
                else:  # a user's function: host NumPy arrays, copied once per batch
                    if host is None:
                        backend = get_backend()
                        host = (backend.to_numpy(t), backend.to_numpy(y_pred))
                    self.sums[key] += float(metric(*host)) * size
        if len(self.pending_sizes) >= self.READ_EVERY:
            self._read_pending()

    def _read_pending(self):
        """Add the pending batches' values to the sums, in batch order, after one device-to-host copy."""
        if not self.pending_sizes:
            return
        backend = get_backend()
        # reshape(()): a loss given as a one-element array counts as its value, as float() took it.
        values = backend.xp.stack([backend.asarray(value).reshape(()) for value in self.pending_values])
        host = iter(backend.to_numpy(values).tolist())  # Python floats, equal to float(value) of each
        seen = self.seen - sum(self.pending_sizes)
        for size in self.pending_sizes:
            seen += size
            self.sums["loss"] += (next(host) + self.loss_offset) * size
            for key in self.backend_metrics:
                self.sums[key] += next(host) * size
            if self.first_non_finite is None and not math.isfinite(self.sums["loss"]):
                self.first_non_finite = (self.batches, self.sums["loss"] / seen)
            self.batches += 1
        self.pending_sizes, self.pending_values = [], []

    def results(self):
        """``{"loss": mean, key: value, ...}`` over the batches so far (of all ranks, in data-parallel training)."""
        self._read_pending()
        if not (self.reduce and distributed.active()):
            logs = {key: total / self.seen for key, total in self.sums.items()}
            logs.update({key: metric.result() for key, metric in self.entries if isinstance(metric, Metric)})
            return logs
        return self._global_results()

    def _global_results(self):
        """`results` after one allreduce of the sample count, the sums and every metric's counts."""
        backend = get_backend()
        counts = [(key, metric, name, getattr(metric, name)) for key, metric in self.entries
                  if isinstance(metric, Metric) for name in metric.count_names]
        local = [np.asarray(self.seen, dtype=np.float64).ravel(), np.asarray(list(self.sums.values()), dtype=np.float64)]
        local += [np.asarray(value if isinstance(value, float) else backend.to_numpy(value), np.float64).ravel()
                  for *_, value in counts]
        total = np.asarray(distributed.reduce_sums(np.concatenate(local).tolist()))
        seen, offset = total[0], 1 + len(self.sums)
        logs = {key: float(value) / seen for key, value in zip(self.sums, total[1:offset])}
        merged = {}  # a fresh copy of each stateful metric, holding the global counts
        for key, metric, name, value in counts:
            if key not in merged:
                merged[key] = type(metric).from_config(metric.get_config())
            size = int(np.size(value))
            setattr(merged[key], name, backend.asarray(total[offset:offset + size].reshape(np.shape(value))))
            offset += size
        for key, metric in self.entries:
            if isinstance(metric, Metric):
                # A metric that names no counts reports this rank's share alone.
                logs[key] = merged[key].result() if key in merged else metric.result()
        return logs


class BatchLogs(MutableMapping):
    """The logs of one batch, read from the tracker (and so from the device) only when a callback looks.

    Training passes these when no callback but the progress bar reads batch
    logs (see `reads_batch_logs`); the progress bar reads them when it
    redraws, a few times a second.
    """

    def __init__(self, read):
        self._read = read
        self._logs = None

    def _values(self):
        if self._logs is None:
            self._logs = self._read()
        return self._logs

    def __getitem__(self, key):
        return self._values()[key]

    def __setitem__(self, key, value):
        self._values()[key] = value

    def __delitem__(self, key):
        del self._values()[key]

    def __iter__(self):
        return iter(self._values())

    def __len__(self):
        return len(self._values())

    def copy(self):
        return dict(self._values())

    def __repr__(self):
        return repr(self._values())


def reads_batch_logs(callback):
    """Whether `callback` has an ``on_train_batch_end`` of its own that may read the logs at that batch.

    Such a callback gets a plain dict of the batch's values (a GPU waits for
    it at every step). A callback that reads the logs only inside its hook,
    never keeping them for later, may say so with the class attribute
    ``reads_batch_logs_lazily = True`` (the progress bar and ModelCheckpoint
    do): it gets a `BatchLogs`, which reads the values when first looked at.
    """
    from framework.training.callbacks import Callback

    hook = callback.on_train_batch_end
    own = getattr(hook, "__func__", None) is not Callback.on_train_batch_end
    return own and not getattr(callback, "reads_batch_logs_lazily", False)
