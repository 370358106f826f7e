"""The running loss and metrics of an epoch (or of one evaluation).

Function metrics give one value per batch, averaged over the epoch weighted
by batch size; `Metric` objects keep counts over the epoch and compute their
value from them (precision, recall, AUC are not means of batch values).
Metrics see ``y_pred`` as `predict` returns it and ignore sample weights
(Keras's ``metrics``; it weighs only ``weighted_metrics``). In data-parallel
training each rank tracks its shards, and `results` adds the ranks' sums
and counts up in one reduction, so every rank reports the global values.
"""

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

    def __init__(self, model, loss_layer, reduce=True):
        self.loss_layer = loss_layer
        self.reduce = reduce  # False where each rank works alone (train_on_batch)
        self.entries = []
        for identifier in model.metrics:
            metric = metrics_module.for_loss(identifier, loss_layer)
            if isinstance(metric, Metric):  # a fresh copy: the compiled object is only a template
                metric = type(metric).from_config(metric.get_config())
                metric.reset_state()
            self.entries.append((metrics_module.key(identifier, metric), metric))
        self.seen = 0
        self.sums = dict.fromkeys(["loss"] + [key for key, _ in self.entries], 0.0)

    def update(self, loss, scores, t):
        """Add one batch: its mean `loss`, the model's raw `scores` and the targets `t` (backend arrays)."""
        size = len(t)
        self.seen += size
        self.sums["loss"] += float(loss) * size
        if not self.entries:
            return
        y_pred = self.loss_layer.predict(scores) if self.loss_layer is not None else scores
        host = None
        for key, metric in self.entries:
            if isinstance(metric, Metric):
                metric.update_state(t, y_pred)
            elif getattr(metric, "on_backend", False):
                self.sums[key] += float(metric(t, y_pred)) * size
            else:  # a user's function: host NumPy arrays, copied once per batch
                if host is None:
                    backend = get_backend()
                    host = (backend.to_numpy(t), backend.to_numpy(y_pred))
                self.sums[key] += float(metric(*host)) * size

    def results(self):
        """``{"loss": mean, key: value, ...}`` over the batches so far (of all ranks, in data-parallel training)."""
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
