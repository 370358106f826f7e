"""The benchmark rows on a GPU: the framework on CuPy against PyTorch on CUDA.

    python benchmarks/gpu.py [--repeats 3] [--samples 60000] [--rows mlp-sgd-128 ...]

Run where CuPy, PyTorch and a CUDA device exist. Each row is one epoch (or
one ``predict``) of the same model and synthetic data as
``benchmarks/run_all.py``, after a warm-up epoch that compiles CuPy's
kernels. The framework gets NumPy arrays, as a user's ``fit`` does, and
copies each batch to the device; PyTorch is timed the same way (host
tensors, ``.to(device)`` per batch) and with the whole data set already on
the device. Both run in this one process, alternately; every timing ends
with the device synchronised. Printed: medians of the repeats, the time per
step, and the ratio ours / PyTorch (host data). ``--profile ROW`` prints
instead where one epoch of ours spends the host's time (cProfile): on a GPU
a small model's step is bound by the host's work per kernel launch.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workloads  # noqa: E402  (next to this file)

DEFAULT_ROWS = ("mlp-sgd-128", "mlp-sgd-512", "mlp-adam-128", "mlp-bn-dropout-128", "predict-1024",
                "simple-conv-net-100", "simple-conv-net-bn-100")


def ours(row, x, t):
    import framework as fw

    model, optimizer, batch_size, what = workloads.ROWS[row]
    fw.set_backend("cupy")
    net = workloads.framework_model(model, optimizer)
    workloads.framework_epoch(net, x[:4096], t[:4096], batch_size, what)  # builds, compiles CuPy's kernels

    def epoch():
        seconds = workloads.framework_epoch(net, x, t, batch_size, what)
        start = time.perf_counter()
        fw.get_backend().synchronize()
        return seconds + time.perf_counter() - start

    return epoch


def theirs(row, x, t, on_device):
    import torch

    model, optimizer, batch_size, what = workloads.ROWS[row]
    device = torch.device("cuda")
    net, opt = workloads.torch_model(model, optimizer)
    net.to(device)  # moves each parameter's data in place: the optimizer holds the same parameters
    x_all, t_all = torch.from_numpy(x), torch.from_numpy(t)
    if on_device:
        x_all, t_all = x_all.to(device), t_all.to(device)
    workloads.torch_epoch((net, opt), x_all[:4096], t_all[:4096], batch_size, what, device)  # warm-up
    return lambda: workloads.torch_epoch((net, opt), x_all, t_all, batch_size, what, device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--rows", nargs="+", default=DEFAULT_ROWS, choices=sorted(workloads.ROWS))
    parser.add_argument("--profile", choices=sorted(workloads.ROWS))
    args = parser.parse_args()
    import cupy
    import torch

    if args.profile:
        import cProfile
        import pstats

        x, t = workloads.data(workloads.row_samples(args.profile, args.samples), workloads.ROWS[args.profile][0])
        epoch = ours(args.profile, x, t)
        profiler = cProfile.Profile()
        profiler.runcall(epoch)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return

    print(f"CuPy {cupy.__version__}, PyTorch {torch.__version__}, {torch.cuda.get_device_name()}")
    print(f"{'row':30} {'ours s':>8} {'torch s':>8} {'on dev':>8} {'ours/torch':>10} {'ours us/step':>12}")
    for row in args.rows:
        model, _, batch_size, _ = workloads.ROWS[row]
        x, t = workloads.data(workloads.row_samples(row, args.samples), model)
        sides = {"ours": ours(row, x, t), "torch": theirs(row, x, t, False), "device": theirs(row, x, t, True)}
        times = {name: [] for name in sides}
        for _ in range(args.repeats):
            for name, epoch in sides.items():
                times[name].append(epoch())
        med = {name: statistics.median(values) for name, values in times.items()}
        steps = -(-len(x) // batch_size)
        print(f"{row:30} {med['ours']:8.3f} {med['torch']:8.3f} {med['device']:8.3f} "
              f"{med['ours'] / med['torch']:10.2f} {1e6 * med['ours'] / steps:12.0f}", flush=True)


if __name__ == "__main__":
    main()
