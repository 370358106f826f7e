"""Registers the loss names of `compile(loss=...)`.

A named loss is a factory of a loss layer: the model appends that layer to
itself, so ``compile(loss="sparse_categorical_crossentropy")`` on a model
ending in ``Affine(10)`` trains exactly like that model followed by
``SoftmaxWithLoss()``.
"""

import functools

from framework.hookspecs import hookimpl
from framework.layers import (IdentityWithAbsoluteLoss, IdentityWithLoss, MulticlassHingeLoss, SigmoidWithLoss,
                              SoftmaxWithLoss)


@hookimpl
def register_losses(register):
    register(functools.partial(SoftmaxWithLoss, labels="one_hot"), name="categorical_crossentropy")
    register(functools.partial(SoftmaxWithLoss, labels="index"), name="sparse_categorical_crossentropy")
    for name in ("mse", "mean_squared_error"):
        register(IdentityWithLoss, name=name)
    for name in ("mae", "mean_absolute_error"):
        register(IdentityWithAbsoluteLoss, name=name)
    register(SigmoidWithLoss, name="binary_crossentropy")
    register(MulticlassHingeLoss, name="multiclass_hinge")
