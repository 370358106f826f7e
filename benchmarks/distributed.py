"""Data-parallel throughput: the 784-256-256-10 MLP on 1 and 2 processes, and the share spent communicating.

    python benchmarks/distributed.py [--samples 30000] [--batch-size 256] [--ranks 1 2]

Starts itself under mpiexec for each number of processes (the single-process
run needs no MPI). Each run trains one warm-up epoch and then `--epochs`
timed epochs with SGD on the same synthetic data and global batch size; the
communication share is the time spent inside the gradient allreduce and the
log sums over the time of the epoch, measured on rank 0. Each process is
given one BLAS thread, so N processes use N cores.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SIZES = (784, 256, 256, 10)


def worker(args):
    import framework as fw
    from framework import layers
    from framework.distributed import communicators

    fw.distributed.init()
    comm = fw.distributed.communicator()
    spent = [0.0]
    if isinstance(comm, communicators.MPICommunicator):
        allreduce = comm.allreduce

        def timed_allreduce(array):
            start = time.perf_counter()
            try:
                return allreduce(array)
            finally:
                spent[0] += time.perf_counter() - start

        comm.allreduce = timed_allreduce
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, SIZES[0]), dtype=np.float32)
    t = rng.integers(0, SIZES[-1], args.samples)
    fw.set_seed(0)
    model = fw.Sequential([layers.Affine(256), layers.ReLU(), layers.Affine(256), layers.ReLU(), layers.Affine(10),
                           layers.SoftmaxWithLoss()])
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=0.01))
    model.fit(x, t, batch_size=args.batch_size, epochs=1, verbose=0)  # warm-up
    comm.barrier()
    spent[0] = 0.0
    start = time.perf_counter()
    model.fit(x, t, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
    comm.barrier()
    seconds = time.perf_counter() - start
    if fw.distributed.rank() == 0:
        print(f"RESULT {fw.distributed.size()} {args.samples * args.epochs / seconds:.1f} {spent[0] / seconds:.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30_000)
    parser.add_argument("--batch-size", type=int, default=256, help="the global batch")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    mpiexec = Path(sys.executable).with_name("mpiexec")
    mpiexec = str(mpiexec) if mpiexec.exists() else shutil.which("mpiexec")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = [sys.executable, __file__, "--worker", "--samples", str(args.samples), "--batch-size",
               str(args.batch_size), "--epochs", str(args.epochs)]
    print(f"MLP {'-'.join(map(str, SIZES))}, SGD, float32, global batch {args.batch_size}, {args.samples} samples, "
          f"1 BLAS thread per process, {os.cpu_count()} cores")
    print(f"{'processes':>9} {'samples/s':>10} {'speed-up':>9} {'comm share':>11}")
    base = None
    for ranks in args.ranks:
        if ranks > 1 and mpiexec is None:
            print(f"{ranks:>9} skipped: no mpiexec (pip install -e '.[mpi]')")
            continue
        launch = command if ranks == 1 else [mpiexec, "-n", str(ranks), *command]
        out = subprocess.run(launch, env=env, capture_output=True, text=True, check=True).stdout
        _, size, throughput, share = next(line for line in out.splitlines() if line.startswith("RESULT")).split()
        throughput, share = float(throughput), float(share)
        base = base or throughput
        print(f"{size:>9} {throughput:>10.0f} {throughput / base:>9.2f} {share:>10.1%}")


if __name__ == "__main__":
    main()
