"""One epoch of a 784-256-256-10 ReLU MLP (float32, SGD) against the floor.

The floor is the same 8 matrix products per batch done alone in NumPy
(forward ``x @ W`` for 3 layers; backward ``dout @ W.T`` for the 2 layers
whose dx is used and ``x.T @ dout`` for all 3): a NumPy framework cannot beat
it. Printed: seconds per epoch (median of alternating runs) and the ratio
ours / floor. Target: at most 1.6 at batch 128.

    python benchmarks/mlp.py [--repeats 3] [--samples 60000]
"""

import argparse
import statistics
import time

import numpy as np

import framework as fw
from framework import layers

SIZES = (784, 256, 256, 10)


def floor_epoch(x, t, batch_size, weights):
    """The matrix products of one epoch, nothing else."""
    n = len(x)
    W1, W2, W3 = weights
    start = time.perf_counter()
    for i in range(0, n, batch_size):
        xb = x[i : i + batch_size]
        h1 = xb @ W1
        h2 = h1 @ W2
        out = h2 @ W3
        d2 = out @ W3.T
        d1 = d2 @ W2.T
        _ = h2.T @ out, h1.T @ d2, xb.T @ d1
    return time.perf_counter() - start


def framework_epoch(model, x, t, batch_size):
    start = time.perf_counter()
    model.fit(x, t, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)
    return time.perf_counter() - start


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl)"
    return ", ".join(
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} threads={i.get('num_threads')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd",
                        help="the floor has no optimizer step either way: adam shows what its update costs")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((args.samples, SIZES[0]), dtype=np.float32)
    t = rng.integers(0, SIZES[-1], args.samples)
    weights = [rng.standard_normal((a, b)).astype(np.float32) * 0.05 for a, b in zip(SIZES, SIZES[1:])]
    fw.set_seed(0)
    model = fw.Sequential(
        [layers.Affine(256), layers.ReLU(), layers.Affine(256), layers.ReLU(), layers.Affine(10), layers.SoftmaxWithLoss()]
    )
    optimizer = fw.optimizers.SGD(learning_rate=0.01) if args.optimizer == "sgd" else fw.optimizers.Adam(1e-3)
    model.compile(optimizer=optimizer)
    model.fit(x[:1024], t[:1024], epochs=1, verbose=0)  # warm-up: build, first allocations

    print(f"BLAS: {blas_info()}")
    print(f"MLP {'-'.join(map(str, SIZES))}, float32, {type(optimizer).__name__}, {args.samples} samples, median of {args.repeats} alternating runs")
    print(f"{'batch':>6} {'floor s':>9} {'ours s':>9} {'ratio':>7}")
    for batch_size in args.batch_sizes:
        floors, ours = [], []
        for _ in range(args.repeats):  # alternate, so both see the same machine load
            floors.append(floor_epoch(x, t, batch_size, weights))
            ours.append(framework_epoch(model, x, t, batch_size))
        floor, mine = statistics.median(floors), statistics.median(ours)
        print(f"{batch_size:>6} {floor:>9.3f} {mine:>9.3f} {mine / floor:>7.2f}")
    dtypes = {str(w.dtype) for w in model.get_weights()}
    print(f"weight dtypes after training: {sorted(dtypes)}")


if __name__ == "__main__":
    main()
