"""Metrics, as `compile(metrics=[...])` takes them: names, functions or metric objects.

* A registered name (hook ``register_metrics``): ``"accuracy"``,
  ``"binary_accuracy"``, ``"categorical_accuracy"``,
  ``"sparse_categorical_accuracy"``, ``"top_k_categorical_accuracy"`` (k=5),
  ``"mse"``, ``"mae"`` (and their long names), ``"precision"``,
  ``"recall"``, ``"auc"``.
* Any callable ``fn(y_true, y_pred)`` returning the batch's mean: it gets
  host NumPy arrays, ``y_pred`` being what `predict` returns; its
  ``__name__`` is the History key. The batch values are averaged over the
  epoch, weighted by batch size.
* A `Metric` object (`Precision`, `Recall`, `AUC`): computed over the whole
  epoch from counts, not averaged per batch.

``"accuracy"`` means what the loss makes it mean, as in Keras: a 0.5
threshold for binary cross-entropy or a one-output model, else the argmax.
"""

from framework import registry
from framework.errors import InvalidArgumentError
from framework.metrics.auc import AUC
from framework.metrics.base import Metric
from framework.metrics.confusion import Precision, Recall
from framework.metrics.functions import accuracy

__all__ = ["get", "key", "for_loss", "names", "accuracy", "Metric", "Precision", "Recall", "AUC"]

_ACCURACY = ("accuracy", "acc")


def get(identifier):
    """The metric for `identifier`: a function, or a new `Metric` object.

    `identifier` is a registered name, a callable, a `Metric` object, or a
    ``{"class_name", "config"}`` spec of a registered `Metric` class.
    Unknown names raise `UnknownNameError` listing the known ones.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        obj = registry.get("metrics", identifier, what="metric").obj
        return obj() if isinstance(obj, type) else obj
    if isinstance(identifier, dict):
        from framework import serialization

        return serialization.from_nested_spec("metrics", identifier, "metric", base=Metric)
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    raise InvalidArgumentError(
        f"metrics must hold metric names (such as 'accuracy'), functions fn(y_true, y_pred) or Metric objects, "
        f"got {identifier!r}"
    )


def key(identifier, metric):
    """The History key of `identifier`: the name as given, a function's ``__name__``, a `Metric`'s name."""
    if isinstance(identifier, str):
        return identifier
    if isinstance(metric, Metric):
        return metric.name
    return getattr(metric, "__name__", type(metric).__name__)


def is_binary_loss(loss_layer):
    """Whether `loss_layer` takes binary labels: its ``binary`` attribute, else its class (`SigmoidWithLoss`)."""
    return bool(getattr(loss_layer, "binary", type(loss_layer).__name__ == "SigmoidWithLoss"))


def for_loss(identifier, loss_layer):
    """`get(identifier)`, with ``"accuracy"`` chosen for `loss_layer` (binary for binary cross-entropy)."""
    if isinstance(identifier, str) and identifier.lower() in _ACCURACY and is_binary_loss(loss_layer):
        return get("binary_accuracy")
    return get(identifier)


def names():
    """The registered metric names."""
    return registry.names("metrics")
