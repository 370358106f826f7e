"""A binary classifier: two interleaving half-moons, a sigmoid output and binary cross-entropy.

    python examples/binary_moons.py [--epochs 100] [--seed 0]

Keras's habit works as written: the last layer is
``Dense(1, activation="sigmoid")`` and the loss ``"binary_crossentropy"``;
`compile` fuses the two, so the loss is computed exactly from the logits and
`predict` returns probabilities. The data: ``make_moons(n_samples=1000,
noise=0.2, random_state=0)``, split by ``train_test_split(test_size=0.25,
random_state=0)``.
"""

import argparse

from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

import framework as fw
from framework import layers


def main():
    parser = argparse.ArgumentParser(description="A sigmoid classifier on make_moons.")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fw.set_seed(args.seed)

    x, y = make_moons(n_samples=1000, noise=0.2, random_state=0)
    x_train, x_test, y_train, y_test = train_test_split(x.astype("float32"), y, test_size=0.25, random_state=0)

    model = fw.Sequential([
        layers.Dense(32, activation="relu", kernel_initializer="he_normal"),
        layers.Dense(32, activation="relu", kernel_initializer="he_normal"),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=fw.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy")
    model.build((None, 2))
    model.summary()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=0)
    probability = model.predict(x_test)[:, 0]  # P(class 1), from the fused sigmoid
    accuracy = float(((probability > 0.5) == y_test).mean())
    print(f"test loss {model.evaluate(x_test, y_test):.4f}")
    print(f"test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
