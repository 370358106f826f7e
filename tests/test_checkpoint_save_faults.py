"""A save that fails (full disk, file-size limit, bad path, read-only file) raises `CheckpointError`,
leaves the previous file and its folder as they were, and never takes the process down."""

import errno
import os
import shlex
import shutil
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import framework as fw
from framework import layers, saving
from framework.errors import CheckpointError, InvalidArgumentError


def small_model():
    model = fw.Sequential([layers.Affine(3)])
    model.build((None, 2))
    return model


def big_model():
    fw.set_seed(5)
    model = fw.Sequential([layers.Affine(200), layers.ReLU(), layers.Affine(200)])  # ~1 MB of float32
    model.build((None, 1000))
    return model


def child_env():
    env = dict(os.environ, FRAMEWORK_BACKEND="numpy")
    env.pop("FRAMEWORK_PLUGINS", None)
    return env


def snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


# Saves a ~1 MB model over the small checkpoint argv[1]; prints the outcome.
SAVE_BIG = textwrap.dedent("""
    import resource, sys
    import framework as fw
    from framework import layers
    from framework.errors import CheckpointError

    fw.set_seed(5)
    model = fw.Sequential([layers.Affine(200), layers.ReLU(), layers.Affine(200)])
    model.build((None, 1000))
    if sys.argv[2] == "fsize":
        limit = 200_000  # larger than the old file, smaller than the new one
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        model.save(sys.argv[1])
    except CheckpointError as exc:
        print("CheckpointError:", exc)
""")


def test_a_file_size_limit_during_save_raises_checkpoint_error_and_changes_nothing(tmp_path):
    path = tmp_path / "run.h5"
    small_model().save(path)
    before = snapshot(tmp_path)
    # Python ignores SIGXFSZ, so the limit reaches the writer as EFBIG.
    result = subprocess.run([sys.executable, "-c", SAVE_BIG, str(path), "fsize"], capture_output=True, text=True,
                            env=child_env())
    assert result.returncode == 0, result.stderr  # no crash
    assert "CheckpointError:" in result.stdout and "run.h5" in result.stdout
    assert "too large" in result.stdout.lower() or "EFBIG" in result.stdout or "27" in result.stdout
    assert snapshot(tmp_path) == before  # old file intact, no temporary left


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare to mount a tiny tmpfs")
def test_a_full_disk_during_save_raises_checkpoint_error_and_changes_nothing(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "save_big.py"
    script.write_text(SAVE_BIG)
    small = tmp_path / "save_small.py"
    small.write_text("import sys\nimport framework as fw\nfrom framework import layers\n"
                     "m = fw.Sequential([layers.Affine(3)])\nm.build((None, 2))\nm.save(sys.argv[1])\n")
    python, run = shlex.quote(sys.executable), shlex.quote(str(disk / "run.h5"))
    listing = f"ls -a {shlex.quote(str(disk))}; md5sum {run}"
    # A 256 KiB tmpfs in a private mount namespace: a real ENOSPC, no root needed.
    shell = (f"mount -t tmpfs -o size=256k tmpfs {shlex.quote(str(disk))} || exit 77; "
             f"{python} {shlex.quote(str(small))} {run} && ({listing}) > {shlex.quote(str(tmp_path / 'before.txt'))} && "
             f"{python} {shlex.quote(str(script))} {run} nolimit && "
             f"({listing}) > {shlex.quote(str(tmp_path / 'after.txt'))}")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", shell], capture_output=True, text=True, env=child_env())
    if result.returncode == 77 or "unshare" in result.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    assert "CheckpointError:" in result.stdout and "No space left" in result.stdout
    assert (tmp_path / "before.txt").read_text() == (tmp_path / "after.txt").read_text()


def test_a_write_error_part_way_raises_checkpoint_error_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    small_model().save(path)
    before = snapshot(tmp_path)
    real_write, written = os.write, []

    def write_then_fail(fd, data):
        if written:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(len(data))
        return real_write(fd, bytes(data[:4096]))  # a short write first, as os.write may do

    monkeypatch.setattr(saving.os, "write", write_then_fail)
    with pytest.raises(CheckpointError, match="No space left"):
        big_model().save(path)
    monkeypatch.undo()
    assert snapshot(tmp_path) == before


def test_short_writes_still_write_every_byte(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(saving.os, "write", lambda fd, data: real_write(fd, bytes(data[:1000])))
    model = big_model()
    model.save(tmp_path / "run.h5")
    monkeypatch.undo()
    for a, b in zip(fw.load_model(tmp_path / "run.h5").get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_saving_over_a_file_keeps_its_permission_bits(tmp_path):
    path = tmp_path / "run.h5"
    small_model().save(path)
    os.chmod(path, 0o640)
    small_model().save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_a_new_file_gets_the_default_mode_of_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        small_model().save(tmp_path / "run.h5")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "run.h5").st_mode) == 0o640


def test_saving_to_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "run.h5"
    small_model().save(target)
    os.chmod(target, 0o600)
    link = tmp_path / "latest.h5"
    link.symlink_to(target)
    model = big_model()
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path / "real")) == ["run.h5"]
    for a, b in zip(fw.load_model(target).get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_file_that_access_says_is_not_writable_is_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    small_model().save(path)
    os.chmod(path, 0o444)
    before = snapshot(tmp_path)
    # os.access decides, as for cp: root may overwrite a read-only file, so the test asks access directly.
    real_access = os.access
    monkeypatch.setattr(saving.os, "access", lambda p, mode, **kw: False if os.fspath(p) == str(path) and
                        mode & os.W_OK else real_access(p, mode, **kw))
    with pytest.raises(CheckpointError, match="not writable"):
        big_model().save(path)
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write any file")
def test_a_read_only_file_is_not_overwritten(tmp_path):
    path = tmp_path / "run.h5"
    small_model().save(path)
    os.chmod(path, 0o444)
    with pytest.raises(CheckpointError, match="not writable"):
        small_model().save(path)


@pytest.mark.parametrize("method", ["save", "save_weights", "load_weights"])
@pytest.mark.parametrize("path, error", [("", InvalidArgumentError), ("run\0.h5", InvalidArgumentError),
                                         ("sub/", CheckpointError)])
def test_bad_paths_raise_framework_errors(tmp_path, monkeypatch, method, path, error):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    with pytest.raises(error, match="path|folder|separator"):
        getattr(small_model(), method)(path)
    assert os.listdir(tmp_path) == ["sub"] and os.listdir(tmp_path / "sub") == []


@pytest.mark.parametrize("path, error", [("", InvalidArgumentError), ("a\0b", InvalidArgumentError),
                                         ("sub/", CheckpointError)])
def test_bad_paths_to_load_model_raise_framework_errors(tmp_path, monkeypatch, path, error):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    with pytest.raises(error):
        fw.load_model(path)


def test_the_keras_h5_format_also_turns_a_write_error_into_checkpoint_error(tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    small_model().save(path)
    before = snapshot(tmp_path)

    def full_disk(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(saving.os, "write", full_disk)
    with pytest.raises(CheckpointError, match="No space left"):
        big_model().save(path, format="keras_h5")
    monkeypatch.undo()
    assert snapshot(tmp_path) == before
