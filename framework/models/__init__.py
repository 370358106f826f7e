"""Models: `Sequential`, and `model_from_json` to rebuild one from `Sequential.to_json`."""

from framework.models.model_json import model_from_json
from framework.models.sequential import Sequential

__all__ = ["Sequential", "model_from_json"]
