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
step, and the ratio ours / PyTorch (host data). ``--lines`` also times ours
with the CuPy backend's kernels switched off (`KERNELS`, each `fused_`
method of the backend: the optimizer updates, ReLU, SoftmaxWithLoss's
picks, BatchNormalization, 2x2 max pooling, im2col and col2im), so that
each layer runs its own lines, alternately with the rest. ``--profile
ROW`` prints instead where one epoch of ours spends the host's time
(cProfile): on a GPU a small model's step is bound by the host's work per
kernel launch.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workloads  # noqa: E402  (next to this file)
from framework.backends.cupy_backend import CupyBackend  # noqa: E402  (imports no CuPy until made)

DEFAULT_ROWS = ("mlp-sgd-128", "mlp-sgd-512", "mlp-adam-128", "mlp-bn-dropout-128", "predict-1024",
                "simple-conv-net-100", "simple-conv-net-bn-100")


# The CuPy backend's methods that run a kernel in place of a layer's or optimizer's
# lines (every fused_ method it defines), and what each returns to decline (then the lines run).
KERNELS = {name: False if name == "fused_update" else None for name in vars(CupyBackend) if name.startswith("fused_")}


def ours(row, x, t, kernels=True):
    import framework as fw

    model, optimizer, batch_size, what = workloads.ROWS[row]
    backend = fw.set_backend("cupy")

    def epoch_of(x, t):
        if not kernels:  # on the instance, for this epoch only
            for name, declined in KERNELS.items():
                setattr(backend, name, lambda *args, declined=declined, **options: declined)
        try:
            seconds = workloads.framework_epoch(net, x, t, batch_size, what)
            start = time.perf_counter()
            backend.synchronize()
            return seconds + time.perf_counter() - start
        finally:
            for name in KERNELS:
                vars(backend).pop(name, None)

    net = workloads.framework_model(model, optimizer)
    epoch_of(x[:4096], t[:4096])  # builds, compiles CuPy's kernels
    return lambda: epoch_of(x, t)


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
    parser.add_argument("--lines", action="store_true", help="also time ours with the kernels switched off")
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
    lines = f" {'lines s':>8} {'ours/lines':>10}" if args.lines else ""
    print(f"{'row':30} {'ours s':>8} {'torch s':>8} {'on dev':>8} {'ours/torch':>10} {'ours us/step':>12}{lines}")
    for row in args.rows:
        model, _, batch_size, _ = workloads.ROWS[row]
        x, t = workloads.data(workloads.row_samples(row, args.samples), model)
        sides = {"ours": ours(row, x, t), "torch": theirs(row, x, t, False), "device": theirs(row, x, t, True)}
        if args.lines:
            sides["lines"] = ours(row, x, t, kernels=False)
        times = {name: [] for name in sides}
        for _ in range(args.repeats):
            for name, epoch in sides.items():
                times[name].append(epoch())
        med = {name: statistics.median(values) for name, values in times.items()}
        steps = -(-len(x) // batch_size)
        print(f"{row:30} {med['ours']:8.3f} {med['torch']:8.3f} {med['device']:8.3f} "
              f"{med['ours'] / med['torch']:10.2f} {1e6 * med['ours'] / steps:12.0f}"
              + (f" {med['lines']:8.3f} {med['ours'] / med['lines']:10.2f}" if args.lines else ""), flush=True)


if __name__ == "__main__":
    main()
