"""The small data sets teaching uses, offline: scikit-learn's bundled tables and 2-d toy problems.

Every loader returns ``((x_train, y_train), (x_test, y_test))`` with float32
features: int64 class indices for classification, float32 targets for
``diabetes`` (regression). Classification splits are stratified and fixed by
`seed`; `standardize=True` scales the features to zero mean and unit
variance with the training split's statistics (applied to both splits).
"""

import numbers

import numpy as np  # host-side data generation

from framework.errors import InvalidArgumentError


def load_iris(test_size=0.2, seed=0, standardize=False):
    """Fisher's iris: 150 flowers, 4 measurements (cm), 3 species (scikit-learn's copy)."""
    from sklearn.datasets import load_iris as sklearn_iris  # imported on use: sklearn is slow to import

    return _bundled(sklearn_iris, test_size, seed, standardize)


def load_wine(test_size=0.2, seed=0, standardize=False):
    """Wine recognition: 178 wines, 13 chemical measurements, 3 cultivars."""
    from sklearn.datasets import load_wine as sklearn_wine

    return _bundled(sklearn_wine, test_size, seed, standardize)


def load_breast_cancer(test_size=0.2, seed=0, standardize=False):
    """Wisconsin diagnostic breast cancer: 569 samples, 30 features, 2 classes (0 malignant, 1 benign)."""
    from sklearn.datasets import load_breast_cancer as sklearn_breast_cancer

    return _bundled(sklearn_breast_cancer, test_size, seed, standardize)


def load_diabetes(test_size=0.2, seed=0, standardize=False):
    """Diabetes progression: 442 patients, 10 features (scikit-learn's scaled values), float32 targets.

    A regression set: the split is a shuffled, not stratified, one.
    """
    from sklearn.datasets import load_diabetes as sklearn_diabetes

    data = sklearn_diabetes()
    return _split(data.data, data.target.astype(np.float32), test_size, seed, standardize, stratify=False)


def load_moons(n_samples=1000, noise=0.1, test_size=0.2, seed=0, standardize=False):
    """Two interleaving half circles (scikit-learn's ``make_moons``), 2 classes."""
    from sklearn.datasets import make_moons

    n_samples, noise = _count(n_samples, "n_samples"), _noise(noise)
    x, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return _split(x, y, test_size, seed, standardize)


def load_circles(n_samples=1000, noise=0.05, factor=0.5, test_size=0.2, seed=0, standardize=False):
    """A small circle inside a large one (scikit-learn's ``make_circles``), 2 classes."""
    from sklearn.datasets import make_circles

    n_samples, noise = _count(n_samples, "n_samples"), _noise(noise)
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not 0 < factor < 1:
        raise InvalidArgumentError(f"factor must be a number in (0, 1), got factor={factor!r}")
    x, y = make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=seed)
    return _split(x, y, test_size, seed, standardize)


def load_spiral(n_per_class=100, n_classes=3, noise=0.2, test_size=0.2, seed=0, standardize=False):
    """The classic spiral (CS231n's): `n_classes` arms of `n_per_class` points each.

    Arm k's point i sits at radius r = i / (n - 1) and angle
    t = 4 (k + r) + noise * N(0, 1), that is at (r sin t, r cos t).
    """
    n_per_class, n_classes, noise = _count(n_per_class, "n_per_class"), _count(n_classes, "n_classes"), _noise(noise)
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    y = np.repeat(np.arange(n_classes), n_per_class)
    angle = 4.0 * (y + radius) + noise * rng.standard_normal(len(y))
    x = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return _split(x, y, test_size, seed, standardize)


def load_xor(n_samples=400, noise=0.25, test_size=0.2, seed=0, standardize=False):
    """XOR: noisy points around the corners (+-1, +-1); class 1 where the signs differ.

    Each point is a corner, drawn uniformly, plus Gaussian noise of standard
    deviation `noise`; its class is the corner's, 1 for (1, -1) and (-1, 1).
    """
    n_samples, noise = _count(n_samples, "n_samples"), _noise(noise)
    rng = np.random.default_rng(seed)
    corners = rng.choice(np.array([-1.0, 1.0]), size=(n_samples, 2))
    y = (corners[:, 0] != corners[:, 1]).astype(np.int64)
    x = corners + noise * rng.standard_normal((n_samples, 2))
    return _split(x, y, test_size, seed, standardize)


def _bundled(loader, test_size, seed, standardize):
    data = loader()
    return _split(data.data, data.target, test_size, seed, standardize)


def _split(x, y, test_size, seed, standardize, stratify=True):
    from sklearn.model_selection import train_test_split

    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real) or not 0 < test_size < 1:
        raise InvalidArgumentError(f"test_size must be a fraction in (0, 1), got test_size={test_size!r}")
    if not isinstance(standardize, bool):
        raise InvalidArgumentError(f"standardize must be True or False, got standardize={standardize!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidArgumentError(f"seed must be a non-negative integer, got seed={seed!r}")
    if stratify:
        y = np.asarray(y).astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        np.asarray(x, dtype=np.float64), y, test_size=test_size, random_state=seed, stratify=y if stratify else None
    )
    if standardize:
        # statistics from the training split only: the test split stays unseen
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std[std == 0] = 1.0  # a constant feature stays 0 instead of becoming NaN
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return (x_train.astype(np.float32), y_train), (x_test.astype(np.float32), y_test)


def _count(value, argument):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 2:
        raise InvalidArgumentError(f"{argument} must be an integer >= 2, got {argument}={value!r}")
    return int(value)


def _noise(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise InvalidArgumentError(f"noise must be a non-negative number, got noise={value!r}")
    return float(value)
