"""Per-sample weights from `fit`'s ``sample_weight`` or ``class_weight``, checked on the host.

A weighted batch's loss is ``sum(w_i * loss_i) / N`` (Keras's rule; the loss
layer applies it, see `LossLayer.weighted_mean`), so a weight of 2 counts a
sample twice within its batch and a weight of 0 leaves it out.
"""

import inspect
import numbers

import numpy as np  # host-side data only

from framework.config import floatx
from framework.errors import InvalidArgumentError
from framework.training.checks import all_finite, host_array


def sample_weights(y, n_outputs, sample_weight=None, class_weight=None, argument="sample_weight"):
    """The weight of each of the ``len(y)`` samples as a floatx array (n,), or None for none.

    Args:
        y: the prepared targets (class indices (n,), one-hot (n, C) or binary
            labels (n, 1)), used to find each sample's class for `class_weight`.
        n_outputs: the model's number of outputs (C; one output means the
            two classes 0 and 1).
        sample_weight: array-like of n non-negative numbers.
        class_weight: ``{class index: weight}``; classes left out weigh 1.0,
            as in Keras.

    Keras refuses both at once, and so does this.
    """
    if sample_weight is not None and class_weight is not None:
        raise InvalidArgumentError(
            "sample_weight and class_weight cannot both be given (as in Keras); fold the class weights into sample_weight"
        )
    if sample_weight is not None:
        return _checked_sample_weight(sample_weight, len(y), argument)
    if class_weight is not None:
        return _from_class_weight(class_weight, y, n_outputs)
    return None


def takes_sample_weight(loss_layer):
    """Whether `loss_layer.forward` accepts ``sample_weight`` (loss layers written before it do not)."""
    return "sample_weight" in inspect.signature(loss_layer.forward).parameters


def check_loss_layer(loss_layer, weights):
    """Raise before training if there are `weights` but the loss layer cannot weigh samples."""
    if weights is not None and not takes_sample_weight(loss_layer):
        raise InvalidArgumentError(
            f"sample_weight/class_weight: the loss layer {type(loss_layer).__name__} does not take sample weights "
            "(its forward has no sample_weight argument)"
        )


def _checked_sample_weight(sample_weight, n, argument):
    weights = host_array(sample_weight, argument)
    if weights.ndim == 2 and weights.shape[1] == 1:
        weights = weights[:, 0]
    if weights.ndim != 1 or len(weights) != n:
        raise InvalidArgumentError(f"{argument} must have shape ({n},), one weight per sample, got shape {weights.shape}")
    weights = weights.astype(floatx())
    if not all_finite(weights):
        raise InvalidArgumentError(f"{argument} must be finite, got NaN or Inf")
    if (weights < 0).any():
        bad = weights[weights < 0][0].item()
        raise InvalidArgumentError(f"{argument} must be non-negative, got the weight {bad!r}")
    return weights


def _classes(y, n_outputs):
    """Each sample's class: the index, the one-hot row's argmax, or the rounded binary label."""
    y = np.asarray(y)
    if y.ndim == 1:
        return np.rint(y).astype(np.int64)
    if y.shape[1] > 1:
        return y.argmax(axis=1)
    return np.rint(y[:, 0]).astype(np.int64)


def _from_class_weight(class_weight, y, n_outputs):
    if not isinstance(class_weight, dict):
        raise InvalidArgumentError(
            f"class_weight must be a dict {{class index: weight}}, got {type(class_weight).__name__}"
        )
    n_classes = max(int(n_outputs), 2)  # one sigmoid output: classes 0 and 1
    table = np.ones(n_classes, dtype=floatx())
    for key, weight in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, numbers.Integral) or not 0 <= key < n_classes:
            raise InvalidArgumentError(
                f"class_weight has the unknown class {key!r}; the model's classes are 0 to {n_classes - 1}"
            )
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not np.isfinite(weight) or weight < 0:
            raise InvalidArgumentError(
                f"class_weight[{key!r}] must be a finite non-negative number, got {weight!r}"
            )
        table[int(key)] = float(weight)
    classes = _classes(y, n_outputs)
    if classes.size and (classes.min() < 0 or classes.max() >= n_classes):
        raise InvalidArgumentError(
            f"class_weight needs class labels in [0, {n_classes}); y holds {classes[(classes < 0) | (classes >= n_classes)][0]}"
        )
    return table[classes]
