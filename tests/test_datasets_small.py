"""The small offline data sets and the IDX parser, checked against scikit-learn and hand-made bytes."""

import gzip
import struct

import numpy as np
import pytest

import framework as fw
from framework.datasets import idx
from framework.errors import DatasetError, InvalidArgumentError

CLASSIFICATION = {"iris": (150, 4, 3), "wine": (178, 13, 3), "breast_cancer": (569, 30, 2), "moons": (1000, 2, 2),
                  "circles": (1000, 2, 2), "spiral": (300, 2, 3), "xor": (400, 2, 2)}


@pytest.mark.parametrize("name", sorted(CLASSIFICATION))
def test_classification_sets_split_stratified_and_reproducibly(name):
    n, features, classes = CLASSIFICATION[name]
    (x, y), (x_test, y_test) = fw.datasets.load(name)
    assert x.dtype == x_test.dtype == np.float32 and y.dtype == y_test.dtype == np.int64
    assert len(x) + len(x_test) == n and x.shape[1] == x_test.shape[1] == features
    assert len(x_test) == int(np.ceil(0.2 * n))
    assert sorted(set(y) | set(y_test)) == list(range(classes))
    # stratified: each class's share of the test split is its share of the whole, to one sample
    whole = np.bincount(np.concatenate([y, y_test]), minlength=classes)
    assert np.all(np.abs(np.bincount(y_test, minlength=classes) - whole * len(x_test) / n) <= 1)
    (again, _), _ = fw.datasets.load(name)
    np.testing.assert_array_equal(again, x)
    (other, _), _ = fw.datasets.load(name, seed=1)
    assert not np.array_equal(other, x)


@pytest.mark.parametrize("name, loader", [("iris", "load_iris"), ("wine", "load_wine"),
                                          ("breast_cancer", "load_breast_cancer"), ("diabetes", "load_diabetes")])
def test_bundled_sets_hold_scikit_learns_values(name, loader):
    import sklearn.datasets

    reference = getattr(sklearn.datasets, loader)()
    (x, y), (x_test, y_test) = fw.datasets.load(name)
    rows = np.concatenate([x, x_test]).astype(np.float64)
    targets = np.concatenate([y, y_test])
    order = np.lexsort(rows.T[::-1])
    expected_order = np.lexsort(reference.data.astype(np.float32).astype(np.float64).T[::-1])
    np.testing.assert_array_equal(rows[order], reference.data.astype(np.float32)[expected_order])
    np.testing.assert_allclose(targets[order], reference.target[expected_order])


def test_diabetes_is_regression_with_float32_targets():
    (x, y), (x_test, y_test) = fw.datasets.load("diabetes")
    assert y.dtype == np.float32 and y.ndim == 1 and len(y) + len(y_test) == 442 and len(np.unique(y)) > 100


def test_standardize_uses_the_training_split_only():
    (raw, _), (raw_test, _) = fw.datasets.load("wine")
    (x, _), (x_test, _) = fw.datasets.load("wine", standardize=True)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-5)
    mean, std = raw.astype(np.float64).mean(axis=0), raw.astype(np.float64).std(axis=0)
    np.testing.assert_allclose(x_test, (raw_test - mean) / std, rtol=1e-4, atol=1e-4)


def test_spiral_arms_follow_the_formula():
    (x, y), (x_test, y_test) = fw.datasets.load("spiral", noise=0.0, n_per_class=50)
    points, labels = np.concatenate([x, x_test]), np.concatenate([y, y_test])
    radius = np.hypot(points[:, 0], points[:, 1])
    angle = np.arctan2(points[:, 0], points[:, 1])
    # without noise, angle = 4 (k + r) modulo 2 pi
    residual = np.angle(np.exp(1j * (angle - 4 * (labels + radius))))
    away = radius > 1e-3  # at the centre the angle is undefined
    assert away.sum() == 150 - 3
    np.testing.assert_allclose(residual[away], 0, atol=1e-4)


def test_xor_labels_are_the_corners_signs():
    (x, y), _ = fw.datasets.load("xor", noise=0.05)
    np.testing.assert_array_equal(y, (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int64))
    (x, _), _ = fw.datasets.load("xor")
    assert len(x) == 320


@pytest.mark.parametrize("name, options, match", [
    ("iris", {"test_size": 1.5}, r"test_size must be a fraction in \(0, 1\), got test_size=1.5"),
    ("iris", {"standardize": "yes"}, r"standardize must be True or False"),
    ("moons", {"n_samples": 1}, r"n_samples must be an integer >= 2"),
    ("spiral", {"noise": -1}, r"noise must be a non-negative number, got noise=-1"),
    ("circles", {"factor": 2}, r"factor must be a number in \(0, 1\)"),
])
def test_bad_options(name, options, match):
    with pytest.raises(InvalidArgumentError, match=match):
        fw.datasets.load(name, **options)


def test_idx_round_trip_and_header_reading(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = struct.pack(">HBBIII", 0, 0x08, 3, 2, 3, 4) + images.tobytes()  # written by hand, not by to_idx
    assert idx.to_idx(images) == raw
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "a.gz"), images)
    floats = np.array([[1.5, -2.0]], dtype=np.float32)
    parsed = idx.parse_idx(struct.pack(">HBBII", 0, 0x0D, 2, 1, 2) + floats.astype(">f4").tobytes())
    assert parsed.dtype == np.float32 and parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, floats)


@pytest.mark.parametrize("raw, match", [
    (b"\x00\x00", r"too short"),
    (struct.pack(">HBBI", 1, 0x08, 1, 3) + b"abc", r"not an IDX file \(magic number 0x00010801"),
    (struct.pack(">HBBI", 0, 0x07, 1, 3) + b"abc", r"not an IDX file"),
    (struct.pack(">HBB", 0, 0x08, 3) + b"\x00\x00", r"declares 3 dimensions but the file ends"),
    (struct.pack(">HBBI", 0, 0x08, 1, 4) + b"abc", r"declares shape \(4,\).*\(4 bytes of data\) but the file holds 3"),
    (struct.pack(">HBBI", 0, 0x08, 1, 2) + b"abc", r"but the file holds 3"),
])
def test_idx_header_checks(raw, match):
    with pytest.raises(DatasetError, match=match):
        idx.parse_idx(raw)


def test_a_file_that_is_not_gzip_is_named(tmp_path):
    (tmp_path / "bad.gz").write_bytes(b"plain text")
    with pytest.raises(DatasetError, match=r"bad.gz: cannot read it as an IDX file"):
        idx.read_idx(tmp_path / "bad.gz")
