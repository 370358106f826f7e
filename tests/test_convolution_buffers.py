"""A convolution writes each step's column matrix over the last one, and its numbers do not change."""

import numpy as np

from framework import layers
from framework.layers import im2col as windows

from .conftest import to_host


def test_the_column_matrix_is_written_over_with_the_same_numbers_as_a_new_one(backend):
    rng = np.random.default_rng(8)
    W, b = rng.standard_normal((4, 3, 3, 3)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    reused = layers.Convolution(W=backend.asarray(W), b=backend.asarray(b), padding="same")
    for batch in (5, 5, 2, 2):  # another batch size needs another matrix: a new one, then reused again
        x = backend.asarray(rng.standard_normal((batch, 3, 7, 6)).astype(np.float32))
        dout = backend.asarray(rng.standard_normal((batch, 4, 7, 6)).astype(np.float32))
        out = reused.forward(x, training=True)
        fresh = layers.Convolution(W=backend.asarray(W), b=backend.asarray(b), padding="same")
        expected = fresh.forward(x, training=True)
        np.testing.assert_array_equal(to_host(backend, out), to_host(backend, expected))
        np.testing.assert_array_equal(to_host(backend, reused.col), to_host(backend, fresh.col))
        reused.backward(dout)
        fresh.backward(dout)
        np.testing.assert_array_equal(to_host(backend, reused.grads["W"]), to_host(backend, fresh.grads["W"]))


def test_the_matrix_is_written_over_only_where_it_matches():
    layer = layers.Convolution(4, 3, padding="same")
    rng = np.random.default_rng(9)
    previous = None
    for batch, reused in ((5, False), (5, True), (2, False), (2, True)):
        layer.forward(rng.standard_normal((batch, 3, 7, 6)).astype(np.float32), training=True)
        assert previous is None or np.shares_memory(layer.col, previous) == reused
        previous = layer.col
    x = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    args = ((2, 2), (1, 1), ((0, 0), (0, 0)))
    first = windows.im2col(x, *args)
    for other in (first.astype(np.float64), first[:1], first.reshape(2, -1)):  # dtype, shape
        assert not np.shares_memory(windows.im2col(x, *args, out=other), other)
    again = windows.im2col(x * 2, *args, out=first)
    assert np.shares_memory(again, first)
    np.testing.assert_array_equal(first, 2 * windows.im2col(x, *args))
