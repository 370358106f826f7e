"""Conformance checks for plugin authors: every layer and optimizer must pass them.

Call them in your plugin's own tests::

    from framework.testing import check_layer, check_optimizer

    def test_swish():
        check_layer(Swish(), input_shape=(4, 5))

    def test_lion():
        check_optimizer(Lion(learning_rate=0.01))

Each raises `AssertionError` naming the failed check and the numbers. The
framework's own layers and optimizers are held to the same checks.
"""

from framework.testing.layer_checks import check_layer
from framework.testing.optimizer_checks import check_optimizer

__all__ = ["check_layer", "check_optimizer"]
