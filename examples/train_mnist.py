"""Train the book's two-layer net on MNIST (downloaded once, then read from the cache).

    python examples/train_mnist.py [--epochs 20] [--hidden 50] [--backend numpy]

The four MNIST files (11 MB) are downloaded on the first run, checked against
their published SHA-256 and MD5, and kept in the cache folder:
``$FRAMEWORK_DATA_DIR/mnist``, by default ``~/.cache/dlfs-framework/datasets/mnist``.
``FRAMEWORK_DATASETS_URL`` points it at another mirror. The last line printed
is ``test accuracy <value>``.
"""

import argparse

import framework as fw
from framework import layers


def main():
    parser = argparse.ArgumentParser(description="Train the book's two-layer net on MNIST.")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=50, help="hidden units (the book: 50)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--backend", default=None, help="numpy (default) or cupy")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if args.backend:
        fw.set_backend(args.backend)
    fw.set_seed(args.seed)
    (x_train, t_train), (x_test, t_test) = fw.datasets.load("mnist", normalize=True, flatten=True)
    print(f"MNIST: {len(x_train)} training and {len(x_test)} test images")

    # the book's TwoLayerNet (chapter 5): Affine - ReLU - Affine - SoftmaxWithLoss, plain SGD
    model = fw.Sequential([
        layers.Affine(args.hidden), layers.ReLU(),
        layers.Affine(10), layers.SoftmaxWithLoss(),
    ])
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=args.learning_rate), metrics=["accuracy"])
    model.fit(x_train, t_train, epochs=args.epochs, batch_size=args.batch_size, verbose=2)
    loss, accuracy = model.evaluate(x_test, t_test, batch_size=1000)
    print(f"test loss {loss:.4f}")
    print(f"test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
