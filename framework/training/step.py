"""One training step, the book's loop body: forward, loss, backward in reverse, update.

Put it beside the tutorial's hand-written loop: it is the same five lines.
"""

from framework import distributed
from framework.backend import get_backend


def regularization_loss(model):
    """The sum of the layers' regularization penalties, part of the reported loss as in Keras.

    Frozen layers are left out: Keras 3 counts the regularizers of trainable weights only.
    """
    total = 0.0
    for layer in model._body:
        if layer.trainable:
            total = total + layer.regularization_loss()
    return total


def data_loss(loss_layer, scores, t, sample_weight=None):
    """The loss layer's forward, weighted when there are weights (see `LossLayer.forward`).

    Without weights the call leaves `sample_weight` out, so loss layers
    written before sample weights still work unweighted.
    """
    if sample_weight is None:
        return loss_layer.forward(scores, t)
    return loss_layer.forward(scores, t, sample_weight=sample_weight)


def train_step(model, x, t, counts=None, sample_weight=None):
    """One optimizer step of `model` on the batch (`x`, `t`), backend arrays; returns (loss, scores).

    In data-parallel training (`framework.distributed`) `x` and `t` are this
    rank's shard and `counts` is (shard size, global batch size): the
    gradients are made the global batch's before the update. A rank whose
    shard is empty contributes nothing and returns (None, None).
    `sample_weight` (N,) weighs each sample's loss and gradient.
    """
    loss_layer = model._loss_layer
    # Frozen layers (trainable=False) are left out: the optimizer never sees them,
    # and its state stays keyed by name for when they are unfrozen.
    params = model._collect("params", trainable_only=True)
    if counts is not None and counts[0] == 0:
        loss = scores = None
        xp = get_backend().xp
        grads = {key: xp.zeros_like(p) for key, p in params.items()}
    else:
        scores = model._forward(x, training=True)
        loss = data_loss(loss_layer, scores, t, sample_weight) + regularization_loss(model)
        model._backward(loss_layer.backward(1.0))
        grads = model._collect("grads", trainable_only=True)
    if counts is not None:
        distributed.reduce_step(model, grads, counts)
    model.optimizer.apply(params, grads)
    return loss, scores
