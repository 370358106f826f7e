"""`Backend.where`: NumPy's `where`, without branches on large arrays, and the same bits.

The plain ``numpy.where`` is the reference: the fast path must give the same
array (dtype, shape, every bit: signed zeros, infinities, NaN) on every input.
"""

import numpy as np
import pytest

from framework.backends import numpy_backend
from framework.backends.numpy_backend import NumpyBackend

BIG = numpy_backend.SELECT_MIN  # the fast path starts here


def special_values(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        values = rng.standard_normal(shape).astype(dtype)
        specials = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, -np.nan, np.finfo(dtype).tiny / 4,
                             np.finfo(dtype).max, -np.finfo(dtype).max], dtype=dtype)
        flat = values.reshape(-1)
        flat[rng.integers(0, flat.size, 64)] = rng.choice(specials, 64)
        return values
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(
        np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.int32, np.uint16, np.int64])
@pytest.mark.parametrize("shape", [(7, 5), (BIG // 8, 8), (3, BIG // 12, 4)])
def test_where_gives_numpy_where_bit_for_bit(dtype, shape):
    x, y = special_values(dtype, shape, 1), special_values(dtype, shape, 2)
    condition = np.random.default_rng(3).random(shape) > 0.5
    assert same_bits(NumpyBackend().where(condition, x, y), np.where(condition, x, y))


@pytest.mark.parametrize("x, y", [
    (1.0, "array"),  # ELU's backward: a Python float beside a float32 array
    ("array", 0.5),
    (np.float32(2.5), "array"),
    ("row", "array"),  # broadcast along the last axis
    ("array", "column"),
    (np.int8(3), "array8"),  # pooling's window index
    (2, "array8"),
])
def test_where_with_scalars_and_broadcast_operands_as_numpy(x, y):
    rng = np.random.default_rng(0)
    shape = (BIG // 16, 16)
    made = {"array": special_values(np.float32, shape, 4), "row": special_values(np.float32, (16,), 5),
            "column": special_values(np.float32, (shape[0], 1), 6), "array8": rng.integers(0, 9, shape, dtype=np.int8)}
    x, y = made.get(x, x) if isinstance(x, str) else x, made.get(y, y) if isinstance(y, str) else y
    condition = rng.random(shape) > 0.3
    assert same_bits(NumpyBackend().where(condition, x, y), np.where(condition, x, y))


def test_where_takes_strided_operands_and_conditions():
    rng = np.random.default_rng(1)
    x = special_values(np.float32, (BIG // 8, 16), 7)[:, ::2]
    y = special_values(np.float32, (16, BIG // 8), 8).T[:, 3:11]
    condition = (rng.random((BIG // 4, 8)) > 0.5)[::2]
    assert not (x.flags.c_contiguous or y.flags.c_contiguous or condition.flags.c_contiguous)
    assert same_bits(NumpyBackend().where(condition, x, y), np.where(condition, x, y))


@pytest.mark.parametrize("case", ["mixed dtypes", "0-d float64 array", "condition broadcast", "non-bool condition",
                                  "object", "byte-swapped"])
def test_where_leaves_other_inputs_to_numpy_with_the_same_result(case):
    rng = np.random.default_rng(2)
    shape = (BIG // 8, 8)
    x, y = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    condition = rng.random(shape) > 0.5
    if case == "mixed dtypes":
        y = y.astype(np.float64)
    elif case == "0-d float64 array":
        x = np.asarray(1.5)
    elif case == "condition broadcast":
        condition = condition[:1]
    elif case == "non-bool condition":
        condition = condition.astype(np.int32)
    elif case == "object":
        x = x.astype(object)
    elif case == "byte-swapped":
        x, y = x.astype(">f4"), y.astype(">f4")
    assert numpy_backend._select_dtype(condition, x, y) is None  # not the bit-picking path
    expected = np.where(condition, x, y)
    got = NumpyBackend().where(condition, x, y)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_small_arrays_go_to_numpy_where():
    condition = np.ones((4, 4), bool)
    assert numpy_backend._select_dtype(condition, np.ones((4, 4), np.float32), 0.0) is None
    assert numpy_backend._select_dtype(np.ones(BIG, bool), np.ones(BIG, np.float32), 0.0) == np.float32


def test_where_reads_any_nonzero_byte_of_the_condition_as_true():
    # A boolean array viewed from other bytes holds values other than 0 and 1;
    # numpy.where takes every nonzero byte as True, and so must the fast path.
    condition = np.tile(np.array([0, 1, 2, 127, 128, 255], np.uint8), BIG).view(bool)
    for dtype in (np.float32, np.int8, np.int64):
        x, y = special_values(dtype, condition.shape, 1), special_values(dtype, condition.shape, 2)
        assert same_bits(NumpyBackend().where(condition, x, y), np.where(condition, x, y))
