"""LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN, the NaN warning, CSVLogger, LambdaCallback,
BackupAndRestore (with a real SIGKILL), and callback arguments checked when the callback is made."""

import csv
import math
import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError

from .test_checkpoint_resume import child_env

C = fw.callbacks
rng = np.random.default_rng(2)
X = rng.random((40, 4)).astype("float32")
Y = rng.integers(0, 3, 40)


def model(optimizer=None):
    fw.set_seed(3)
    m = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(3), layers.SoftmaxWithLoss()])
    m.compile(optimizer=optimizer or fw.optimizers.SGD(0.1), metrics=["accuracy"])
    return m


# -- learning rate callbacks ------------------------------------------------------
def test_learning_rate_scheduler_sets_the_rate_each_epoch():
    seen = []
    scheduler = C.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    spy = C.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs["learning_rate"]))
    history = model().fit(X, Y, epochs=3, batch_size=20, callbacks=[scheduler, spy], verbose=0)
    assert history.history["learning_rate"] == seen == [0.1, 0.05, 0.025]


def test_learning_rate_scheduler_takes_a_function_of_the_epoch_alone():
    m = model()
    m.fit(X, Y, epochs=2, callbacks=[C.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], verbose=0)
    assert m.optimizer.learning_rate == 0.02


@pytest.mark.parametrize("bad", [math.nan, -0.1, "0.1", None])
def test_learning_rate_scheduler_refuses_a_bad_rate_before_training(bad):
    m = model()
    m.build((None, 4))
    before = m.get_weights()
    with pytest.raises(InvalidArgumentError, match=r"schedule\(0, 0.1\) must return a positive finite float"):
        m.fit(X, Y, epochs=1, callbacks=[C.LearningRateScheduler(lambda epoch, lr: bad)], verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), before))


def test_rate_callbacks_refuse_an_optimizer_with_a_schedule():
    m = model(fw.optimizers.SGD(fw.schedules.InverseSqrtDecay(0.1)))
    for callback in (C.LearningRateScheduler(lambda epoch, lr: lr), C.ReduceLROnPlateau(monitor="loss")):
        with pytest.raises(InvalidArgumentError, match="schedule"):
            m.fit(X, Y, epochs=1, callbacks=[callback], verbose=0)


class Feed(fw.Callback):
    """Replaces the epoch's monitored value by a scripted one (put before the callback under test)."""

    def __init__(self, values):
        super().__init__()
        self.values = list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.values[epoch]


def test_reduce_lr_on_plateau_follows_keras():
    # min mode, patience 2, cooldown 1: improvements at epochs 0 and 1; no improvement at 2 and 3 ->
    # halved after 3; the cooldown resets the count at 4, which still counts one; halved again after 5,
    # clamped to min_lr; then never below it.
    scores = [1.0, 0.9, 0.9, 0.95, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    reduce = C.ReduceLROnPlateau(monitor="score", factor=0.5, patience=2, cooldown=1, min_lr=0.03, min_delta=0.0)
    rates = []
    spy = C.LambdaCallback(on_epoch_end=lambda epoch, logs: rates.append(reduce.model.optimizer.learning_rate))
    model().fit(X, Y, epochs=len(scores), batch_size=40, callbacks=[Feed(scores), reduce, spy], verbose=0)
    assert rates == [0.1, 0.1, 0.1, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03]
    expected, lr, wait, cooldown, best = [], 0.1, 0, 0, math.inf
    for score in scores:  # Keras's algorithm, written out
        if cooldown > 0:
            cooldown, wait = cooldown - 1, 0
        if score < best:
            best, wait = score, 0
        elif cooldown == 0:
            wait += 1
            if wait >= 2 and lr > 0.03:
                lr, cooldown, wait = max(lr * 0.5, 0.03), 1, 0
        expected.append(lr)
    assert rates == expected


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: C.ReduceLROnPlateau(monitor=3), "monitor must be a logs key"),
        (lambda: C.ReduceLROnPlateau(factor=1.0), r"factor must be in \(0, 1\)"),
        (lambda: C.ReduceLROnPlateau(min_delta="0.1"), "min_delta must be a finite number"),
        (lambda: C.ReduceLROnPlateau(min_lr=-1), "min_lr must be >= 0"),
        (lambda: C.ReduceLROnPlateau(patience=1.5), "patience must be a non-negative integer"),
        (lambda: C.EarlyStopping(monitor=None), "monitor must be a logs key"),
        (lambda: C.EarlyStopping(min_delta=None), "min_delta must be a finite number"),
        (lambda: C.EarlyStopping(baseline="low"), "baseline must be a finite number or None"),
        (lambda: C.LearningRateScheduler(0.1), "schedule must be callable"),
        (lambda: C.LambdaCallback(on_epoch_end="print"), "on_epoch_end must be callable"),
        (lambda: C.CSVLogger(None), "filename must be a str or path"),
        (lambda: C.BackupAndRestore(""), "backup_dir must be a folder path"),
    ],
)
def test_callback_arguments_are_checked_when_the_callback_is_made(make, message):
    with pytest.raises(InvalidArgumentError, match=message):
        make()


# -- NaN ----------------------------------------------------------------------------
def diverging():
    return model(fw.optimizers.SGD(1e30))


@pytest.fixture(autouse=True)
def _quiet_numpy():
    with np.errstate(over="ignore", invalid="ignore"):  # the diverging runs overflow, on purpose
        yield


def test_fit_warns_once_naming_the_epoch_and_batch_where_the_loss_first_is_not_finite():
    with pytest.warns(RuntimeWarning) as record:
        history = diverging().fit(X, Y, epochs=3, batch_size=10, verbose=0, shuffle=False)
    messages = [str(w.message) for w in record if "loss became" in str(w.message)]
    assert len(messages) == 1 and "at epoch 1, batch 2" in messages[0]
    assert len(history.history["loss"]) == 3  # without TerminateOnNaN it trains on


def test_no_warning_for_a_finite_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model().fit(X, Y, epochs=2, verbose=0)


def test_terminate_on_nan_stops_after_the_first_bad_batch(capsys):
    batches = []
    spy = C.LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    with pytest.warns(RuntimeWarning, match="loss became"):
        history = diverging().fit(X, Y, epochs=3, batch_size=10, verbose=0, shuffle=False,
                                  callbacks=[C.TerminateOnNaN(), spy])
    assert batches == [0, 1] and len(history.history["loss"]) == 1
    assert "Batch 2: invalid loss" in capsys.readouterr().out


# -- CSVLogger and LambdaCallback ------------------------------------------------------
def test_csv_logger_writes_a_row_per_epoch_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    m = model()
    history = m.fit(X, Y, epochs=2, validation_split=0.25, callbacks=[C.CSVLogger(path)], verbose=0)
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert [float(r["loss"]) for r in rows] == history.history["loss"]
    m.fit(X, Y, epochs=3, initial_epoch=2, validation_split=0.25, callbacks=[C.CSVLogger(path, append=True)], verbose=0)
    with open(path, newline="") as file:
        lines = file.read().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch,") and lines[3].startswith("2,")
    m.fit(X, Y, epochs=1, callbacks=[C.CSVLogger(path, separator=";")], verbose=0)
    with open(path) as file:
        assert file.read().splitlines()[0] == "epoch;accuracy;learning_rate;loss"


def test_lambda_callback_calls_each_given_function():
    calls = []
    callback = C.LambdaCallback(
        on_train_begin=lambda logs: calls.append("begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch {epoch}"),
        on_train_batch_end=lambda batch, logs: calls.append(f"batch {batch} {logs['loss'] > 0}"),
        on_train_end=lambda logs: calls.append("end"),
    )
    model().fit(X, Y, epochs=2, batch_size=20, callbacks=[callback], verbose=0)
    assert calls == ["begin", "epoch 0", "batch 0 True", "batch 1 True", "epoch 1", "batch 0 True", "batch 1 True",
                     "end"]


# -- BackupAndRestore -------------------------------------------------------------------
SCRIPT = textwrap.dedent("""
    import os
    import signal
    import sys
    import numpy as np
    import framework as fw
    from framework import layers

    backup, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(4)
    x, y = rng.random((48, 6)).astype("float32"), rng.integers(0, 3, 48)
    fw.set_seed(21)
    model = fw.Sequential([layers.Affine(16), layers.ReLU(), layers.Affine(3)])
    model.compile(optimizer=fw.optimizers.Adam(0.01, amsgrad=True), loss="sparse_categorical_crossentropy")

    def maybe_die(batch, logs):
        # A real SIGKILL in the middle of epoch `kill_at` (counted from 0): no
        # handler runs, the partial epoch is lost, the backup of the last
        # completed epoch stays.
        if model.epochs_done == kill_at and batch == 2 and not os.path.exists(out + ".killed"):
            open(out + ".killed", "w").close()  # the rerun must not die again
            os.kill(os.getpid(), signal.SIGKILL)

    model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[
        # Halves the rate it finds at odd epochs: right only if the backup restored the rate.
        fw.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch % 2 else lr),
        fw.callbacks.BackupAndRestore(backup),
        fw.callbacks.LambdaCallback(on_train_batch_end=maybe_die),
    ])
    np.savez(out, *model.get_weights(), lr=model.optimizer.learning_rate, steps=model.optimizer.iterations)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on this platform")
def test_backup_and_restore_after_a_sigkill_ends_with_the_uninterrupted_weights(tmp_path):
    def run(backup, out, kill_at):
        return subprocess.run([sys.executable, "-c", SCRIPT, str(backup), str(out), str(kill_at)], env=child_env())

    assert run(tmp_path / "straight", tmp_path / "straight.npz", -1).returncode == 0
    killed = run(tmp_path / "backup", tmp_path / "resumed.npz", 3)
    assert killed.returncode == -signal.SIGKILL
    assert os.listdir(tmp_path / "backup") == ["backup.h5"]
    assert fw.load_model(tmp_path / "backup" / "backup.h5").epochs_done == 3
    # The same script again: it restores epoch 3's backup and finishes.
    assert run(tmp_path / "backup", tmp_path / "resumed.npz", 3).returncode == 0
    straight, resumed = np.load(tmp_path / "straight.npz"), np.load(tmp_path / "resumed.npz")
    assert sorted(straight.files) == sorted(resumed.files)
    for key in straight.files:
        assert np.array_equal(straight[key], resumed[key]), key
    assert straight["lr"] == 0.01 / 4 and straight["steps"] == 30
    assert not os.path.exists(tmp_path / "backup")  # removed when training ended normally


def test_backup_and_restore_refuses_a_backup_of_another_model(tmp_path):
    m = model()
    m.fit(X, Y, epochs=1, callbacks=[C.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)], verbose=0)
    assert os.path.exists(tmp_path / "b" / "backup.h5")
    other = fw.Sequential([layers.Affine(5), layers.SoftmaxWithLoss()])
    other.compile(optimizer="sgd")
    with pytest.raises(InvalidArgumentError, match="set_weights"):
        other.fit(X, Y, epochs=2, callbacks=[C.BackupAndRestore(tmp_path / "b")], verbose=0)
