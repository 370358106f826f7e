"""Models: `Sequential`."""

from framework.models.sequential import Sequential

__all__ = ["Sequential"]
