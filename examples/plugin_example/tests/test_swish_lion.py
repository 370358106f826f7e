"""The plugin's tests: the framework's conformance kit, and the math."""

import numpy as np
import pytest

import framework as fw
from framework.testing import check_layer, check_optimizer
from framework_swish_lion import Lion, Swish


@pytest.mark.parametrize("input_shape", [(4, 5), (2, 3, 4)])
def test_swish_passes_the_layer_checks(input_shape):
    report = check_layer(Swish(), input_shape)
    assert report.max_relative_error < 1e-6


def test_swish_values():
    x = np.array([[-2.0, 0.0, 3.0]])
    expected = x / (1.0 + np.exp(-x))
    np.testing.assert_allclose(Swish().forward(x), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "config", [{}, {"learning_rate": 0.01, "weight_decay": 0.1}])
def test_lion_passes_the_optimizer_checks(config):
    check_optimizer(Lion(**config))


def test_lion_step_by_hand():
    w, g = np.array([1.0, -1.0, 0.5]), np.array([0.3, -0.2, 0.0])
    params = {"w": w}
    Lion(learning_rate=0.1, weight_decay=0.5).update(params, {"w": g})
    # m = 0 at first, so update = sign(g): w - 0.1 * (sign(g) + 0.5 w)
    np.testing.assert_allclose(
        w, [1.0 - 0.1 * 1.5, -1.0 - 0.1 * (-1.5), 0.5 - 0.1 * 0.25])


def test_installed_plugin_is_found_by_name():
    assert fw.layers.get("Swish") is Swish
    assert type(fw.optimizers.get("lion")) is Lion
