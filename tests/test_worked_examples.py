"""The book's worked examples, through the layers' own forward and backward.

Each expected number is computed by hand from the formula (see the docstrings),
not by the framework.
"""

import math

import numpy as np
import pytest

from framework import layers

from .conftest import to_host


def test_add_then_mul(backend):
    """f(x, y, z) = (x + y) * z at (-2, 5, -4): f = 3 * -4 = -12; df/dz = x + y = 3; df/dx = df/dy = z = -4."""
    x, y, z = (backend.asarray(np.array(v, dtype="float64")) for v in (-2.0, 5.0, -4.0))
    add, mul = layers.AddLayer(), layers.MulLayer()
    q = add.forward(x, y)
    f = mul.forward(q, z)
    dq, dz = mul.backward(backend.asarray(np.array(1.0)))
    dx, dy = add.backward(dq)
    assert float(f) == pytest.approx(-12)
    assert [float(d) for d in (dx, dy, dz)] == pytest.approx([-4, -4, 3])


def test_apple_example():
    """f = a * x * t at a=100, x=2, t=1.1 (the book's apples with tax):
    f = 220, df/da = x t = 2.2, df/dx = a t = 110, df/dt = a x = 200."""
    apple, count, tax = 100.0, 2.0, 1.1
    mul_apple, mul_tax = layers.MulLayer(), layers.MulLayer()
    price = mul_tax.forward(mul_apple.forward(apple, count), tax)
    dprice_before_tax, dtax = mul_tax.backward(1.0)
    dapple, dcount = mul_apple.backward(dprice_before_tax)
    assert price == pytest.approx(220)
    assert (dapple, dcount, dtax) == pytest.approx((2.2, 110, 200))


def test_sigmoid_neuron(backend):
    """f = sigmoid(w0 x0 + w1 x1 + w2) at w=(2, -3, -3), x=(-1, -2): z = -2 + 6 - 3 = 1,
    f = 1/(1+e^-1) ~ 0.731, df/dz = f(1-f) ~ 0.1966; df/dw = z' * (x0, x1, 1), df/dx = z' * (w0, w1)."""
    w = backend.asarray(np.array([[2.0], [-3.0]]))
    b = backend.asarray(np.array([-3.0]))
    x = backend.asarray(np.array([[-1.0, -2.0]]))
    affine, sigmoid = layers.Affine(W=w, b=b), layers.Sigmoid()
    f = sigmoid.forward(affine.forward(x))
    dx = affine.backward(sigmoid.backward(backend.asarray(np.ones((1, 1)))))
    s = 1 / (1 + math.exp(-1))
    ds = s * (1 - s)
    assert to_host(backend, f)[0, 0] == pytest.approx(s) == pytest.approx(0.731, abs=1e-3)
    assert to_host(backend, affine.grads["W"]).ravel() == pytest.approx([-ds, -2 * ds])
    assert to_host(backend, affine.grads["b"]) == pytest.approx([ds])
    assert to_host(backend, affine.grads["W"]).ravel() == pytest.approx([-0.196, -0.393], abs=1e-3)
    assert to_host(backend, dx).ravel() == pytest.approx([2 * ds, -3 * ds])
    assert to_host(backend, dx).ravel() == pytest.approx([0.393, -0.590], abs=1e-3)


def test_mul_chain():
    """out = 4 * (3 * x) at x=1: out = 12; d out/dx = 4 * 3 = 12."""
    inner, outer = layers.MulLayer(), layers.MulLayer()
    out = outer.forward(4.0, inner.forward(3.0, 1.0))
    _, dinner = outer.backward(1.0)
    _, dx = inner.backward(dinner)
    assert out == pytest.approx(12)
    assert dx == pytest.approx(12)
