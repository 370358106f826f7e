"""Train a small CNN on scikit-learn's 8x8 handwritten digits (bundled: no download).

The images come as rows of 64 pixels; reshaped to (n, 1, 8, 8) they are the
book's (batch, channels, height, width) images. The last line printed is
``test accuracy <value>``.

    python examples/digits_cnn.py [--epochs 40] [--backend numpy]
"""

import argparse

import framework as fw
from framework import layers


def main():
    parser = argparse.ArgumentParser(description="Train a CNN on the digits data set.")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--backend", default=None, help="numpy (default) or cupy")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if args.backend:
        fw.set_backend(args.backend)
    fw.set_seed(args.seed)
    (x_train, t_train), (x_test, t_test) = fw.datasets.load("digits")
    x_train, x_test = x_train.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)

    model = fw.Sequential([
        layers.Conv2D(16, 3, padding="same", activation="relu"),  # (16, 8, 8)
        layers.Conv2D(32, 3, padding="same", activation="relu"),  # (32, 8, 8)
        layers.MaxPooling2D(2),  # (32, 4, 4)
        layers.Flatten(),  # 512
        layers.Dense(64, weight_init="he_normal"), layers.ReLU(),
        layers.Dense(10), layers.SoftmaxWithLoss(),
    ])
    model.compile(optimizer=fw.optimizers.Adam(learning_rate=args.learning_rate), metrics=["accuracy"])
    model.build((None, 1, 8, 8))
    model.summary()
    model.fit(
        x_train, t_train,
        epochs=args.epochs, batch_size=args.batch_size, validation_split=0.1,
        callbacks=[fw.EarlyStopping(monitor="val_loss", patience=8, restore_best_weights=True)],
    )
    loss, accuracy = model.evaluate(x_test, t_test)
    print(f"test loss {loss:.4f} on {len(x_test)} images")
    print(f"test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
