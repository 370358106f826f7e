"""fit / evaluate / predict on data read batch by batch: memmaps, HDF5 datasets, Sequences, generators.

The reference is always the plain array path: the same batches must give the
same weights and the same numbers.
"""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError


def make_data(n=240, features=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return x, y


def make_model():
    fw.set_seed(7)
    model = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(3), layers.SoftmaxWithLoss()])
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=0.01), metrics=["accuracy"])
    model.build((None, 6))  # the weights drawn now, from seed 7
    model.shuffle_seed = 99  # the same epoch orders for every model made here
    return model


def assert_same_weights(a, b, rtol=1e-5):
    for left, right in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(left, right, rtol=rtol, atol=1e-6)


class ArraySequence(fw.data.Sequence):
    """Batches of in-memory arrays; logs each index asked for and each epoch's end."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.asked, self.epochs_ended = [], 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        self.asked.append(i)
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


def batches_forever(x, y, batch_size, log=None):
    while True:
        for start in range(0, len(x), batch_size):
            if log is not None:
                log.append(start)
            yield x[start : start + batch_size], y[start : start + batch_size]


@pytest.fixture
def on_disk(tmp_path):
    """(x, y) as uint8 pixels: in memory, in a memmap, and in an HDF5 file."""
    import h5py

    x, y = make_data()
    pixels = np.clip(x * 40 + 128, 0, 255).astype(np.uint8)
    memmap = np.memmap(tmp_path / "x.u8", dtype=np.uint8, mode="w+", shape=pixels.shape)
    memmap[:] = pixels
    memmap.flush()
    with h5py.File(tmp_path / "data.h5", "w") as file:
        file["x"], file["y"] = pixels, y
    file = h5py.File(tmp_path / "data.h5", "r")
    yield {"array": (pixels, y), "memmap": (np.memmap(tmp_path / "x.u8", np.uint8, "r", shape=pixels.shape), y),
           "h5py": (file["x"], file["y"])}
    file.close()


@pytest.mark.parametrize("kind", ["memmap", "h5py"])
def test_arrays_on_disk_train_as_the_same_arrays_in_memory(on_disk, kind, backend):
    reference, model = make_model(), make_model()
    expected = reference.fit(*on_disk["array"], epochs=2, batch_size=32, validation_split=0.25, verbose=0)
    history = model.fit(*on_disk[kind], epochs=2, batch_size=32, validation_split=0.25, verbose=0)
    assert_same_weights(model, reference)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(history.history[key], expected.history[key], rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(*on_disk[kind]), reference.evaluate(*on_disk["array"]), rtol=1e-5)
    np.testing.assert_allclose(model.predict(on_disk[kind][0]), reference.predict(on_disk["array"][0]), rtol=1e-5)


def test_disk_batches_are_converted_to_the_float_policy_one_batch_at_a_time(on_disk):
    from framework.training.loop import _preparer

    source = fw.data.adapt(*on_disk["h5py"], 50, _preparer(make_model()))
    sizes = []
    for x, y in source.batches(fw.data.epoch_order(0, 0, source.size)):
        assert x.dtype == np.float32 and y.dtype == np.int64
        sizes.append(len(x))
    assert sizes == [50, 50, 50, 50, 40]


def test_a_shuffled_disk_batch_reads_its_indices_in_sorted_order(on_disk):
    from framework.training.loop import _preparer

    reads = []

    class Spy:  # an on-disk array that records each read
        def __init__(self, array):
            self.array, self.shape, self.dtype = array, array.shape, array.dtype

        def __len__(self):
            return len(self.array)

        def __getitem__(self, index):
            reads.append(np.array(index))
            return self.array[index]

    x, y = on_disk["array"]
    source = fw.data.adapters.DiskBatches(Spy(x), y, 64, _preparer(make_model()))
    order = fw.data.epoch_order(3, 0, len(x))
    batches = list(source.batches(order))
    for number, read in enumerate(reads):
        assert (np.diff(read) > 0).all()
        assert sorted(order[number * 64 : (number + 1) * 64]) == list(read)
    # the batch itself keeps the epoch's order
    np.testing.assert_array_equal(batches[0][0], x[order[:64]].astype(np.float32))


def test_a_sequence_trains_as_its_batches_do(backend):
    x, y = make_data()
    reference, model = make_model(), make_model()
    reference.fit(x, y, epochs=2, batch_size=40, shuffle=False, verbose=0)
    sequence = ArraySequence(x, y, 40)
    history = model.fit(sequence, epochs=2, shuffle=False, verbose=0)
    assert_same_weights(model, reference)
    assert sequence.epochs_ended == 2
    assert len(history.history["loss"]) == 2
    np.testing.assert_allclose(model.evaluate(ArraySequence(x, y, 40)), reference.evaluate(x, y), rtol=1e-5)
    np.testing.assert_allclose(model.predict(ArraySequence(x, y, 40)), reference.predict(x), rtol=1e-5)


def test_a_shuffled_sequence_visits_every_batch_once_per_epoch_in_a_seeded_order():
    x, y = make_data()
    sequence = ArraySequence(x, y, 40)
    model = make_model()
    model.fit(sequence, epochs=3, verbose=0)
    asked = sequence.asked[1:]  # the first index was a look at batch 0's shape
    epochs = [asked[i * 6 : (i + 1) * 6] for i in range(3)]
    for epoch, order in enumerate(epochs):
        assert sorted(order) == list(range(6))
        assert order == list(fw.data.epoch_order(model.shuffle_seed, epoch, 6))
    assert epochs[0] != epochs[1]


def test_a_generator_with_steps_per_epoch_continues_across_epochs(backend):
    x, y = make_data()
    reference, model = make_model(), make_model()
    reference.fit(x, y, epochs=2, batch_size=40, shuffle=False, verbose=0)
    log = []
    model.fit(batches_forever(x, y, 40, log), steps_per_epoch=3, epochs=4, verbose=0)
    # 4 epochs of 3 batches = the 6 batches twice, in order (plus one batch read ahead at most)
    assert log[:12] == [0, 40, 80, 120, 160, 200] * 2
    assert_same_weights(model, reference)
    generator = batches_forever(x, y, 40)
    np.testing.assert_allclose(model.evaluate(generator, steps=6), reference.evaluate(x, y), rtol=1e-5)


def test_an_iterable_of_batches_restarts_each_epoch_and_evaluate_runs_to_its_end():
    x, y = make_data()
    batches = [(x[i : i + 40], y[i : i + 40]) for i in range(0, len(x), 40)]

    class Batches:  # re-iterable, without a length: a plain iterable of batches
        def __iter__(self):
            return iter(batches)

    reference, model = make_model(), make_model()
    reference.fit(x, y, epochs=2, batch_size=40, shuffle=False, verbose=0)
    model.fit(Batches(), steps_per_epoch=6, epochs=2, verbose=0)
    assert_same_weights(model, reference)
    np.testing.assert_allclose(model.evaluate(Batches()), reference.evaluate(x, y), rtol=1e-5)
    np.testing.assert_allclose(model.predict(iter([b[0] for b in batches])), reference.predict(x), rtol=1e-5)


def test_a_generator_that_runs_out_stops_training_with_a_warning():
    x, y = make_data()
    finite = ((x[i : i + 40], y[i : i + 40]) for i in range(0, len(x), 40))
    model = make_model()
    with pytest.warns(UserWarning, match=r"ran out of data after 2 batches.*steps_per_epoch=4"):
        history = model.fit(finite, steps_per_epoch=4, epochs=5, verbose=0)
    assert len(history.history["loss"]) == 2  # 4 batches, then 2 and the data is gone


def test_validation_data_may_be_a_sequence_or_on_disk(on_disk):
    x, y = on_disk["array"]
    reference, model = make_model(), make_model()
    expected = reference.fit(x, y, epochs=1, validation_data=(x[:80], y[:80]), verbose=0)
    history = model.fit(x, y, epochs=1, validation_data=ArraySequence(x[:80], y[:80], 16), verbose=0)
    np.testing.assert_allclose(history.history["val_loss"], expected.history["val_loss"], rtol=1e-5)
    history = model.fit(x, y, epochs=1, validation_data=on_disk["h5py"], verbose=0)
    np.testing.assert_allclose(history.history["val_loss"], [model.evaluate(x, y)[0]], rtol=1e-5)


class Reshaping(ArraySequence):
    def __getitem__(self, i):
        x, y = super().__getitem__(i)
        return (x[:, :-1], y) if i == 2 else (x, y)


class Unequal(ArraySequence):
    def __getitem__(self, i):
        x, y = super().__getitem__(i)
        return (x, y[:-1]) if i == 1 else (x, y)


@pytest.mark.parametrize(
    "make_call, match",
    [
        (lambda m, x, y: m.fit(batches_forever(x, y, 40)),
         r"x is a generator of batches, which has no length: pass steps_per_epoch"),
        (lambda m, x, y: m.fit(Reshaping(x, y, 40), shuffle=False),
         r"batch 2 of the Sequence: x has feature shape \(5,\) but the earlier batches had \(6,\)"),
        (lambda m, x, y: m.fit(Unequal(x, y, 40), shuffle=False),
         r"batch 1 of the Sequence: x has 40 samples but y has 39; a batch's x and y need the same number"),
        (lambda m, x, y: m.fit(((x[:5], y[:4]) for _ in range(3)), steps_per_epoch=3),
         r"batch 0 of x: x has 5 samples but y has 4"),
        (lambda m, x, y: m.fit(batches_forever(x, y, 40), steps_per_epoch=3, validation_split=0.2),
         r"validation_split cannot split a generator"),
        (lambda m, x, y: m.fit(ArraySequence(x, y, 40), validation_split=0.2),
         r"validation_split cannot split a Sequence"),
        (lambda m, x, y: m.fit(ArraySequence(x, y, 40), y),
         r"y must be None when x is a ArraySequence"),
        (lambda m, x, y: m.fit(iter([x[:4]] * 3), steps_per_epoch=3),
         r"batch 0 of x must be a tuple \(x, y\), got ndarray"),
        (lambda m, x, y: m.fit(batches_forever(x, y, 40), steps_per_epoch=0),
         r"steps_per_epoch must be a positive integer, got steps_per_epoch=0"),
        (lambda m, x, y: m.fit(iter([])), r"steps_per_epoch"),
        (lambda m, x, y: m.fit(iter([]), steps_per_epoch=2), r"yielded no batches"),
        (lambda m, x, y: m.fit(batches_forever(x, y, 40), steps_per_epoch=3, sampling="with_replacement"),
         r"sampling='with_replacement' draws samples by index; x, a generator, has none to draw"),
        (lambda m, x, y: m.fit(x, y, validation_data=iter([(x, y)])),
         r"validation_data must be a tuple \(x_val, y_val\) or a fw.data.Sequence, got list_iterator"),
    ],
)
def test_bad_streams_get_framework_errors(make_call, match):
    x, y = make_data()
    model = make_model()
    with pytest.raises(InvalidArgumentError, match=match):
        make_call(model, x, y)


def test_sampling_with_replacement_reads_repeated_indices_from_disk(on_disk):
    reference, model = make_model(), make_model()
    reference.fit(*on_disk["array"], epochs=2, batch_size=32, sampling="with_replacement", verbose=0)
    model.fit(*on_disk["h5py"], epochs=2, batch_size=32, sampling="with_replacement", verbose=0)
    assert_same_weights(model, reference)
