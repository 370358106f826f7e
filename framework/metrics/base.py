"""Stateful metrics: computed over a whole epoch, not averaged batch by batch.

A precision is not the mean of the batches' precisions; a stateful metric
therefore keeps counts across batches (``update_state``) and computes its
value from them once (``result``), as Keras's metric objects do.
"""

import re

from framework.backend import get_backend
from framework.errors import InvalidArgumentError


class Metric:
    """Base class: ``reset_state()``, ``update_state(y_true, y_pred)`` per batch, ``result()``.

    ``y_true`` and ``y_pred`` are backend arrays as the metric functions get
    them (see `framework.metrics.functions`); the state lives on the backend
    too, so an epoch copies nothing to the host until ``result``.

    Attributes:
        count_names: the attributes holding the counts that ``result`` is
            computed from; data-parallel training sums them over the
            processes (a metric naming none reports its own process's share).

    Args:
        name: the History key; by default the class name in snake case
            (``precision``, ``auc``), as in Keras.
    """

    count_names = ()

    def __init__(self, name=None):
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidArgumentError(f"{type(self).__name__}: name must be a non-empty string, got name={name!r}")
        self.name = name or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", type(self).__name__).lower()

    @property
    def xp(self):
        return get_backend().xp

    def reset_state(self):
        """Forget every batch seen so far."""
        raise NotImplementedError

    def update_state(self, y_true, y_pred):
        """Add one batch to the state."""
        raise NotImplementedError

    def result(self):
        """The metric over every batch since `reset_state`, as a Python float."""
        raise NotImplementedError

    def get_config(self):
        """The constructor's arguments (JSON scalars): ``from_config(get_config())`` rebuilds it."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def check_threshold(value, who, argument="thresholds"):
    """A float in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise InvalidArgumentError(f"{who}: {argument} must be a number in [0, 1], got {argument}={value!r}")
    return float(value)


def check_class_id(class_id, who):
    if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, int) or class_id < 0):
        raise InvalidArgumentError(f"{who}: class_id must be None or a non-negative integer, got class_id={class_id!r}")
    return class_id


def binary_columns(metric, y_true, y_pred, class_id):
    """(labels, predictions) as flat arrays of per-output binary decisions.

    Labels (N,) become one-hot rows for C > 1 outputs; with `class_id`
    only that output's column counts, else every output of every sample
    (Keras's default for multi-output predictions).
    """
    from framework.metrics.functions import align

    y_true = align(y_true, y_pred)
    if class_id is not None:
        if class_id >= y_pred.shape[-1]:
            raise InvalidArgumentError(
                f"{metric.name}: class_id={class_id} but the model has {y_pred.shape[-1]} outputs"
            )
        y_true, y_pred = y_true[:, class_id], y_pred[:, class_id]
    return y_true.reshape(-1) > 0.5, y_pred.reshape(-1)
