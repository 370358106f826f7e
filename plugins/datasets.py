"""Built-in data sets: scikit-learn's digits and the small teaching sets offline, MNIST and
Fashion-MNIST downloaded once into a verified cache."""

from framework.datasets import mnist, small
from framework.hookspecs import hookimpl


def load_digits(test_size=0.2, seed=0):
    """scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes), bundled offline.

    Returns ``((x_train, y_train), (x_test, y_test))``: x float32 of shape
    (n, 64) scaled to [0, 1], y int64 class indices; the split is stratified
    and fixed by `seed`.
    """
    import numpy as np
    from sklearn.datasets import load_digits as sklearn_digits  # imported on use: sklearn is slow to import
    from sklearn.model_selection import train_test_split

    data = sklearn_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)
    return (x_train, y_train), (x_test, y_test)


@hookimpl
def register_datasets(register):
    register(load_digits, name="digits")
    register(mnist.load_mnist, name="mnist")
    register(mnist.load_fashion_mnist, name="fashion_mnist")
    for name in ("iris", "wine", "breast_cancer", "diabetes", "moons", "circles", "spiral", "xor"):
        register(getattr(small, f"load_{name}"), name=name)
