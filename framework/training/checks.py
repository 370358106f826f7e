"""Argument and data checks, run on the host before anything changes.

Every message names the argument, what was expected and what was given.
"""

import numbers

import numpy as np

from framework.config import floatx
from framework.errors import InvalidArgumentError


def positive_int(value, argument):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidArgumentError(f"{argument} must be a positive integer, got {argument}={value!r}")
    return int(value)


def non_negative_int(value, argument):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InvalidArgumentError(f"{argument} must be a non-negative integer, got {argument}={value!r}")
    return int(value)


def fraction(value, argument):
    """A float in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise InvalidArgumentError(f"{argument} must be a number in [0, 1), got {argument}={value!r}")
    return float(value)


def one_of(value, allowed, argument):
    if value not in allowed:
        raise InvalidArgumentError(f"{argument} must be one of {list(allowed)}, got {argument}={value!r}")
    return value


def host_array(data, argument):
    """`data` as a NumPy array of numbers; the error names `argument`."""
    if data is None:
        raise InvalidArgumentError(f"{argument} is required, got None")
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as exc:  # e.g. ragged lists, CuPy arrays
        raise InvalidArgumentError(f"{argument} must be array-like (a NumPy array), got {type(data).__name__}: {exc}") from None
    if array.dtype.kind not in "biuf":
        raise InvalidArgumentError(f"{argument} must hold numbers, got dtype {array.dtype} ({argument}.shape={array.shape})")
    return array


def features(x, argument="x", feature_shape=None, allow_empty=False):
    """Model inputs as a floatx NumPy array of shape (n, ...), checked.

    Args:
        feature_shape: the built model's input shape without the batch axis,
            if the model is built.
    """
    array = host_array(x, argument)
    if array.ndim < 2:
        raise InvalidArgumentError(
            f"{argument} must have a batch axis and at least one feature axis (ndim >= 2), got shape {array.shape}"
        )
    if feature_shape is not None and tuple(array.shape[1:]) != tuple(feature_shape):
        raise InvalidArgumentError(
            f"{argument} has feature shape {tuple(array.shape[1:])} but the model was built for {tuple(feature_shape)}"
        )
    if len(array) == 0 and not allow_empty:
        raise InvalidArgumentError(f"{argument} is empty (shape {array.shape}); need at least one sample")
    array = array.astype(floatx(), copy=False)
    if not all_finite(array):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise InvalidArgumentError(f"{argument} contains NaN or Inf (first at index {tuple(int(i) for i in bad)})")
    return array


def all_finite(array):
    """Whether `array` holds no NaN or Inf, in one pass and without a temporary array.

    A NaN or Inf makes the sum NaN or Inf, so a finite sum proves the data
    finite; a non-finite sum may be mere overflow, so then look element by
    element.
    """
    return bool(np.isfinite(array.sum())) or bool(np.isfinite(array).all())


def same_length(x, y, x_name="x", y_name="y"):
    if len(x) != len(y):
        raise InvalidArgumentError(f"{x_name} and {y_name} must have the same number of samples, got {len(x)} and {len(y)}")
