"""One training step, the book's loop body: forward, loss, backward in reverse, update.

Put it beside the tutorial's hand-written loop: it is the same five lines.
"""


def train_step(model, x, t):
    """One optimizer step of `model` on the batch (`x`, `t`), backend arrays; returns (loss, scores)."""
    loss_layer = model._loss_layer
    scores = model._forward(x, training=True)
    loss = loss_layer.forward(scores, t)
    model._backward(loss_layer.backward(1.0))
    # Frozen layers (trainable=False) are left out: the optimizer never sees them,
    # and its state stays keyed by name for when they are unfrozen.
    model.optimizer.update(model._collect("params", trainable_only=True), model._collect("grads", trainable_only=True))
    return loss, scores
