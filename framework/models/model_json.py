"""A model's architecture as JSON text: `Sequential.to_json` and `model_from_json`.

The text is ``{"class_name": "Sequential", "config": model.get_config()}``
(Keras's shape of it), with no weights. Reading it builds layers only by
registered class name, exactly as loading a checkpoint does, and bounds the
text's size and nesting first, so untrusted text can build nothing else.
"""

import json

from framework.errors import InvalidArgumentError
from framework.saving import MAX_JSON_BYTES, MAX_JSON_DEPTH, _depth, _refuse_constant


def to_json(model, **kwargs):
    """JSON text of `model`'s architecture; `kwargs` go to `json.dumps` (e.g. ``indent=2``)."""
    return json.dumps({"class_name": type(model).__name__, "config": model.get_config()}, allow_nan=False, **kwargs)


def model_from_json(json_string):
    """A new model from `to_json`'s text: built if the text records an input shape; weights fresh.

    Raises `InvalidArgumentError` for text that is not such a description,
    `UnknownNameError` for a layer class that no installed plugin registers.
    """
    from framework.models.sequential import Sequential

    if not isinstance(json_string, (str, bytes)):
        raise InvalidArgumentError(f"model_from_json: expected JSON text, got {type(json_string).__name__}")
    if len(json_string) > MAX_JSON_BYTES:
        raise InvalidArgumentError(
            f"model_from_json: the text is {len(json_string):,} characters, more than the limit of {MAX_JSON_BYTES:,}"
        )
    try:
        value = json.loads(json_string, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidArgumentError(f"model_from_json: not valid JSON ({type(exc).__name__}: {str(exc):.200})") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise InvalidArgumentError(f"model_from_json: the JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    if not isinstance(value, dict) or value.get("class_name") != "Sequential" or set(value) != {"class_name", "config"}:
        raise InvalidArgumentError(
            'model_from_json: expected {"class_name": "Sequential", "config": {...}}, '
            f"got {str(value)[:80]!r}"
        )
    return Sequential.from_config(value["config"])
