"""Make the figures of the docs from real runs of the framework.

    python scripts/make_doc_figures.py          # writes docs/figures/*.png

Each figure repeats, with more data points, a run that a page of the docs
executes (and asserts) in its code blocks, with the same seeds and settings.
"""

import pathlib

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402

import framework as fw  # noqa: E402
from framework import layers  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "figures"
DPI = 80


def save(fig, name):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    print(f"{path.relative_to(OUT.parent.parent)}: {path.stat().st_size // 1024} KB")


def f(x):
    return x**3 - 2 * x**2 + 2


def df(x):
    return 3 * x**2 - 4 * x


def descend(x0, learning_rate, steps):
    """Gradient descent on f with the framework's own SGD optimizer."""
    optimizer = fw.optimizers.SGD(learning_rate=learning_rate)
    params = {"x": np.array([x0])}
    path = [x0]
    for _ in range(steps):
        optimizer.update(params, {"x": df(params["x"])})
        path.append(float(params["x"][0]))
        if abs(path[-1]) > 10:
            break
    return path


def gradient_descent_figure():
    rates = [0.02, 0.1, 0.3, 0.6]
    fig, axes = plt.subplots(1, len(rates), figsize=(12, 3), sharey=True)
    grid = np.linspace(-1.2, 2.6, 200)
    for ax, lr in zip(axes, rates):
        path = np.array(descend(2.0, lr, 20))
        shown = path[np.abs(path) <= 2.6]
        ax.plot(grid, f(grid), color="0.6", lw=1)
        ax.plot(shown, f(shown), "o-", ms=3, lw=1, color="C3")
        ax.plot([4 / 3], [f(4 / 3)], "k*", ms=8)
        ax.set_title(f"learning rate {lr}: x = {path[-1]:.3g}" if abs(path[-1]) <= 10 else f"learning rate {lr}: diverges")
        ax.set_xlabel("x")
        ax.set_ylim(-1, 6)
    axes[0].set_ylabel("f(x) = x³ - 2x² + 2")
    fig.tight_layout()
    save(fig, "gradient-descent.png")


def model(seed=0):
    fw.set_seed(seed)
    return fw.Sequential([layers.Affine(64), layers.ReLU(), layers.Affine(10), layers.SoftmaxWithLoss()])


def batch_size_figure():
    (x_train, y_train), _ = fw.datasets.load("digits")
    fig, (by_epoch, by_update) = plt.subplots(1, 2, figsize=(10, 3.5))
    n = len(x_train)
    for batch_size in (1, 16, 128, n):
        net = model()
        net.compile(optimizer=fw.optimizers.SGD(learning_rate=0.05))
        history = net.fit(x_train, y_train, batch_size=batch_size, epochs=20, verbose=0)
        losses = history.history["loss"]
        epochs = np.arange(1, len(losses) + 1)
        label = f"batch size {batch_size}" + (" (full batch)" if batch_size == n else "")
        by_epoch.plot(epochs, losses, label=label)
        by_update.plot(epochs * -(-n // batch_size), losses, label=label)
    by_epoch.set_xlabel("epoch")
    by_epoch.xaxis.set_major_locator(MaxNLocator(integer=True))
    by_update.set_xlabel("updates (log scale)")
    by_update.set_xscale("log")
    for ax in (by_epoch, by_update):
        ax.set_ylabel("training loss (epoch mean)")
        ax.set_yscale("log")
    by_epoch.legend(fontsize=8)
    fig.tight_layout()
    save(fig, "batch-sizes.png")


def first_model_figure():
    (x_train, y_train), _ = fw.datasets.load("digits")
    net = model()
    net.compile(optimizer=fw.optimizers.SGD(learning_rate=0.1), metrics=["accuracy"])
    history = net.fit(x_train, y_train, batch_size=32, epochs=20, validation_split=0.2, verbose=0).history
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
    loss_ax.plot(epochs, history["loss"], label="loss (training)")
    loss_ax.plot(epochs, history["val_loss"], label="val_loss (validation)")
    acc_ax.plot(epochs, history["accuracy"], label="accuracy (training)")
    acc_ax.plot(epochs, history["val_accuracy"], label="val_accuracy (validation)")
    loss_ax.set_ylabel("loss")
    acc_ax.set_ylabel("accuracy")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    save(fig, "first-model.png")


def gradient_norms(x, t, activation, depth=8):
    """||dL/dW|| per Affine layer after one backward pass (docs/vanishing-gradients.md)."""
    fw.set_seed(0)
    stack = []
    for _ in range(depth):
        stack += [layers.Affine(64), activation()]
    net = fw.Sequential(stack + [layers.Affine(10), layers.SoftmaxWithLoss()])
    net.build((None, 64))
    *body, loss_layer = net.layers
    for layer in body:
        x = layer.forward(x, training=True)
    loss_layer.forward(x, t)
    dout = loss_layer.backward(1.0)
    for layer in reversed(body):
        dout = layer.backward(dout)
    return [float(np.linalg.norm(layer.grads["W"])) for layer in body if "W" in layer.grads]


def vanishing_gradients_figure():
    (x_train, y_train), _ = fw.datasets.load("digits")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for activation in (layers.Sigmoid, layers.ReLU):
        norms = gradient_norms(x_train[:256], y_train[:256], activation)
        ax.semilogy(np.arange(1, len(norms) + 1), norms, "o-", label=activation.__name__)
    ax.set_xlabel("Affine layer (1 = first, next to the input)")
    ax.set_ylabel("norm of dL/dW")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    save(fig, "vanishing-gradients.png")


def weight_norm_figure():
    """sum(W**2) of the first layer per epoch for three L2 factors (docs/losses-regularization.md)."""
    (x_train, y_train), _ = fw.datasets.load("digits")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for l2 in (0.0, 0.001, 0.01):
        fw.set_seed(0)
        regularizer = fw.regularizers.L2(l2) if l2 else None
        net = fw.Sequential([layers.Affine(64, kernel_regularizer=regularizer), layers.ReLU(),
                             layers.Affine(10), layers.SoftmaxWithLoss()])
        net.compile(optimizer=fw.optimizers.SGD(learning_rate=0.1))
        norms = []
        for _ in range(20):
            net.fit(x_train, y_train, epochs=net.epochs_done + 1, initial_epoch=net.epochs_done, verbose=0)
            norms.append(float((net.layers[0].params["W"] ** 2).sum()))
        ax.plot(np.arange(1, 21), norms, "o-", markersize=3, label=f"L2 factor {l2:g}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("sum of W² (first layer)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save(fig, "weight-norm.png")


PATH_OPTIMIZERS = {  # docs/optimization.md: the book's chapter 6 settings
    "SGD": lambda: fw.optimizers.SGD(learning_rate=0.95),
    "Momentum": lambda: fw.optimizers.Momentum(learning_rate=0.1, momentum=0.9),
    "AdaGrad": lambda: fw.optimizers.AdaGrad(learning_rate=1.5),
    "RMSprop": lambda: fw.optimizers.RMSprop(learning_rate=0.3),
    "Adam": lambda: fw.optimizers.Adam(learning_rate=0.3),
    "AMSGrad": lambda: fw.optimizers.Adam(learning_rate=0.3, amsgrad=True),
}


def optimizer_paths_figure():
    xs, ys = np.meshgrid(np.linspace(-10, 10, 200), np.linspace(-5, 5, 200))
    fig, axes = plt.subplots(2, 3, figsize=(9, 5), sharex=True, sharey=True)
    for ax, (name, make) in zip(axes.flat, PATH_OPTIMIZERS.items()):
        optimizer = make()
        params = {"p": np.array([-7.0, 2.0])}
        path = [params["p"].copy()]
        for _ in range(30):
            x, y = params["p"]
            optimizer.update(params, {"p": np.array([x / 10.0, 2.0 * y])})
            path.append(params["p"].copy())
        path = np.array(path)
        ax.contour(xs, ys, xs**2 / 20 + ys**2, levels=8, colors="#bbb", linewidths=0.6)
        ax.plot(path[:, 0], path[:, 1], "o-", color="#c62828", markersize=2.5, linewidth=1)
        ax.plot(0, 0, "+", color="black")
        ax.set_title(name)
        ax.set_xlim(-10, 10)
        ax.set_ylim(-5, 5)
    fig.tight_layout()
    save(fig, "optimizer-paths.png")


def optimizer_digits_figure():
    (x_train, y_train), _ = fw.datasets.load("digits")
    choices = {
        "SGD": lambda: fw.optimizers.SGD(learning_rate=0.01),
        "Momentum": lambda: fw.optimizers.Momentum(learning_rate=0.01),
        "AdaGrad": lambda: fw.optimizers.AdaGrad(learning_rate=0.01),
        "RMSprop": lambda: fw.optimizers.RMSprop(learning_rate=0.001),
        "Adam": lambda: fw.optimizers.Adam(learning_rate=0.001),
        "AMSGrad": lambda: fw.optimizers.Adam(learning_rate=0.001, amsgrad=True),
    }
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, make in choices.items():
        net = model()
        net.compile(optimizer=make())
        history = net.fit(x_train, y_train, epochs=20, verbose=0).history
        ax.plot(np.arange(1, 21), history["loss"], label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    save(fig, "optimizer-digits.png")


def _grid(ax, values, colors, title):
    """Draw a 2-d array as a table of numbers, cell (r, c) filled with colors[r][c]."""
    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            ax.add_patch(plt.Rectangle((c, rows - 1 - r), 1, 1, facecolor=colors[r][c], edgecolor="0.4"))
            ax.text(c + 0.5, rows - 0.5 - r, f"{values[r, c]:g}", ha="center", va="center", fontsize=12)
    ax.set_xlim(-0.3, cols + 0.3)
    ax.set_ylim(-0.3, rows + 0.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)


def im2col_figure():
    """im2col of a 3x3 image with a 2x2 window, and the product with two filters (the convolution chapter)."""
    from framework.layers.im2col import im2col

    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    W = np.array([[[[1.0, 0.0], [0.0, -1.0]]], [[[1.0, 1.0], [1.0, 1.0]]]])
    col = im2col(x, (2, 2), (1, 1), ((0, 0), (0, 0)))[0]  # (4, 4): one column per window
    out = W.reshape(2, -1) @ col  # (2, 4)
    tint = [matplotlib.colors.to_rgba(f"C{p}", 0.35) for p in range(4)]
    fig, (ax_x, ax_col, ax_out) = plt.subplots(1, 3, figsize=(11, 3.4), gridspec_kw={"width_ratios": [3, 4, 4]})
    _grid(ax_x, x[0, 0], [["white"] * 3 for _ in range(3)], "x (1, 1, 3, 3): four 2×2 windows")
    for p in range(4):  # window p starts at (p // 2, p % 2); inset so that overlaps stay visible
        oy, ox = divmod(p, 2)
        inset = 0.06 + 0.05 * p
        ax_x.add_patch(plt.Rectangle((ox + inset, 3 - 2 - oy + inset), 2 - 2 * inset, 2 - 2 * inset, fill=False,
                                     edgecolor=f"C{p}", lw=2.5))
    _grid(ax_col, col, [tint for _ in range(4)], "col = im2col(x): window p is column p")
    _grid(ax_out, out, [tint for _ in range(2)], "W.reshape(2, 4) @ col: filter f is row f")
    fig.tight_layout()
    save(fig, "im2col.png")


if __name__ == "__main__":
    gradient_descent_figure()
    batch_size_figure()
    first_model_figure()
    vanishing_gradients_figure()
    weight_norm_figure()
    optimizer_paths_figure()
    optimizer_digits_figure()
    im2col_figure()
