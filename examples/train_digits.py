"""Train a small MLP on scikit-learn's handwritten digits (bundled: no download).

    python examples/train_digits.py [--epochs 40] [--backend numpy]
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
