"""One epoch of the book's SimpleConvNet (float32, SGD, batch 100) against PyTorch on the CPU.

The model: Convolution 30 filters 5x5, ReLU, 2x2 max pooling, Affine 100,
ReLU, Affine 10, softmax cross-entropy; one epoch over 6,000 synthetic
1x28x28 images. Printed: seconds per epoch (median of alternating runs, each
epoch in a fresh process, so that PyTorch's thread pool never competes with
NumPy's BLAS threads inside one process) and,
when PyTorch is installed (``pip install -e '.[bench]'``), PyTorch's seconds
for the same model in the same run and the ratio ours / PyTorch. Target: at
most 2. ``--profile`` adds where our time goes, layer by layer.

    python benchmarks/cnn.py [--repeats 5] [--samples 6000] [--threads 1] [--profile]
"""

import argparse
import contextlib
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

import framework as fw
from framework import layers
from mlp import blas_info  # next to this file

BATCH = 100


def simple_conv_net(batch_norm=False, data_format="channels_first"):
    """The book's SimpleConvNet; `batch_norm` adds a BatchNormalization of the 30 maps after the convolution.

    With ``data_format="channels_last"`` (Keras's default) it takes (N, 28, 28, 1) images.
    """
    channel_axis = 1 if data_format == "channels_first" else -1
    model = fw.Sequential([
        layers.Convolution(30, 5, data_format=data_format),
        *([layers.BatchNormalization(axis=channel_axis)] if batch_norm else []),
        layers.ReLU(), layers.MaxPooling2D(2, data_format=data_format),
        layers.Affine(100, weight_init="he_normal"), layers.ReLU(), layers.Affine(10, weight_init="he_normal"),
        layers.SoftmaxWithLoss(),
    ])
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=0.01))
    return model


def ours_epoch(model, x, t):
    start = time.perf_counter()
    model.fit(x, t, batch_size=BATCH, epochs=1, verbose=0, shuffle=True)
    return time.perf_counter() - start


def torch_model(torch, batch_norm=False):
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 30, 5), *([nn.BatchNorm2d(30)] if batch_norm else []), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10),
    )
    return model, torch.optim.SGD(model.parameters(), lr=0.01)


def torch_epoch(torch, model_and_optimizer, x, t):
    """The same epoch in PyTorch: shuffled batches of 100, forward, loss, backward, step."""
    model, optimizer = model_and_optimizer
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    order = torch.randperm(len(x))
    for i in range(0, len(x), BATCH):
        index = order[i:i + BATCH]
        optimizer.zero_grad()
        loss_fn(model(x[index]), t[index]).backward()
        optimizer.step()
    return time.perf_counter() - start


def one_epoch(side, samples):
    """Seconds for one epoch of `side` ("ours" or "torch") after a warm-up batch, in this process."""
    rng = np.random.default_rng(0)
    x = rng.random((samples, 1, 28, 28), dtype=np.float32)
    t = rng.integers(0, 10, samples)
    if side == "ours":
        fw.set_seed(0)
        model = simple_conv_net()
        model.fit(x[:BATCH], t[:BATCH], batch_size=BATCH, epochs=1, verbose=0)  # warm-up: build, first allocations
        return ours_epoch(model, x, t)
    import torch

    torch.manual_seed(0)
    tx, tt = torch.from_numpy(x), torch.from_numpy(t)
    model = torch_model(torch)
    torch_epoch(torch, model, tx[:BATCH], tt[:BATCH])
    return torch_epoch(torch, model, tx, tt)


def child(side, samples, threads):
    """Run `one_epoch` in a fresh process: PyTorch's thread pool must not share a process with NumPy's BLAS."""
    command = [sys.executable, __file__, "--child", side, "--samples", str(samples)]
    env = dict(os.environ)
    if threads:  # both sides get the same number of threads (BLAS for ours, OpenMP for PyTorch)
        env.update({name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    seconds, peak_mb = result.stdout.strip().splitlines()[-1].split()
    return float(seconds), float(peak_mb)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads for both sides (default: each library's own choice); 1 is steadier on a busy machine")
    parser.add_argument("--child", choices=["ours", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        seconds = one_epoch(args.child, args.samples)
        # peak resident memory of the whole process: imports, the data set and the epoch
        print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return

    has_torch = importlib.util.find_spec("torch") is not None and not args.no_torch
    print(f"BLAS: {blas_info()}")
    ours, theirs, memory = [], [], {"ours": [], "torch": []}
    for _ in range(args.repeats):  # alternate, so that noise from the shared machine hits both
        for side, times in (("ours", ours), ("torch", theirs)):
            if side == "ours" or has_torch:
                seconds, peak_mb = child(side, args.samples, args.threads)
                times.append(seconds)
                memory[side].append(peak_mb)
    print(f"SimpleConvNet, float32, SGD, batch {BATCH}, {args.samples} samples, {args.repeats} alternating runs, "
          f"each in a fresh process, threads={args.threads or 'default'}")
    print(f"ours    s/epoch: median {statistics.median(ours):.3f}  runs {' '.join(f'{s:.3f}' for s in ours)}"
          f"  peak RSS {statistics.median(memory['ours']):.0f} MB")
    if has_torch:
        print(f"PyTorch s/epoch: median {statistics.median(theirs):.3f}  runs {' '.join(f'{s:.3f}' for s in theirs)}"
              f"  peak RSS {statistics.median(memory['torch']):.0f} MB")
        ratios = [a / b for a, b in zip(ours, theirs)]
        print(f"ratio ours/PyTorch: median {statistics.median(ratios):.2f}  runs {' '.join(f'{r:.2f}' for r in ratios)}")
    else:
        print("PyTorch is not installed (or --no-torch): pip install -e '.[bench]' for the ratio")
    if args.profile:  # benchmarks/breakdown.py's clocks, around one more epoch of the same model
        import breakdown
        import workloads

        model, spent = breakdown.clocked_model("simple-conv-net-100")
        x, t = workloads.data(args.samples, "cnn")
        limit = contextlib.nullcontext()
        if args.threads:  # the same BLAS threads as the timed epochs
            from threadpoolctl import threadpool_limits

            limit = threadpool_limits(args.threads)
        with limit:
            seconds = workloads.framework_epoch(model, x, t, BATCH, "fit")
        spent["the rest (the loop, the batches)"] = seconds - sum(spent.values())
        print("where our time goes (s/epoch: each layer's forward and backward, the loss, the update):")
        for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
            print(f"  {name:32s} {seconds:.3f}")

if __name__ == "__main__":
    main()
