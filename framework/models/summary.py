"""`Sequential.summary`'s table: each layer's name, type, output shape and parameter count."""

from framework.layers.base import LossLayer


def summary_text(model):
    """The summary of `model` as text, Keras's layout: a row per layer, then the totals."""
    shapes = model._output_shapes(model.input_shape) if model.built else [None] * len(model._layers)
    rows = [("Layer (type)", "Output Shape", "Param #")]
    for layer, shape in zip(model._layers, shapes):
        shown = "?" if shape is None else ("()" if isinstance(layer, LossLayer) else str(shape))
        kind = getattr(layer, "type_label", type(layer).__name__)  # e.g. "Affine(relu)"
        rows.append((f"{layer.name} ({kind})", shown, f"{layer.count_params():,}"))
    widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
    rule = "-" * sum(widths)
    lines = [f'Model: "{model.name}"', rule]
    for i, row in enumerate(rows):
        lines.append("".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if i == 0:
            lines.append(rule)
    total = model.count_params()
    # Non-trainable: every layer's state, and the params of frozen layers (as Keras counts).
    trainable = sum(int(p.size) for layer in model._layers if layer.trainable for p in layer.params.values())
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}"]
    if not model.built:
        lines.append("(not built yet: call build(input_shape) or fit to create the weights)")
    return "\n".join(lines)
