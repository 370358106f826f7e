"""Train the digits MLP data-parallel over MPI: `train_digits.py` plus one line, `fw.distributed.init()`.

    mpiexec -n 4 python examples/train_digits_mpi.py [--epochs 40]
    python examples/train_digits_mpi.py      # the same script as one process

Each process trains on its shard of every batch of 32 and the gradients are
averaged with one allreduce per step, so the weights are those of one process
with batch 32. Needs `pip install -e '.[mpi]'` (mpi4py and MPICH) under mpiexec.
"""

import argparse

import framework as fw
from framework import layers


def main():
    parser = argparse.ArgumentParser(description="Train an MLP on the digits data set.")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.02)
    parser.add_argument("--backend", default=None, help="numpy (default) or cupy")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    fw.distributed.init()  # the one line that differs from train_digits.py
    if args.backend:
        fw.set_backend(args.backend)
    fw.set_seed(args.seed)
    (x_train, t_train), (x_test, t_test) = fw.datasets.load("digits")

    model = fw.Sequential([
        layers.Affine(64), layers.ReLU(),
        layers.Affine(64), layers.ReLU(),
        layers.Affine(10), layers.SoftmaxWithLoss(),
    ])
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=args.learning_rate, momentum=0.9), metrics=["accuracy"])
    model.build((None, x_train.shape[1]))
    model.summary()
    model.fit(
        x_train, t_train,
        epochs=args.epochs, batch_size=args.batch_size, validation_split=0.1,
        callbacks=[fw.EarlyStopping(monitor="val_loss", patience=8, restore_best_weights=True)],
    )
    loss, accuracy = model.evaluate(x_test, t_test)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f} on {len(x_test)} images")


if __name__ == "__main__":
    main()
