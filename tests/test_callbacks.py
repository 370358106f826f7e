"""Callbacks: the hooks' order, History and EarlyStopping."""

import numpy as np
import pytest

import framework as fw
from framework import layers

rng = np.random.default_rng(0)
X = rng.random((30, 4)).astype("float32")
T = (X.sum(axis=1) > 2).astype(int)


def model():
    m = fw.Sequential([layers.Affine(2), layers.SoftmaxWithLoss()])
    m.compile(optimizer="sgd", metrics=["accuracy"])
    return m


class Log(fw.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(f"batch_begin {batch}")

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(f"batch_end {batch} {sorted(logs)}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch} {sorted(logs)}")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_hooks_run_in_keras_order():
    log = Log()
    m = model()
    m.fit(X, T, epochs=2, batch_size=20, validation_split=0.2, callbacks=[log], verbose=0)
    assert log.model is m and log.params == {"epochs": 2, "steps": 2, "verbose": 0,
                                             "metrics": ["loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"]}
    batch_keys = "['accuracy', 'loss']"
    epoch_keys = "['accuracy', 'learning_rate', 'loss', 'val_accuracy', 'val_loss']"
    assert log.calls == [
        "train_begin",
        "epoch_begin 0", "batch_begin 0", f"batch_end 0 {batch_keys}", "batch_begin 1", f"batch_end 1 {batch_keys}",
        f"epoch_end 0 {epoch_keys}",
        "epoch_begin 1", "batch_begin 0", f"batch_end 0 {batch_keys}", "batch_begin 1", f"batch_end 1 {batch_keys}",
        f"epoch_end 1 {epoch_keys}",
        "train_end",
    ]


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    losses = []

    class Batches(fw.Callback):
        def on_train_batch_end(self, batch, logs=None):
            losses.append(logs["loss"])

    m = model()
    history = m.fit(X, T, epochs=1, batch_size=20, callbacks=[Batches()], verbose=0, shuffle=False)
    assert history.history["loss"] == [pytest.approx(losses[-1])]  # the running mean ends at the epoch mean
    assert m.history is history


def test_early_stopping_stops_and_restores_the_best_weights():
    snapshots = []

    class Snapshot(fw.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append((logs["loss"], self.model.get_weights()))

    m = model()
    m.compile(optimizer=fw.optimizers.SGD(learning_rate=5.0), metrics=["accuracy"])  # too high: loss oscillates
    stop = fw.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    history = m.fit(X, T, epochs=50, batch_size=30, callbacks=[Snapshot(), stop], verbose=0, shuffle=False)
    epochs_run = len(history.history["loss"])
    assert epochs_run < 50 and stop.stopped_epoch == epochs_run - 1
    best = min(range(epochs_run), key=lambda i: snapshots[i][0])
    assert stop.best == snapshots[best][0]
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), snapshots[best][1]))


def test_early_stopping_waits_for_patience():
    values = iter([1.0, 0.5, 0.6, 0.7, 0.4, 0.8, 0.9, 1.0])

    class Fake(fw.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["score"] = next(values)

    stop = fw.EarlyStopping(monitor="score", patience=2, mode="min")
    history = model().fit(X, T, epochs=8, callbacks=[Fake(), stop], verbose=0)
    assert history.history["score"] == [1.0, 0.5, 0.6, 0.7]  # two epochs without beating 0.5


def test_early_stopping_auto_mode_maximises_accuracy():
    assert fw.EarlyStopping(monitor="val_accuracy").mode == "max"
    assert fw.EarlyStopping(monitor="val_loss").mode == "min"
    with pytest.raises(fw.InvalidArgumentError, match="mode"):
        fw.EarlyStopping(mode="up")


def test_callback_can_stop_training_mid_epoch():
    class StopAtThird(fw.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    m = model()
    m.build((None, 4))
    history = m.fit(X, T, epochs=5, batch_size=5, callbacks=[StopAtThird()], verbose=0)
    assert len(history.history["loss"]) == 1
    assert m.optimizer.iterations == 3
