"""`Input(shape)`: the first element of a `Sequential`, declaring the shape of one sample.

Not a layer: it computes nothing, has no weights and no place in
``model.layers`` (as in Keras). ``Sequential([Input((4,)), Affine(8)])`` builds
the model at once for inputs of shape (None, 4), so `summary` shows every
shape before any data is seen. ``Affine(8, input_shape=(4,))`` on the first
layer does the same.
"""

import numbers

from framework.errors import InvalidArgumentError


def check_input_shape(shape, who, argument="shape"):
    """`shape` (one sample's shape, no batch axis) as a tuple of positive ints."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not shape or not all(
        isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0 for d in shape
    ):
        raise InvalidArgumentError(
            f"{who}: {argument} must be a tuple of positive integers without the batch axis, such as (784,), "
            f"got {argument}={shape!r}"
        )
    return tuple(int(d) for d in shape)


class Input:
    """The shape of one input sample, e.g. ``Input((28, 28))`` or ``Input(shape=(784,))``.

    Args:
        shape: one sample's shape, without the batch axis (an int means ``(int,)``).
        name: accepted for Keras's sake; unused.
    """

    def __init__(self, shape, name=None):
        self.shape = check_input_shape(shape, "Input")
        self.name = name

    def __repr__(self):
        return f"Input(shape={self.shape})"
