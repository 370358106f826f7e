"""One epoch on a data set several times larger than the memory the process may use.

The data lives in one HDF5 file; a child process limits itself with
`resource.setrlimit` (its imports plus 128 MiB), proves the limit bites (the
data cannot even be allocated whole), then trains one shuffled epoch on it:
the batches' indices are read in sorted order and converted to float32 one
batch at a time. The same bytes are also read through a ``numpy.memmap``.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

resource = pytest.importorskip("resource")  # POSIX only
h5py = pytest.importorskip("h5py")

HEADROOM = 128 * 2**20  # the child may use this much beyond what its imports took (~130 MB)
FEATURES = 4096
ROWS = 225 * 1024  # 900 MiB of uint8 on disk (as float32, 3.6 GiB): over 3 times the child's limit
BLOCK = 4096


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "data.h5"
    rng = np.random.default_rng(0)
    block = rng.integers(0, 256, size=(BLOCK, FEATURES), dtype=np.uint8)
    with h5py.File(path, "w") as file:
        x = file.create_dataset("x", shape=(ROWS, FEATURES), dtype=np.uint8)  # contiguous: memmap-able too
        y = file.create_dataset("y", shape=(ROWS,), dtype=np.int64)
        for start in range(0, ROWS, BLOCK):
            rows = np.roll(block, start // BLOCK, axis=1)[: ROWS - start]
            x[start : start + len(rows)] = rows
            y[start : start + len(rows)] = (rows[:, 0] > 127).astype(np.int64)
        offset = x.id.get_offset()
    return path, offset


CHILD = textwrap.dedent("""
    import os, resource, sys
    import numpy as np
    import h5py
    import framework as fw
    from framework import layers

    kind, path, offset, headroom = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    # The limit is for the data: no Numba, whose LLVM and first compile take ~130 MB and more
    os.environ["FRAMEWORK_NUMBA"] = "off"
    # RLIMIT_AS bounds all address space, so an HDF5 read (pread) is under it; a memmap maps the whole
    # file into the address space, so for it bound the heap (RLIMIT_DATA) instead
    which, field = (resource.RLIMIT_AS, "VmSize") if kind == "h5py" else (resource.RLIMIT_DATA, "VmData")
    used = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith(field))
    limit = used + headroom
    resource.setrlimit(which, (limit, limit))
    print("limit", limit, "file", os.path.getsize(path))

    file = h5py.File(path, "r")
    x = file["x"] if kind == "h5py" else np.memmap(path, np.uint8, "r", offset=offset, shape=file["x"].shape)
    y = file["y"][:]
    try:
        whole = np.empty(x.shape, np.float32)
        whole[:] = 1.0  # touch the pages
    except MemoryError:
        print("whole data set: MemoryError")
    fw.set_seed(0)
    model = fw.Sequential([layers.Affine(10), layers.ReLU(), layers.Affine(2), layers.SoftmaxWithLoss()])
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=1e-4), metrics=["accuracy"])
    history = model.fit(x, y, epochs=1, batch_size=1024, shuffle=True, verbose=0)
    peak = [line for line in open("/proc/self/status") if line.startswith(("VmHWM", "VmPeak"))]
    print("trained", len(y), "samples; loss", history.history["loss"][0], "accuracy", history.history["accuracy"][0])
    print("memory", " ".join(line.split()[0] + line.split()[1] for line in peak))
""")


@pytest.mark.parametrize("kind", ["h5py", "memmap"])
def test_one_epoch_on_data_over_three_times_the_memory_limit(big_file, kind):
    path, offset = big_file
    # one BLAS thread: each OpenBLAS thread reserves address space of its own
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), str(offset), str(HEADROOM)],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    limit, size = map(int, result.stdout.split("limit ")[1].split()[0::2][:2])
    assert size > 3 * limit, result.stdout
    assert "whole data set: MemoryError" in result.stdout  # the limit does bite
    assert f"trained {ROWS} samples; loss" in result.stdout
    loss = float(result.stdout.split("loss ")[1].split()[0])
    assert np.isfinite(loss)
    print(result.stdout)
