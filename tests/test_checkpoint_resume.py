"""Exact resume in a fresh process, and saves that survive a SIGKILL."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import CheckpointError

rng = np.random.default_rng(3)
X = rng.random((100, 5)).astype("float32")
Y = rng.integers(0, 3, 100)
FIT = {"batch_size": 16, "shuffle": True, "verbose": 0}


def child_env():
    env = dict(os.environ, FRAMEWORK_BACKEND="numpy")
    env.pop("FRAMEWORK_PLUGINS", None)
    return env


def fresh_model():
    fw.set_seed(7)
    model = fw.Sequential([layers.Affine(16), layers.ReLU(), layers.Affine(3)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


RESUME = textwrap.dedent("""
    import sys
    import numpy as np
    import framework as fw
    source, target, x, y = sys.argv[1:]
    model = fw.load_model(source)
    model.fit(np.load(x), np.load(y), batch_size=16, shuffle=True, verbose=0, initial_epoch=2, epochs=4)
    model.save(target)
""")


def resume_in_a_new_process(fresh_model, x, y, tmp_path):
    """(straight, halfway, resumed): 4 epochs in one go; 2 epochs, saved; that file trained to 4 in a fresh process.

    Every fit shuffles in batches of 16 (`FIT`), as `RESUME` does.
    """
    straight = fresh_model()
    straight.fit(x, y, epochs=4, **FIT)

    halfway = fresh_model()
    halfway.fit(x, y, epochs=2, **FIT)
    halfway.save(tmp_path / "half.h5")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    files = [str(tmp_path / name) for name in ("half.h5", "full.h5", "x.npy", "y.npy")]
    subprocess.run([sys.executable, "-c", RESUME, *files], check=True, env=child_env())
    return straight, halfway, fw.load_model(tmp_path / "full.h5")


def test_two_epochs_save_load_in_a_new_process_two_more_equals_four_epochs(tmp_path):
    straight, halfway, resumed = resume_in_a_new_process(fresh_model, X, Y, tmp_path)
    assert not np.array_equal(halfway.get_weights()[0], straight.get_weights()[0])  # the last two epochs did train
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 28
    for slot, table in straight.optimizer.get_state()["slots"].items():
        for key, value in table.items():
            assert np.array_equal(resumed.optimizer.get_state()["slots"][slot][key], value)
    assert resumed.epochs_done == 4


def test_resume_depends_on_the_saved_shuffle_seed(tmp_path):
    straight = fresh_model()
    straight.fit(X, Y, epochs=3, **FIT)
    halfway = fresh_model()
    halfway.fit(X, Y, epochs=2, **FIT)
    halfway.save(tmp_path / "half.h5")
    same, other = fw.load_model(tmp_path / "half.h5"), fw.load_model(tmp_path / "half.h5")
    other.shuffle_seed += 1  # what a checkpoint without the data order would resume with
    for model in (same, other):
        model.fit(X, Y, initial_epoch=2, epochs=3, **FIT)
    assert np.array_equal(same.get_weights()[0], straight.get_weights()[0])
    assert not np.array_equal(other.get_weights()[0], straight.get_weights()[0])


KILLED_WHILE_SAVING = textwrap.dedent("""
    import sys
    import framework as fw
    from framework import layers, saving

    fw.set_seed(99)
    model = fw.Sequential([layers.Affine(64), layers.ReLU(), layers.Affine(3)])
    model.build((None, 32))
    write_file = saving.write_file

    def pause_after_half_the_bytes(path, data):
        write_file(path, bytes(data)[: len(data) // 2])
        print("saving", flush=True)
        sys.stdin.read()  # waits here until the test kills this process

    saving.write_file = pause_after_half_the_bytes
    model.save(sys.argv[1])
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on this platform")
def test_sigkill_in_the_middle_of_a_save_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "run.h5"
    previous = fw.Sequential([layers.Affine(64), layers.ReLU(), layers.Affine(3)])
    previous.build((None, 32))
    previous.save(path)
    child = subprocess.Popen([sys.executable, "-c", KILLED_WHILE_SAVING, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        assert child.stdout.readline() == "saving\n"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdin.close()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    stale = [name for name in os.listdir(tmp_path) if name.startswith(f".run.h5.tmp-{child.pid}-")]
    assert len(stale) == 1  # the killed save's half-written file...
    with pytest.raises(CheckpointError):
        fw.load_model(tmp_path / stale[0])  # ...which is not a checkpoint
    loaded = fw.load_model(path)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), previous.get_weights()))
    previous.save(path)  # the next save cleans the dead process's file
    assert os.listdir(tmp_path) == ["run.h5"]
