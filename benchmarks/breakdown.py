"""Where a benchmark row's epoch goes, per step: each layer, the loss, the update, the rest; beside the floor.

    python benchmarks/breakdown.py [ROW] [--repeats 3] [--samples 60000]

ROW is one of `workloads.ROWS` (default ``mlp-sgd-128``). A repeat times
the row's floor (its matrix products alone, as `run_all.py` does) and then
one epoch of the framework, ``fit`` or ``predict`` as the row says, with a
clock around every layer's forward and backward, the loss layer and the
optimizer's update (each method wrapped on its instance; the model is
otherwise as `run_all.py` runs it). "the rest" is the epoch less what the
clocks saw: the shuffled batches, the loop, the callbacks, the checks on
the data. The shuffled batches are also timed alone, as an epoch of
``x.take(order)`` with nothing else. Printed: medians over the repeats, in
microseconds per step, and each part's share of the floor.

On another backend (``FRAMEWORK_BACKEND=cupy``) each clock waits for the
device's queued work before it reads the time, so a part's time includes
its device work; the floor is NumPy's, so there the shares are of the
epoch instead.

A clock costs about half a microsecond (measured on NumPy), so the parts
add up to a little more than an epoch without them; compare the parts
with each other and with the floor, not with `run_all.py`'s epochs.
"""

import argparse
import collections
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads  # noqa: E402  (next to this file)

from framework.backend import get_backend  # noqa: E402


def clock(obj, method, label, spent, synchronize):
    """Wrap ``obj.method`` (on the instance) so that its seconds add up in ``spent[label]``.

    `synchronize()` runs before each reading of the time: the backend's, which
    waits for queued device work (a no-op on NumPy).
    """
    inner = getattr(obj, method)

    def timed(*args, **kwargs):
        synchronize()
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            synchronize()
            spent[label] += time.perf_counter() - start

    setattr(obj, method, timed)


def clocked_model(row):
    """The row's model, built and warmed up as `run_all.py` does, with its clocks' totals (seconds)."""
    model, optimizer, batch_size, what = workloads.ROWS[row]
    x, t = workloads.data(1024, model)
    net = workloads.framework_model(model, optimizer)
    net.fit(x, t, epochs=1, verbose=0)  # builds, and the first allocations
    if what == "predict":
        net.predict(x, batch_size=batch_size)
    spent = collections.defaultdict(float)
    sync = get_backend().synchronize
    *body, loss_layer = net.layers
    for i, layer in enumerate(body):
        clock(layer, "forward", f"{i} {type(layer).__name__} forward", spent, sync)
        if what == "fit":
            clock(layer, "backward", f"{i} {type(layer).__name__} backward", spent, sync)
    if what == "fit":
        clock(loss_layer, "forward", f"{type(loss_layer).__name__} forward", spent, sync)
        clock(loss_layer, "backward", f"{type(loss_layer).__name__} backward", spent, sync)
        clock(net.optimizer, "apply", f"update ({type(net.optimizer).__name__})", spent, sync)
    else:
        clock(loss_layer, "predict", f"{type(loss_layer).__name__} predict", spent, sync)
    return net, spent


def shuffled_batches_epoch(x, batch_size):
    """Seconds of one epoch's shuffled batches alone: the order, then ``take`` per batch, as `fit` makes them."""
    from framework import data

    start = time.perf_counter()
    order = data.epoch_order(0, 0, len(x))
    for i in range(0, len(x), batch_size):
        x.take(order[i : i + batch_size], axis=0)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("row", nargs="?", default="mlp-sgd-128", choices=list(workloads.ROWS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=60_000)
    args = parser.parse_args()
    model, _, batch_size, what = workloads.ROWS[args.row]
    x, t = workloads.data(workloads.row_samples(args.row, args.samples), model)
    steps = -(-len(x) // batch_size)
    weights = workloads.floor_weights(model)
    if workloads.is_cnn(model):
        floor_epoch = lambda: workloads.cnn_floor_epoch(x, batch_size, weights)  # noqa: E731
    else:
        floor_epoch = lambda: workloads.floor_epoch(x, batch_size, weights, what)  # noqa: E731
    net, spent = clocked_model(args.row)
    on_numpy = get_backend().name == "numpy"  # elsewhere NumPy's floor is no floor
    if on_numpy:
        floor_epoch()  # warm-up
    floors, epochs, parts, batches = [], [], collections.defaultdict(list), []
    for _ in range(args.repeats):
        if on_numpy:
            floors.append(floor_epoch())
        spent.clear()
        epochs.append(workloads.framework_epoch(net, x, t, batch_size, what))
        for label, seconds in spent.items():
            parts[label].append(seconds)
        parts["the rest"].append(epochs[-1] - sum(spent.values()))
        if what == "fit":
            batches.append(shuffled_batches_epoch(x, batch_size))

    epoch = statistics.median(epochs)
    base, per = (statistics.median(floors), "/floor") if floors else (epoch, "/epoch")
    print(f"{args.row} on {get_backend().name}: {len(x)} samples, {steps} steps of {batch_size}, "
          f"medians over {args.repeats} repeat(s)")
    print(f"{'':<34} {'us/step':>9} {per:>7}")
    rows = [(label, statistics.median(seconds)) for label, seconds in parts.items()]
    if batches:
        rows.append(("  shuffled batches alone", statistics.median(batches)))
    rows.append(("epoch (clocked)", epoch))
    if floors:
        rows.append(("floor (products alone)", base))
    for label, seconds in rows:
        print(f"{label:<34} {seconds / steps * 1e6:>9.1f} {seconds / base:>7.3f}")

if __name__ == "__main__":
    main()
