"""Every benchmark, one table: the framework against its floor and against PyTorch on the CPU.

    python benchmarks/run_all.py [--repeats 5] [--samples 60000] [--rows mlp-sgd-128 ...]

Each row trains one epoch (or predicts once) on the same synthetic data
(the SimpleConvNet of benchmarks/cnn.py, also with BatchNormalization, on
at most 6,000 images).
A repeat runs, in this order, a fresh process for the framework, which
times the row's floor (its matrix products alone, `workloads.floor_epoch`)
and then the framework on the same arrays, and a fresh process for the same
model in PyTorch (when it is installed: ``pip install -e '.[bench]'``).
Framework and PyTorch processes alternate, so both see the same machine
load; the table shows medians, and the ratio of each repeat. Also printed:
the BLAS library and its threads (threadpoolctl), whether the optimizers'
updates, ReLU, BatchNormalization, pooling, im2col and col2im ran in one compiled
pass (Numba, the ``fast`` extra), the time of ``import framework``, and the
peak memory one training epoch allocates (tracemalloc) beside what it
needs: two batches' activations and the parameter-sized buffers (weights,
gradients, optimizer slots).
"""

import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workloads  # noqa: E402  (next to this file)
from mlp import blas_info  # noqa: E402


# -- the worker processes ---------------------------------------------------
def framework_worker(row, samples, memory, default_floor=True):
    model, optimizer, batch_size, what = workloads.ROWS[row]
    x, t = workloads.data(workloads.row_samples(row, samples), model)
    weights = workloads.floor_weights(model)
    net = workloads.framework_model(model, optimizer)
    net.fit(x[:1024], t[:1024], epochs=1, verbose=0)  # builds, and the first allocations
    if workloads.is_cnn(model):  # a BatchNormalization adds no product
        floor_epoch = lambda x, batch_size, weights, what: workloads.cnn_floor_epoch(x, batch_size, weights)  # noqa: E731
    else:
        floor_epoch = workloads.floor_epoch
    floor_epoch(x[:4096], batch_size, weights, what)
    floor = floor_epoch(x, batch_size, weights, what) if default_floor else float("nan")
    from framework import threads

    chosen = threads.blas_threads()  # "auto" reads the machine's load: record what it chose
    ours = workloads.framework_epoch(net, x, t, batch_size, what)
    result = {"floor": floor, "ours": ours, "blas": blas_info(), "threads": chosen or "library's",
              "updates": _update_kind()}
    try:  # the same products with one BLAS thread, as the framework runs them
        from threadpoolctl import threadpool_limits
    except ImportError:
        result["floor1"] = float("nan")
    else:
        with threadpool_limits(limits=1, user_api="blas"):
            result["floor1"] = floor_epoch(x, batch_size, weights, what)
    if memory:
        tracemalloc.start()
        workloads.framework_epoch(net, x, t, batch_size, what)
        result["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        result["data"] = x.nbytes + t.nbytes
        result["budget"] = _memory_budget(net, batch_size, what)
    return result


def _update_kind():
    """How the NumPy backend ran the updates, ReLU, BatchNormalization, pooling, im2col and col2im: one pass (Numba) or NumPy lines."""
    from framework.backends import numpy_fused

    if not numpy_fused.enabled():
        return "NumPy lines (no Numba, or FRAMEWORK_NUMBA=off)"
    import numba

    return f"one pass, Numba {numba.__version__}"


def _memory_budget(net, batch_size, what):
    """Bytes of two batches' activations (every layer's output) plus params, grads and optimizer slots."""
    shapes = net._output_shapes((batch_size, *net.input_shape[1:]))
    activations = sum(4 * batch_size * math.prod(s[1:]) for s in shapes)
    params = sum(int(w.nbytes) for w in net.get_weights())
    slots = sum(len(table) for table in net.optimizer.state.values())
    buffers = params * (2 + slots / max(len(net._collect("params")), 1)) if what == "fit" else params
    return int(2 * activations + buffers)


def torch_worker(row, samples, threads, channels_last=False):
    import torch

    if threads:
        torch.set_num_threads(threads)
    model, optimizer, batch_size, what = workloads.ROWS[row]
    x, t = workloads.data(workloads.row_samples(row, samples), model)
    x, t = torch.from_numpy(x), torch.from_numpy(t)
    net_opt = workloads.torch_model(model, optimizer)
    if workloads.is_channels_last(model):  # PyTorch's channels_last memory format: (N, C, H, W) views of the same memory
        x = x.permute(0, 3, 1, 2)
        net_opt[0].to(memory_format=torch.channels_last)
    elif channels_last and workloads.is_cnn(model):  # the same images and model, laid out channels last
        x = x.contiguous(memory_format=torch.channels_last)
        net_opt[0].to(memory_format=torch.channels_last)
    workloads.torch_epoch(net_opt, x[:1024], t[:1024], 128, "fit")  # warm-up
    return {"torch": workloads.torch_epoch(net_opt, x, t, batch_size, what), "threads": torch.get_num_threads()}


# -- the driver -------------------------------------------------------------
def _run(kind, row, args, memory=False):
    command = [sys.executable, __file__, "--worker", kind, "--rows", row, "--samples", str(args.samples)]
    command += ["--memory"] if memory else []
    command += ["--torch-threads", str(args.torch_threads)] if args.torch_threads else []
    command += ["--torch-channels-last"] if args.torch_channels_last else []
    command += ["--no-default-floor"] if args.no_default_floor else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} worker for {row} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def import_time(repeats=5):
    """Median seconds of `import framework` in a fresh interpreter, and any heavy module it pulled in.

    Timed as an installed package runs: with its bytecode cache. Where
    PYTHONDONTWRITEBYTECODE is set (some CI images set it) every import would
    compile every module from source, which is not what a user waits for; the
    worker processes here drop it, and one untimed import writes the cache.
    """
    code = ("import sys, time; s = time.perf_counter(); import framework; d = time.perf_counter() - s; "
            "print(d, [m for m in ('cupy', 'h5py', 'sklearn', 'torch', 'numba') if m in sys.modules])")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", "import framework"], env=env, check=True)
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
            .stdout.split(maxsplit=1) for _ in range(repeats)]
    return statistics.median(float(r[0]) for r in runs), runs[0][1].strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--rows", nargs="+", default=list(workloads.ROWS), choices=list(workloads.ROWS))
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even where it is installed")
    parser.add_argument("--torch-threads", type=int, default=0, help="PyTorch's threads (default: its own choice)")
    parser.add_argument("--torch-channels-last", action="store_true",
                        help="PyTorch's CNNs in its channels_last memory format (its default is channels first; "
                             "on some CPUs the other is faster)")
    parser.add_argument("--no-default-floor", action="store_true",
                        help="time the floor with one BLAS thread only (on a loaded machine the library's threads crawl)")
    parser.add_argument("--worker", choices=["framework", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "framework":
        print(json.dumps(framework_worker(args.rows[0], args.samples, args.memory, not args.no_default_floor)))
        return
    if args.worker == "torch":
        print(json.dumps(torch_worker(args.rows[0], args.samples, args.torch_threads, args.torch_channels_last)))
        return

    with_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    seconds, heavy = import_time()
    print(f"import framework: {seconds:.3f} s (median of 5 fresh interpreters); heavy modules imported: {heavy}")
    print(f"{args.samples} samples, float32, {args.repeats} repeats, framework and PyTorch in alternating processes")
    header = f"{'row':<20} {'floor s':>8} {'floor1 s':>8} {'ours s':>8} {'/floor':>7} {'/floor1':>7} {'torch s':>8} {'/torch':>7}  peak MB (budget, data)"
    blas = None
    lines = []
    for row in args.rows:
        runs, torch_runs = [], []
        for repeat in range(args.repeats):
            runs.append(_run("framework", row, args, memory=repeat == 0))
            if with_torch:
                torch_runs.append(_run("torch", row, args))
        blas = blas or runs[0]["blas"]
        floor = statistics.median(r["floor"] for r in runs)
        ours = statistics.median(r["ours"] for r in runs)
        by_floor = [r["ours"] / r["floor"] for r in runs]
        floor1 = statistics.median(r["floor1"] for r in runs)
        by_floor1 = statistics.median(r["ours"] / r["floor1"] for r in runs)
        line = f"{row:<20} {floor:>8.3f} {floor1:>8.3f} {ours:>8.3f} {statistics.median(by_floor):>7.2f} {by_floor1:>7.2f}"
        if torch_runs:
            torch_s = statistics.median(r["torch"] for r in torch_runs)
            by_torch = [r["ours"] / s["torch"] for r, s in zip(runs, torch_runs)]
            line += f" {torch_s:>8.3f} {statistics.median(by_torch):>7.2f}"
        else:
            line += f" {'-':>8} {'-':>7}"
        mb = 2**20
        line += f"  {runs[0]['peak'] / mb:.1f} ({runs[0]['budget'] / mb:.1f}, {runs[0]['data'] / mb:.1f})"
        detail = "    each repeat: /floor " + " ".join(f"{v:.2f}" for v in by_floor)
        detail += "; framework's BLAS threads " + " ".join(str(r["threads"]) for r in runs)
        detail += "; /floor1 " + " ".join(f"{r['ours'] / r['floor1']:.2f}" for r in runs)
        if torch_runs:
            detail += "; /torch " + " ".join(f"{v:.2f}" for v in by_torch)
        lines.append((line, detail))
        print(line, file=sys.stderr, flush=True)  # progress; the table comes at the end
    print(f"BLAS: {blas}" + (f"; PyTorch threads: {torch_runs[0]['threads']}" if with_torch else "; PyTorch: not installed"))
    print(f"optimizer updates, ReLU, BatchNormalization, max and average pooling, im2col, col2im: {runs[0]['updates']}")
    print(header)
    for line, detail in lines:
        print(line)
        print(detail)


if __name__ == "__main__":
    main()
