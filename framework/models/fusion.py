"""Keras's habit at compile: a trailing sigmoid or softmax is fused into the named loss.

A Keras user writes ``Dense(1, activation="sigmoid")`` and
``loss="binary_crossentropy"``: the loss then receives probabilities
(Keras's ``from_logits=False``). Here the loss layers take logits, which is
exact and stable, so `compile` hands the loss layer the activation's *input*
instead: the trailing activation is skipped in training and evaluation, and
`predict` applies it through the loss layer's ``predict`` (sigmoid or
softmax). The loss is right, `predict` returns probabilities, and nothing is
applied twice. Only losses given by name are fused; a loss layer the user
places or passes is taken as written.
"""

from framework import registry

# The activation each named loss takes over.
_FUSES = {
    "binary_crossentropy": "sigmoid",
    "categorical_crossentropy": "softmax",
    "sparse_categorical_crossentropy": "softmax",
}


def _activation_name(layer):
    """The activation name `layer` applies last, or None."""
    if getattr(layer, "axis", -1) != -1:  # a softmax over another axis is not the loss's
        return None
    inner = getattr(layer, "inner", None)  # Activation(name)
    if inner is not None:
        return _activation_name(inner)
    return registry.name_of("activations", type(layer))


def apply(model, body, loss):
    """Fuse the end of `body` (the model's layers before its loss) with the named `loss`, undoing any earlier fusion."""
    undo(model)
    layer, how = fusable(body, loss)
    if how == "inside":
        layer.activation_fused = True
    model._fused_layer = layer


def undo(model):
    """Give the fused activation back to the model's output (a layer added after it, or a new compile)."""
    layer, model._fused_layer = model._fused_layer, None
    if layer is not None and hasattr(layer, "activation_fused"):
        layer.activation_fused = False


def fusable(body, loss):
    """``(layer, how)`` that `compile` fuses with the named `loss`, or ``(None, None)``.

    `how` is ``"inside"`` for a weighted layer ending in the activation
    (``Affine(..., activation="sigmoid")``) and ``"layer"`` for a standalone
    activation layer.
    """
    wanted = _FUSES.get(loss) if isinstance(loss, str) else None
    if wanted is None or not body:
        return None, None
    last = body[-1]
    if hasattr(last, "activation_fused") and getattr(last, "activation_name", None) == wanted:
        return last, "inside"
    if not last.params and _activation_name(last) == wanted:
        return last, "layer"
    return None, None
