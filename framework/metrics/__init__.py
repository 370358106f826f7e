"""Metrics, by the names `compile(metrics=[...])` accepts.

A metric takes the model's raw scores ``y`` (N, C) and the batch's targets
``t`` (as the loss takes them) and returns its mean over the batch.
"""

from framework.backend import get_backend
from framework.errors import UnknownNameError


def accuracy(y, t):
    """Fraction of samples whose highest score is the true class (indices or one-hot ``t``)."""
    xp = get_backend().xp
    if t.ndim == y.ndim:
        t = xp.argmax(t, axis=1)
    return float((xp.argmax(y, axis=1) == t).mean())


_METRICS = {"accuracy": accuracy, "acc": accuracy}


def get(name):
    """The metric function for `name`; unknown names list the known ones."""
    if isinstance(name, str) and name in _METRICS:
        return _METRICS[name]
    raise UnknownNameError(f"unknown metric {name!r}; known: {', '.join(sorted(_METRICS))}")
