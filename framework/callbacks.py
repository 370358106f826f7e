"""Callbacks for `fit`: ``fw.callbacks.EarlyStopping(monitor="val_loss", patience=3)``."""

from framework.training.callbacks import Callback, EarlyStopping, History
from framework.training.model_checkpoint import ModelCheckpoint

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint"]
