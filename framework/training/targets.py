"""Checks and conversion of training targets (labels), on the host, once per data set."""

import numpy as np

from framework.config import floatx
from framework.training.checks import all_finite, host_array
from framework.errors import InvalidArgumentError


def class_labels(t, n_classes, labels="auto", argument="y"):
    """Class labels for an `n_classes`-way classifier.

    Returns int64 indices of shape (n,) or float one-hot rows of shape (n, C),
    as `labels` and the data say: ``"auto"`` takes 1-d (or (n, 1)) data as
    indices and 2-d data as one-hot.
    """
    array = _numeric(t, argument)
    as_index = array.ndim == 1 or (array.ndim == 2 and array.shape[1] == 1 and n_classes > 1)
    if labels == "index" and not as_index:
        raise InvalidArgumentError(
            f"{argument} must be class indices of shape (n,) for this loss, got shape {array.shape}"
            " (one-hot labels need 'categorical_crossentropy')"
        )
    if labels == "one_hot" and as_index:
        raise InvalidArgumentError(
            f"{argument} must be one-hot labels of shape (n, {n_classes}) for this loss, got shape {array.shape}"
            " (class indices need 'sparse_categorical_crossentropy')"
        )
    if as_index:
        return _indices(array.reshape(-1), n_classes, argument)
    return _one_hot(array, n_classes, argument)


def _numeric(t, argument):
    array = host_array(t, argument)
    if array.ndim not in (1, 2):
        raise InvalidArgumentError(f"{argument} must be 1-d class indices or 2-d one-hot labels, got shape {array.shape}")
    return array


def _indices(array, n_classes, argument):
    if array.dtype.kind == "f":
        if not all_finite(array) or (array != np.floor(array)).any():
            bad = array[~np.isfinite(array) | (array != np.floor(array))][0].item()
            raise InvalidArgumentError(f"{argument} must be integral class indices, got the value {bad!r}")
    if array.size and (array.min() < 0 or array.max() >= n_classes):
        bad = array[(array < 0) | (array >= n_classes)][0].item()
        raise InvalidArgumentError(
            f"{argument} must be class indices in [0, {n_classes}) for a model with {n_classes} outputs, got the label {bad!r}"
        )
    return array.astype(np.int64, copy=False)  # int64 labels are used as given, as x is: no copy of the data set


def _one_hot(array, n_classes, argument):
    if array.shape[1] != n_classes:
        raise InvalidArgumentError(
            f"{argument} is one-hot of width {array.shape[1]} but the model has {n_classes} outputs (shape {array.shape})"
        )
    array = array.astype(floatx(), copy=False)
    if not all_finite(array) or (array < 0).any() or (array > 1).any():
        raise InvalidArgumentError(f"{argument} must hold one-hot (or soft) labels in [0, 1], got values outside it")
    return array


def _like_output(t, output_shape, argument):
    """Host float targets shaped like the model's output: (n,) is taken as (n, 1) for one output, never broadcast."""
    array = host_array(t, argument)
    if array.dtype.kind not in "biuf":
        raise InvalidArgumentError(f"{argument} must hold numbers, got dtype {array.dtype}")
    features = tuple(output_shape[1:])
    if array.ndim == 1 and features == (1,):
        array = array.reshape(-1, 1)
    if tuple(array.shape[1:]) != features:
        raise InvalidArgumentError(
            f"{argument} must have shape (n, {', '.join(map(str, features))}) like the model's outputs "
            f"{tuple(output_shape)}, got shape {array.shape}"
        )
    array = array.astype(floatx(), copy=False)
    if not all_finite(array):
        raise InvalidArgumentError(f"{argument} must be finite, got NaN or infinity")
    return array


def regression_targets(t, output_shape, argument="y"):
    """Float targets of the model's output shape, for "mse" and "mae"."""
    return _like_output(t, output_shape, argument)


def binary_labels(t, output_shape, argument="y"):
    """Float labels in [0, 1] (soft labels allowed, as in Keras) shaped like the outputs, for binary cross-entropy."""
    array = _like_output(t, output_shape, argument)
    if array.size and ((array < 0).any() or (array > 1).any()):
        bad = array[(array < 0) | (array > 1)][0].item()
        raise InvalidArgumentError(
            f"{argument} must hold binary labels in [0, 1] for binary cross-entropy, got the label {bad!r}"
        )
    return array
