"""Data-parallel training over MPI: N processes give the result of one process.

The multi-process cases start `tests/distributed_worker.py` under mpiexec
with 2 ranks and with 3 (uneven shards, and an empty shard for the last
batch of 53 samples at batch size 7... see `shard_bounds`). They are skipped,
with the line to install them, where mpi4py and an MPI are not installed.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import framework as fw
from framework import distributed
from framework.distributed import communicators as communicator_module
from framework.distributed.sharding import shard_bounds

WORKER = Path(__file__).with_name("distributed_worker.py")


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason="needs mpi4py and an MPI: pip install -e '.[mpi]'")


def env():
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("PMI_", "OMPI_", "PMIX_"))}
    environment["FRAMEWORK_BACKEND"] = "numpy"
    environment.pop("FRAMEWORK_PLUGINS", None)
    return environment


def run(mode, out, ranks=None, *args, timeout=120, check=True):
    command = [sys.executable, str(WORKER), mode, str(out), *args]
    if ranks is not None:
        command = [MPIEXEC, "-n", str(ranks), *command]
    result = subprocess.run(command, env=env(), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def arrays(path):
    with np.load(path) as f:
        return {key: f[key] for key in f.files}


# -- without MPI ----------------------------------------------------------------
def test_shards_cover_the_batch_and_differ_by_at_most_one():
    for n in range(0, 20):
        for size in range(1, 6):
            bounds = [shard_bounds(n, size, r) for r in range(size)]
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            lengths = [stop - start for start, stop in bounds]
            assert max(lengths) - min(lengths) <= 1


def test_a_plain_process_is_rank_0_of_1():
    assert not distributed.launched_by_mpi()
    distributed.init()
    assert (distributed.rank(), distributed.size(), distributed.is_initialized()) == (0, 1, True)


def test_an_mpi_launch_without_mpi4py_says_what_to_install(monkeypatch):
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # "not installed"
    assert distributed.launched_by_mpi()
    with pytest.raises(fw.DistributedError, match=r"mpi4py is not installed: pip install 'dlfs-framework\[mpi\]'"):
        communicator_module.MPICommunicator.create()


# -- under mpiexec ----------------------------------------------------------------
@needs_mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_n_processes_train_as_one_process_with_the_global_batch(tmp_path, ranks):
    single, multi = tmp_path / "single", tmp_path / "multi"
    single.mkdir(), multi.mkdir()
    run("fit", single)
    result = run("fit", multi, ranks)
    one = arrays(single / "rank-0.npz")
    for rank in range(ranks):
        many = arrays(multi / f"rank-{rank}.npz")
        for key in one:
            if key.startswith("arr_"):  # weights: one process's, to float64 round-off
                np.testing.assert_allclose(many[key], one[key], rtol=1e-6, atol=1e-9, err_msg=f"rank {rank} {key}")
        # Logs are the global batch's, on every rank; evaluate and predict are global too.
        np.testing.assert_allclose(many["loss"], one["loss"], rtol=1e-6)
        np.testing.assert_allclose(many["accuracy"], one["accuracy"], rtol=1e-6)
        np.testing.assert_allclose(many["evaluate"], one["evaluate"], rtol=1e-6)
        np.testing.assert_allclose(many["predict"], one["predict"], rtol=1e-6, atol=1e-9)
    # Only rank 0 prints its epoch lines.
    assert result.stdout.count("Epoch 1/3") == 1


@needs_mpi
def test_float32_training_matches_to_round_off(tmp_path):
    single, multi = tmp_path / "single", tmp_path / "multi"
    single.mkdir(), multi.mkdir()
    run("fit", single, None, "--floatx", "float32")
    run("fit", multi, 2, "--floatx", "float32")
    one, two = arrays(single / "rank-0.npz"), arrays(multi / "rank-0.npz")
    for key in (k for k in one if k.startswith("arr_")):
        assert two[key].dtype == np.float32
        np.testing.assert_allclose(two[key], one[key], rtol=1e-4, atol=1e-5)


@needs_mpi
def test_rank_0_saves_and_n_ranks_resume_exactly(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    straight.mkdir(), resumed.mkdir()
    run("fit", straight, 2, "--epochs", "4", "--floatx", "float32")
    run("save", resumed, 2, "--epochs", "2", "--floatx", "float32")
    assert sorted(p.name for p in resumed.iterdir()) == ["run-rank0.h5"]  # rank 1 wrote nothing
    run("resume", resumed, 2, "--epochs", "2", "--floatx", "float32")
    expected = arrays(straight / "rank-0.npz")
    for rank in range(2):
        got = arrays(resumed / f"resumed-rank-{rank}.npz")
        for key in got:
            np.testing.assert_array_equal(got[key], expected[key], err_msg=f"rank {rank} {key}")


@needs_mpi
def test_a_failing_rank_ends_the_whole_job_with_its_error(tmp_path):
    start = time.monotonic()
    result = run("crash", tmp_path, 2, timeout=90, check=False)
    assert result.returncode != 0
    assert "rank 1 fails on purpose" in result.stderr
    # The surviving rank would otherwise wait in its allreduce until the timeout.
    assert time.monotonic() - start < 90


@pytest.mark.skipif(sys.platform == "win32", reason="pipes and FIONREAD are POSIX")
def test_an_aborting_rank_waits_until_its_output_pipe_is_read(tmp_path):
    """The abort hook returns only once the launcher has read the pipe: MPICH drops what is left in it."""
    import threading

    read_fd, write_fd = os.pipe()
    stream = os.fdopen(write_fd, "w")
    text = "Traceback: rank 1 fails on purpose\n" * 100
    stream.write(text)  # still in the stream's buffer: flushed by the wait
    got = []

    def slow_reader():
        time.sleep(0.3)
        got.append(os.read(read_fd, 1 << 16))

    reader = threading.Thread(target=slow_reader)
    reader.start()
    start = time.monotonic()
    communicator_module._wait_until_forwarded(stream, timeout=10)
    waited = time.monotonic() - start
    reader.join()
    assert got and got[0] == text.encode()  # all of it was in the pipe, and all of it was read...
    assert waited >= 0.25  # ...before the wait ended
    stream.close()
    os.close(read_fd)
    # Nobody reads: the wait gives up after its timeout rather than hang the abort.
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "w") as unread:
        unread.write("x")
        start = time.monotonic()
        communicator_module._wait_until_forwarded(unread, timeout=0.2)
        assert 0.15 <= time.monotonic() - start < 5
    os.close(read_fd)
    # A file is no pipe: flushed, no wait.
    with open(tmp_path / "log.txt", "w") as log:
        log.write("line\n")
        communicator_module._wait_until_forwarded(log, timeout=10)
        assert (tmp_path / "log.txt").read_text() == "line\n"


@needs_mpi
def test_the_mpi_example_prints_what_one_process_prints(tmp_path):
    script = Path(__file__).parents[1] / "examples" / "train_digits_mpi.py"
    args = [sys.executable, str(script), "--epochs", "3"]
    one = subprocess.run(args, env=env(), capture_output=True, text=True, timeout=120, check=True)
    two = subprocess.run([MPIEXEC, "-n", "2", *args], env=env(), capture_output=True, text=True, timeout=120, check=True)
    last = one.stdout.strip().splitlines()[-1]
    assert last.startswith("test loss") and "test accuracy" in last
    # Every rank gets the same global evaluation (the ranks' lines may arrive
    # joined on one line: mpiexec forwards each rank's output as it comes)...
    pattern = r"test loss ([0-9.]+), test accuracy ([0-9.]+)"
    found = re.findall(pattern, two.stdout)
    assert len(found) == 2 and found[0] == found[1], two.stdout
    # ...equal to the single process's up to the round-off of summing in another order.
    np.testing.assert_allclose([float(v) for v in found[0]], [float(v) for v in re.findall(pattern, last)[0]],
                               atol=2e-4)
    assert two.stdout.count("Total params") == 1  # one summary per job


@needs_mpi
def test_batchnorm_moving_statistics_stay_identical_on_every_rank(tmp_path):
    run("batchnorm", tmp_path, 3)  # 53 samples at batch 7: uneven shards, an empty one at the end
    ranks = [arrays(tmp_path / f"bn-rank-{rank}.npz") for rank in range(3)]
    for other in ranks[1:]:
        for key in ranks[0]:
            np.testing.assert_array_equal(other[key], ranks[0][key], err_msg=key)
    # The moving statistics did move (they start at 0 and 1).
    assert np.abs(ranks[0]["moving_mean"]).max() > 1e-3


def _two_gpus_with_nccl():
    try:
        import cupy
        from cupy.cuda import nccl  # noqa: F401

        return cupy.cuda.runtime.getDeviceCount() >= 2
    except Exception:
        return False


@needs_mpi
@pytest.mark.gpu
@pytest.mark.skipif(not _two_gpus_with_nccl(), reason="needs CuPy with NCCL and a GPU per rank (2 GPUs)")
def test_cupy_ranks_reduce_on_the_device_and_train_as_one_process(tmp_path):
    single, multi = tmp_path / "single", tmp_path / "multi"
    single.mkdir(), multi.mkdir()
    gpu = dict(env(), FRAMEWORK_BACKEND="cupy")
    for command, out in (([sys.executable], single), ([MPIEXEC, "-n", "2", sys.executable], multi)):
        subprocess.run([*command, str(WORKER), "fit", str(out)], env=gpu, check=True, timeout=300)
    one, two = arrays(single / "rank-0.npz"), arrays(multi / "rank-1.npz")
    for key in (k for k in one if k.startswith("arr_")):
        np.testing.assert_allclose(two[key], one[key], rtol=1e-6, atol=1e-9)
