"""`TerminateOnNaN`: stop training at the first batch whose loss is NaN or infinite (Keras's)."""

import math

from framework.training.callbacks import Callback


class TerminateOnNaN(Callback):
    """Stop `fit` after the batch where the loss first becomes NaN or infinite.

    The weights are already not finite then; the epoch's logs are still
    recorded. `fit` warns once about such a loss with or without this callback.
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch + 1}: invalid loss {loss}, terminating training")
            self.model.stop_training = True
