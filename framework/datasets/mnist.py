"""MNIST and Fashion-MNIST: 70,000 28x28 grey images each, 10 classes, as the book loads them.

The four gzip IDX files of each are downloaded once (`framework.datasets.download`)
and verified against checksums their publishers list. SHA-256 is checked
where published; the MD5 is checked too.
"""

import numpy as np  # host-side data preparation

from framework.datasets import download, idx
from framework.errors import DatasetError, InvalidArgumentError

_TRAIN_IMAGES, _TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
_TEST_IMAGES, _TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"

# MNIST. MD5: torchvision, torchvision/datasets/mnist.py (MNIST.resources).
# SHA-256: tensorflow-datasets, tensorflow_datasets/url_checksums/mnist.txt;
# the same values in torchvision's prototype datasets (_builtin/mnist.py).
MNIST_FILES = {
    _TRAIN_IMAGES: {"sha256": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                    "md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
    _TRAIN_LABELS: {"sha256": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                    "md5": "d53e105ee54ea40749a09fcbcd1e9432"},
    _TEST_IMAGES: {"sha256": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                   "md5": "9fb629c4189551a2d022fa330f9573f3"},
    _TEST_LABELS: {"sha256": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                   "md5": "ec29112dd5afa0611ce80d1b7f02629c"},
}
# torchvision's MNIST mirrors (LeCun's own site now often refuses), then the
# Google Cloud copy tensorflow-datasets downloads.
MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist",
    "https://storage.googleapis.com/cvdf-datasets/mnist",
    "http://yann.lecun.com/exdb/mnist",
]

# Fashion-MNIST. MD5: torchvision/datasets/mnist.py (FashionMNIST.resources),
# the same as the table in zalandoresearch/fashion-mnist's README.md.
# SHA-256: Keras, keras/src/datasets/fashion_mnist.py (FILE_HASHES), the same
# as tensorflow_datasets/url_checksums/fashion_mnist.txt.
FASHION_MNIST_FILES = {
    _TRAIN_IMAGES: {"sha256": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                    "md5": "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
    _TRAIN_LABELS: {"sha256": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                    "md5": "25c81989df183df01b3e8a0aad5dffbe"},
    _TEST_IMAGES: {"sha256": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                   "md5": "bef4ecab320f06d8554ea6380940ec79"},
    _TEST_LABELS: {"sha256": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                   "md5": "bb300cfdad3c16e7a12a480ee83cd310"},
}
# Keras's copy, then the publishers' own bucket (torchvision's mirror).
FASHION_MNIST_MIRRORS = [
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
]


def load_mnist(normalize=True, flatten=True, one_hot_label=False, **download_options):
    """MNIST handwritten digits, as the book's ``load_mnist``.

    Args:
        normalize: float32 pixels in [0, 1]; False keeps uint8 in [0, 255].
        flatten: images as rows of 784; False gives (n, 1, 28, 28) for
            convolution layers.
        one_hot_label: labels as float32 one-hot rows (n, 10); False gives
            int64 class indices (n,).
        **download_options: `mirrors`, `checksums`, `timeout` (seconds, 30),
            `retries` (per mirror, 2), `progress` (True); see
            `framework.datasets.download.fetch`.

    Returns ``((x_train, t_train), (x_test, t_test))`` with 60,000 and 10,000 samples.
    """
    return _load("mnist", MNIST_FILES, MNIST_MIRRORS, normalize, flatten, one_hot_label, download_options)


def load_fashion_mnist(normalize=True, flatten=True, one_hot_label=False, **download_options):
    """Zalando's Fashion-MNIST: 28x28 images of 10 kinds of clothing; options as `load_mnist`."""
    return _load("fashion_mnist", FASHION_MNIST_FILES, FASHION_MNIST_MIRRORS, normalize, flatten, one_hot_label,
                 download_options)


def _load(dataset, files, mirrors, normalize, flatten, one_hot_label, options):
    for value, argument in ((normalize, "normalize"), (flatten, "flatten"), (one_hot_label, "one_hot_label")):
        if not isinstance(value, bool):
            raise InvalidArgumentError(f"{argument} must be True or False, got {argument}={value!r}")
    unknown = set(options) - {"mirrors", "checksums", "timeout", "retries", "progress"}
    if unknown:
        raise InvalidArgumentError(
            f"unknown option(s) {sorted(unknown)} for {dataset!r}; known: normalize, flatten, one_hot_label, "
            "mirrors, checksums, timeout, retries, progress"
        )
    options.setdefault("timeout", 30)
    options.setdefault("retries", 2)
    options["user_mirrors"] = options.pop("mirrors", None)
    paths = download.fetch(dataset, files, mirrors, **options)
    splits = []
    for images, labels in ((_TRAIN_IMAGES, _TRAIN_LABELS), (_TEST_IMAGES, _TEST_LABELS)):
        x, t = idx.read_idx(paths[images]), idx.read_idx(paths[labels])
        _check_pair(x, t, paths[images], paths[labels])
        splits.append((_features(x, normalize, flatten), _labels(t, one_hot_label)))
    return tuple(splits)


def _check_pair(x, t, x_path, t_path):
    if x.ndim != 3 or x.dtype != np.uint8:
        raise DatasetError(f"{x_path}: expected uint8 images of shape (n, rows, columns), got {x.dtype} {x.shape}")
    if t.ndim != 1 or t.dtype != np.uint8 or len(t) != len(x):
        raise DatasetError(f"{t_path}: expected {len(x)} uint8 labels to match {x_path}, got {t.dtype} {t.shape}")
    if t.size and t.max() > 9:
        raise DatasetError(f"{t_path}: labels must be in 0..9, found {int(t.max())}")


def _features(x, normalize, flatten):
    x = x.reshape(len(x), -1) if flatten else x[:, np.newaxis]
    return (x / np.float32(255.0)).astype(np.float32) if normalize else x


def _labels(t, one_hot_label):
    if one_hot_label:
        return np.eye(10, dtype=np.float32)[t]
    return t.astype(np.int64)
