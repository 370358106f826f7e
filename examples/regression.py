"""Regression with an MLP and the mean squared error: scikit-learn's diabetes data.

    python examples/regression.py [--epochs 200] [--seed 0]

The split is fixed: ``train_test_split(test_size=0.25, random_state=0)`` over
the 442 patients (331 train, 111 test). Inputs are standardized with the
training set's statistics, and so is the target (the model learns y in
standard units; R² is computed back on the original scale). The last line
compares the MLP's test R² with scikit-learn's LinearRegression on the same
split. With 331 training samples the target is nearly linear in the inputs:
a small tanh layer with L2 regularization matches the linear model, where a
wide unregularized one overfits.
"""

import argparse

from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

import framework as fw
from framework import layers


def main():
    parser = argparse.ArgumentParser(description="MLP regression on the diabetes data set.")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fw.set_seed(args.seed)

    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = ((x_train - mean) / std).astype("float32"), ((x_test - mean) / std).astype("float32")
    y_mean, y_std = y_train.mean(), y_train.std()

    model = fw.Sequential([
        layers.Dense(16, activation="tanh", kernel_regularizer=fw.regularizers.L2(0.03)),
        layers.Dense(1),
    ])
    model.compile(optimizer=fw.optimizers.Adam(learning_rate=1e-3), loss="mse")
    model.build((None, x_train.shape[1]))
    model.summary()
    model.fit(
        x_train, ((y_train - y_mean) / y_std).astype("float32"),
        epochs=args.epochs, batch_size=32, verbose=0,
    )
    mlp = r2_score(y_test, model.predict(x_test)[:, 0] * y_std + y_mean)
    linear = r2_score(y_test, LinearRegression().fit(x_train, y_train).predict(x_test))
    print(f"test R2 {mlp:.4f} (LinearRegression {linear:.4f})")


if __name__ == "__main__":
    main()
