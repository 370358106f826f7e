"""One epoch of a 784-256-256-10 ReLU MLP (float32, SGD or Adam) against the floor.

The floor is the same 8 matrix products per batch done alone in NumPy
(forward ``x @ W`` for 3 layers; backward ``dout @ W.T`` for the 2 layers
whose dx is used and ``x.T @ dout`` for all 3): a NumPy framework cannot beat
it. Printed: seconds per epoch (median of alternating runs) and the ratio
ours / floor. Targets (issue 13): at most 1.4 at batch 32, 1.25 at 128 and 512.

    python benchmarks/mlp.py [--repeats 3] [--samples 60000]
"""

import argparse
import statistics

import workloads  # next to this file: the model, its data and its floor, as run_all.py runs them
from workloads import SIZES


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

    x, t = workloads.data(args.samples)
    weights = workloads.floor_weights()
    model = workloads.framework_model("mlp", args.optimizer)
    optimizer = model.optimizer
    model.fit(x[:1024], t[:1024], epochs=1, verbose=0)  # warm-up: build, first allocations

    print(f"BLAS: {blas_info()}")
    print(f"MLP {'-'.join(map(str, SIZES))}, float32, {type(optimizer).__name__}, {args.samples} samples, median of {args.repeats} alternating runs")
    print(f"{'batch':>6} {'floor s':>9} {'ours s':>9} {'ratio':>7}")
    for batch_size in args.batch_sizes:
        floors, ours = [], []
        for _ in range(args.repeats):  # alternate, so both see the same machine load
            floors.append(workloads.floor_epoch(x, batch_size, weights, "fit"))
            ours.append(workloads.framework_epoch(model, x, t, batch_size, "fit"))
        floor, mine = statistics.median(floors), statistics.median(ours)
        print(f"{batch_size:>6} {floor:>9.3f} {mine:>9.3f} {mine / floor:>7.2f}")
    dtypes = {str(w.dtype) for w in model.get_weights()}
    print(f"weight dtypes after training: {sorted(dtypes)}")


if __name__ == "__main__":
    main()
