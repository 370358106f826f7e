"""Callbacks for `fit`: ``fw.callbacks.EarlyStopping(monitor="val_loss", patience=3)``."""

from framework.training.backup_and_restore import BackupAndRestore
from framework.training.callbacks import Callback, EarlyStopping, History
from framework.training.csv_logger import CSVLogger
from framework.training.lambda_callback import LambdaCallback
from framework.training.lr_scheduler import LearningRateScheduler
from framework.training.model_checkpoint import ModelCheckpoint
from framework.training.reduce_lr_on_plateau import ReduceLROnPlateau
from framework.training.terminate_on_nan import TerminateOnNaN

__all__ = [
    "Callback", "History", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau",
    "TerminateOnNaN", "CSVLogger", "LambdaCallback", "BackupAndRestore",
]
