"""The running loss and metrics stay on the device: read on the host once an epoch, not at every step.

On a GPU each read is a synchronisation. The strict test backend counts
reads of backend values on the host (``strict_backend.HOST_READS``).
"""

import numpy as np
import pytest

import framework as fw
from framework import layers


def data(n=64):
    rng = np.random.default_rng(0)
    return rng.random((n, 6), dtype=np.float32), rng.integers(0, 3, n)


def fit_counting_host_reads(samples, callbacks=(), metrics=()):
    """(reads of backend values on the host during a 2-epoch fit on the strict backend, its History)."""
    from . import strict_backend

    previous = fw.get_backend()
    fw.set_backend("strict")
    try:
        fw.set_seed(0)
        model = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(3), layers.SoftmaxWithLoss()])
        model.compile(optimizer=fw.optimizers.SGD(0.1), metrics=list(metrics))
        x = np.random.default_rng(0).random((samples, 5), dtype=np.float32)
        t = np.arange(samples) % 3
        model.build((None, 5))
        strict_backend.HOST_READS[0] = 0
        history = model.fit(x, t, batch_size=8, epochs=2, verbose=0, callbacks=list(callbacks))
        return strict_backend.HOST_READS[0], history.history
    finally:
        fw.set_backend(previous)


@pytest.mark.parametrize("metrics", [(), ("accuracy",)])
def test_training_reads_the_loss_on_the_host_once_an_epoch_not_at_every_step(metrics):
    # On a GPU each read is a synchronisation: the step count must not multiply them.
    few, _ = fit_counting_host_reads(80, metrics=metrics)  # 10 steps an epoch
    many, _ = fit_counting_host_reads(640, metrics=metrics)  # 80 steps an epoch
    assert few == many <= 2 * 2, (few, many)


def test_a_callback_reading_every_batch_gets_dicts_and_the_same_numbers():
    seen = []
    spy = fw.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(logs))
    reads, history = fit_counting_host_reads(80, callbacks=[spy], metrics=("accuracy",))
    _, lazy_history = fit_counting_host_reads(80, metrics=("accuracy",))
    assert reads >= 20  # it asked for every batch's values, so every batch was read
    assert all(type(logs) is dict for logs in seen) and len(seen) == 20
    assert seen[9]["loss"] == history["loss"][0] and seen[-1]["accuracy"] == history["accuracy"][1]
    assert history == lazy_history  # bit for bit: lazy reading adds the same numbers in the same order


def test_batch_logs_read_once_and_behave_as_a_dict():
    from framework.training.metric_tracker import BatchLogs

    calls = []
    logs = BatchLogs(lambda: calls.append(1) or {"loss": 0.5, "accuracy": 0.75})
    assert calls == []  # nothing read until someone looks
    assert dict(logs) == {"loss": 0.5, "accuracy": 0.75} and logs.copy() == dict(logs)
    assert "loss" in logs and logs.get("missing") is None and len(logs) == 2
    logs["extra"] = 1.0
    assert {**logs}["extra"] == 1.0 and calls == [1]


def test_the_device_keeps_at_most_read_every_batches_and_the_numbers_do_not_change(monkeypatch):
    from framework.training.metric_tracker import MetricTracker

    reads_all_at_once, history = fit_counting_host_reads(640, metrics=("accuracy",))  # 80 steps an epoch
    monkeypatch.setattr(MetricTracker, "READ_EVERY", 16)
    reads, chunked_history = fit_counting_host_reads(640, metrics=("accuracy",))
    assert reads == 2 * 5 and reads_all_at_once == 2  # a read every 16 of the 80 steps
    assert chunked_history == history


def test_a_model_checkpoint_saving_each_epoch_does_not_read_the_loss_at_every_step(tmp_path):
    few, _ = fit_counting_host_reads(80, callbacks=[fw.callbacks.ModelCheckpoint(str(tmp_path / "a.h5"))])
    many, _ = fit_counting_host_reads(640, callbacks=[fw.callbacks.ModelCheckpoint(str(tmp_path / "b.h5"))])
    assert few == many, (few, many)


def test_a_callback_may_read_batch_logs_lazily_and_sees_that_batchs_values():
    class Lazy(fw.callbacks.Callback):
        reads_batch_logs_lazily = True

        def __init__(self):
            super().__init__()
            self.losses = []

        def on_train_batch_end(self, batch, logs=None):
            if batch % 5 == 4:
                self.losses.append(logs["loss"])

    class Eager(Lazy):
        reads_batch_logs_lazily = False

    lazy, eager = Lazy(), Eager()
    fit_counting_host_reads(80, callbacks=[lazy])
    fit_counting_host_reads(80, callbacks=[eager])
    assert lazy.losses == eager.losses and len(lazy.losses) == 4


def test_a_loss_layer_returning_a_one_element_array_is_logged_as_its_value():
    class OneElementLoss(layers.SoftmaxWithLoss):
        def forward(self, x, t, sample_weight=None):
            return super().forward(x, t, sample_weight).reshape(1)

    def history(loss_layer):
        fw.set_seed(0)
        model = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(3), loss_layer])
        model.compile(optimizer=fw.optimizers.SGD(0.1))
        return model.fit(*data(96), batch_size=16, epochs=2, verbose=0).history

    assert history(OneElementLoss()) == history(layers.SoftmaxWithLoss())


def evaluate_counting_host_reads(samples, **evaluate_kwargs):
    """(host reads during `evaluate` on the strict backend at batch 8, its logs, the model, x, t)."""
    from . import strict_backend

    previous = fw.get_backend()
    fw.set_backend("strict")
    try:
        fw.set_seed(0)
        model = fw.Sequential([layers.Affine(8, kernel_regularizer=fw.regularizers.L2(0.01)), layers.ReLU(),
                               layers.Affine(3), layers.SoftmaxWithLoss()])
        model.compile(optimizer=fw.optimizers.SGD(0.1), metrics=["accuracy"])
        x = np.random.default_rng(1).random((samples, 5), dtype=np.float32)
        t = np.arange(samples) % 3
        model.build((None, 5))
        strict_backend.HOST_READS[0] = 0
        logs = model.evaluate(x, t, batch_size=8, return_dict=True, **evaluate_kwargs)
        reads = strict_backend.HOST_READS[0]
        # The reference: each batch's loss read on the host at once, plus the penalty, in float64.
        backend = fw.get_backend()
        penalty = float(model._layers[0].regularization_loss())
        total = 0.0
        for start in range(0, samples, 8):
            xb, tb = backend.asarray(x[start:start + 8]), backend.asarray(t[start:start + 8])
            loss = model._loss_layer.forward(model._forward(xb), tb)
            total += (float(loss) + penalty) * len(tb)
        return reads, logs, total / samples
    finally:
        fw.set_backend(previous)


def test_evaluate_reads_the_losses_on_the_host_at_once_with_the_same_numbers():
    few, logs, expected = evaluate_counting_host_reads(80)  # 10 batches
    many, _, _ = evaluate_counting_host_reads(640)  # 80 batches
    assert few == many <= 3, (few, many)  # the losses and the metric, at the end: not one read per batch
    assert logs["loss"] == expected  # bit for bit: the same float64 sums in the same order
    assert 0.0 < logs["accuracy"] <= 1.0
