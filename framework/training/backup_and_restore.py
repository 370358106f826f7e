"""`BackupAndRestore`: resume a killed run from its last completed epoch (Keras's fault tolerance).

    callbacks=[fw.callbacks.BackupAndRestore("backup")]

Run the same script again after a crash: `fit` starts from the epoch after
the last backup, with the weights, optimizer state, learning rate and data
order the killed run had then, so it ends with the weights an uninterrupted
run would have.
"""

import os

from framework.errors import InvalidArgumentError
from framework.training.callbacks import Callback

_FILE = "backup.h5"


class BackupAndRestore(Callback):
    """Save the whole training state to `backup_dir` after every epoch; restore it when `fit` begins.

    Args:
        backup_dir: a folder for this run only (created if missing).
        delete_checkpoint: remove the backup when `fit` ends normally, as
            Keras does, so the next run starts afresh.

    The backup is a full checkpoint (`model.save`), written atomically: a
    run killed while saving leaves the previous backup whole. What it cannot
    restore is state outside the model: other callbacks start afresh.
    """

    def __init__(self, backup_dir, delete_checkpoint=True):
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise InvalidArgumentError(f"BackupAndRestore: backup_dir must be a folder path, got backup_dir={backup_dir!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.delete_checkpoint = bool(delete_checkpoint)

    @property
    def path(self):
        return os.path.join(self.backup_dir, _FILE)

    def on_train_begin(self, logs=None):
        if not os.path.exists(self.path):
            return
        from framework.saving import load_model

        backup = load_model(self.path)
        model = self.model
        model.set_weights(backup.get_weights())  # checked against this model's shapes first
        model.optimizer = backup.optimizer  # its config (a reduced rate), slots and step count
        model.shuffle_seed = backup.shuffle_seed
        model.epochs_done = backup.epochs_done
        model._initial_epoch = backup.epochs_done  # fit continues from here

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        self.model.save(self.path)

    def on_train_end(self, logs=None):
        # Reached only when fit ends without an exception (a stop by a
        # callback included), as in Keras; a killed run never gets here.
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
            if not os.listdir(self.backup_dir):
                os.rmdir(self.backup_dir)
