"""Every optimizer resumes exactly: two epochs, save, two more in a fresh process == four epochs straight."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import framework as fw
from framework import layers

from .test_checkpoint_resume import child_env

rng = np.random.default_rng(5)
X = rng.random((60, 5)).astype("float32")
Y = rng.integers(0, 3, 60)

OPTIMIZERS = {
    "nesterov+clipnorm": lambda: fw.optimizers.Nesterov(0.05, clipnorm=0.5),
    "adagrad": lambda: fw.optimizers.AdaGrad(0.05),
    "rmsprop": lambda: fw.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "amsgrad": lambda: fw.optimizers.Adam(0.01, amsgrad=True),
    "adamw": lambda: fw.optimizers.AdamW(0.01, global_clipnorm=1.0),
    "nadam": lambda: fw.optimizers.Nadam(0.01),
    "sgd+cosine": lambda: fw.optimizers.SGD(
        fw.schedules.CosineDecay(0.01, 20, warmup_target=0.1, warmup_steps=5), momentum=0.9, weight_decay=0.01),
}

RESUME = textwrap.dedent("""
    import sys
    import numpy as np
    import framework as fw
    source, target, x, y, sampling = sys.argv[1:]
    model = fw.load_model(source)
    model.fit(np.load(x), np.load(y), batch_size=8, verbose=0, initial_epoch=2, epochs=4, sampling=sampling)
    model.save(target)
""")


def fresh(make):
    fw.set_seed(11)
    model = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(3)])
    model.compile(optimizer=make(), loss="sparse_categorical_crossentropy")
    return model


# Sampling reaches the optimizer only through the data order: two optimizers suffice for it.
CASES = [(name, "without_replacement") for name in OPTIMIZERS] + [
    ("amsgrad", "with_replacement"), ("sgd+cosine", "with_replacement")]


@pytest.mark.parametrize("name, sampling", CASES)
def test_resume_in_a_new_process_is_bit_for_bit(name, sampling, tmp_path):
    fit = {"batch_size": 8, "verbose": 0, "sampling": sampling}
    straight = fresh(OPTIMIZERS[name])
    straight.fit(X, Y, epochs=4, **fit)
    halfway = fresh(OPTIMIZERS[name])
    halfway.fit(X, Y, epochs=2, **fit)
    halfway.save(tmp_path / "half.h5")
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    files = [str(tmp_path / n) for n in ("half.h5", "full.h5", "x.npy", "y.npy")]
    subprocess.run([sys.executable, "-c", RESUME, *files, sampling], check=True, env=child_env())
    resumed = fw.load_model(tmp_path / "full.h5")
    assert not np.array_equal(halfway.get_weights()[0], straight.get_weights()[0])
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 32
    assert resumed.optimizer.get_config() == straight.optimizer.get_config()
    ours, theirs = resumed.optimizer.get_state()["slots"], straight.optimizer.get_state()["slots"]
    assert ours.keys() == theirs.keys()
    for slot in theirs:
        for key, value in theirs[slot].items():
            assert value.dtype == np.float32 and np.array_equal(ours[slot][key], value)
