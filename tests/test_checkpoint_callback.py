"""`ModelCheckpoint`: Keras's arguments, file names from the logs, best-only saves."""

import math
import os

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError

rng = np.random.default_rng(5)
X = rng.random((60, 4)).astype("float32")
Y = (X[:, 0] > X[:, 1]).astype(int)


def model():
    m = fw.Sequential([layers.Affine(6), layers.ReLU(), layers.Affine(2), layers.SoftmaxWithLoss()])
    m.compile(optimizer=fw.optimizers.SGD(0.5), metrics=["accuracy"])
    return m


def test_exported_at_both_places():
    assert fw.ModelCheckpoint is fw.callbacks.ModelCheckpoint


def test_saves_every_epoch_with_epoch_and_metric_in_the_name(tmp_path):
    m = model()
    callback = fw.ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.h5", monitor="val_loss")
    history = m.fit(X, Y, epochs=3, validation_split=0.25, callbacks=[callback], verbose=0)
    expected = sorted(f"ckpt-{epoch + 1:02d}-{loss:.2f}.h5" for epoch, loss in enumerate(history.history["val_loss"]))
    assert sorted(os.listdir(tmp_path)) == expected
    last = fw.load_model(tmp_path / next(name for name in expected if name.startswith("ckpt-03-")))
    assert last.epochs_done == 3 and np.array_equal(last.predict(X), m.predict(X))


def test_save_best_only_keeps_the_best_epoch(tmp_path):
    m = model()
    path = tmp_path / "best.h5"
    saved = []

    class Record(fw.Callback):  # runs after the checkpoint: what was best so far
        def on_epoch_end(self, epoch, logs=None):
            if logs["loss"] <= min(logs_seen + [logs["loss"]]):
                saved.append((epoch, m.get_weights()))
            logs_seen.append(logs["loss"])

    logs_seen = []
    callback = fw.ModelCheckpoint(path, monitor="loss", save_best_only=True, mode="min")
    m.fit(X, Y, epochs=6, callbacks=[callback, Record()], verbose=0)
    best_epoch, best_weights = saved[-1]
    loaded = fw.load_model(path)
    assert loaded.epochs_done == best_epoch + 1 and callback.best == min(logs_seen)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), best_weights))


def test_save_best_only_does_not_save_when_worse_than_the_threshold(tmp_path):
    callback = fw.ModelCheckpoint(tmp_path / "best.h5", monitor="accuracy", save_best_only=True,
                                  initial_value_threshold=1.01)
    assert callback.mode == "max"  # "auto" for an accuracy
    model().fit(X, Y, epochs=2, callbacks=[callback], verbose=0)
    assert os.listdir(tmp_path) == []


def test_save_weights_only(tmp_path):
    m = model()
    m.fit(X, Y, epochs=1, callbacks=[fw.ModelCheckpoint(str(tmp_path / "w-{epoch}.h5"), save_weights_only=True)],
          verbose=0)
    other = model()
    other.build((None, 4))
    other.load_weights(tmp_path / "w-1.h5")
    assert all(np.array_equal(a, b) for a, b in zip(other.get_weights(), m.get_weights()))


def test_missing_monitor_warns_and_skips(tmp_path):
    callback = fw.ModelCheckpoint(tmp_path / "best.h5", monitor="val_loss", save_best_only=True)
    with pytest.warns(RuntimeWarning, match="monitor 'val_loss' is not in the logs"):
        model().fit(X, Y, epochs=1, callbacks=[callback], verbose=0)
    assert os.listdir(tmp_path) == []


def test_unknown_placeholder_is_refused_before_any_weight_changes(tmp_path):
    callback = fw.ModelCheckpoint(tmp_path / "{val_accuracy:.2f}.h5")
    m = model()
    m.build((None, 4))
    before = m.get_weights()
    with pytest.raises(InvalidArgumentError, match=r"names 'val_accuracy', which no log of this fit will have "
                                                   r"\(available: accuracy, epoch, learning_rate, loss\)"):
        m.fit(X, Y, epochs=1, callbacks=[callback], verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), before))
    # With validation data the same template is fine.
    m.fit(X, Y, epochs=1, callbacks=[callback], verbose=0, validation_split=0.25)
    assert len(os.listdir(tmp_path)) == 1


def test_batch_placeholder_needs_an_integer_save_freq(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"names 'batch'"):
        model().fit(X, Y, epochs=1, callbacks=[fw.ModelCheckpoint(tmp_path / "b{batch}.h5")], verbose=0)
    assert os.listdir(tmp_path) == []


def test_a_missing_folder_is_created(tmp_path):
    callback = fw.ModelCheckpoint(tmp_path / "new" / "deeper" / "e{epoch}.h5")
    model().fit(X, Y, epochs=2, callbacks=[callback], verbose=0)
    assert sorted(os.listdir(tmp_path / "new" / "deeper")) == ["e1.h5", "e2.h5"]


def test_integer_save_freq_saves_every_n_batches_across_epochs(tmp_path):
    callback = fw.ModelCheckpoint(tmp_path / "e{epoch}-b{batch}.h5", save_freq=3)
    model().fit(X, Y, epochs=2, batch_size=16, callbacks=[callback], verbose=0)  # 4 batches an epoch
    assert sorted(os.listdir(tmp_path)) == ["e1-b3.h5", "e2-b2.h5"]


@pytest.mark.parametrize(
    "kwargs, message",
    [({"mode": "best"}, "mode must be 'auto', 'min' or 'max'"),
     ({"save_freq": "batch"}, "save_freq must be 'epoch' or a positive integer"),
     ({"save_freq": 0}, "save_freq must be 'epoch' or a positive integer"),
     ({"filepath": 3}, "filepath must be a str or path"),
     ({"monitor": 1}, "monitor must be a logs key"),
     ({"initial_value_threshold": "0.5"}, "initial_value_threshold must be a finite number or None"),
     ({"filepath": "w-{}.h5"}, "positional placeholder")],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        fw.ModelCheckpoint(**{"filepath": "x.h5", **kwargs})


def test_auto_mode_agrees_with_early_stopping():
    for monitor in ("val_loss", "val_accuracy", "val_auc", "acc"):
        assert fw.ModelCheckpoint("x.h5", monitor=monitor).mode == fw.EarlyStopping(monitor=monitor).mode


def test_a_failed_save_does_not_raise_the_bar(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    callback = fw.ModelCheckpoint(tmp_path / "a-file" / "best.h5", monitor="loss", save_best_only=True)
    m = model()
    with pytest.raises(fw.CheckpointError):
        m.fit(X, Y, epochs=1, callbacks=[callback], verbose=0)
    assert callback.best == math.inf  # nothing was saved, so any value still counts as an improvement
