"""Run by tests/test_distributed.py, under mpiexec or as one plain process.

    python tests/distributed_worker.py MODE OUT_DIR [options]

Each mode trains or evaluates a small model the same way whatever the number
of processes, and rank 0 writes what it found to OUT_DIR/<mode>.npz (every
rank writes rank-<r>.npz where the test needs all ranks' views).
"""

import argparse
import os
import sys

import numpy as np

import framework as fw
from framework import layers


def data(n=53, features=6, classes=3):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, features))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return x, np.minimum(y, classes - 1)


def model(optimizer="adam"):
    model = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(3), layers.SoftmaxWithLoss()])
    model.compile(optimizer=optimizer, metrics=["accuracy"])
    return model


def weights_file(out, name, m):
    np.savez(os.path.join(out, f"{name}.npz"), *m.get_weights())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode")
    parser.add_argument("out")
    parser.add_argument("--floatx", default="float64")
    parser.add_argument("--batch-size", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    fw.distributed.init()
    fw.set_floatx(args.floatx)
    rank = fw.distributed.rank()
    # A different seed on each rank: the broadcast from rank 0 must make them agree anyway.
    fw.set_seed(11 + 1000 * rank)
    x, y = data()

    if args.mode == "fit":
        m = model()
        history = m.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=2, shuffle=True)
        np.savez(os.path.join(args.out, f"rank-{rank}.npz"), *m.get_weights(),
                 loss=np.array(history.history["loss"]), accuracy=np.array(history.history["accuracy"]),
                 evaluate=np.array(m.evaluate(x, y, batch_size=5)), predict=m.predict(x, batch_size=4))
    elif args.mode == "save":  # the first part of a run, saved by rank 0 only
        m = model()
        m.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
        m.save(os.path.join(args.out, f"run-rank{rank}.h5"))  # only rank 0's name may appear
    elif args.mode == "resume":  # every rank loads rank 0's file and continues
        m = fw.load_model(os.path.join(args.out, "run-rank0.h5"))
        m.fit(x, y, batch_size=args.batch_size, epochs=2 * args.epochs, initial_epoch=m.epochs_done, verbose=0)
        np.savez(os.path.join(args.out, f"resumed-rank-{rank}.npz"), *m.get_weights())
    elif args.mode == "batchnorm":  # per-shard statistics; moving statistics averaged over the ranks
        m = fw.Sequential([layers.Affine(8), layers.BatchNormalization(), layers.ReLU(), layers.Dropout(0.3),
                           layers.Affine(3), layers.SoftmaxWithLoss()])
        m.compile(optimizer="adam")
        m.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
        bn = m.layers[1]
        np.savez(os.path.join(args.out, f"bn-rank-{rank}.npz"), *m.get_weights(),
                 moving_mean=fw.get_backend().to_numpy(bn.state["moving_mean"]))
    elif args.mode == "weighted":  # sample weights, and metrics counted over the epoch, on every rank
        m = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(3)])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", fw.metrics.Precision(class_id=1), fw.metrics.AUC(), "mae"])
        w = np.arange(len(x)) % 4 / 2.0  # zeros included
        history = m.fit(x, y, sample_weight=w, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
        logs = m.evaluate(x, y, sample_weight=w, batch_size=5, return_dict=True)
        np.savez(os.path.join(args.out, f"rank-{rank}.npz"), *m.get_weights(),
                 **{f"history_{key}": np.array(values) for key, values in history.history.items()},
                 **{f"evaluate_{key}": np.array(value) for key, value in logs.items()})
    elif args.mode == "crash":
        m = model()
        if rank == fw.distributed.size() - 1:
            raise RuntimeError(f"rank {rank} fails on purpose")
        m.fit(x, y, batch_size=args.batch_size, epochs=1000, verbose=0)  # would wait forever for the dead rank
    else:
        sys.exit(f"unknown mode {args.mode}")


if __name__ == "__main__":
    main()
