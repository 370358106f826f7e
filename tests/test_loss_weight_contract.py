"""The conformance kit holds every loss layer to the sample-weight contract; old loss layers fail clearly."""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError
from framework.layers.base import LossLayer
from framework.testing import check_layer


class HalfSquare(LossLayer):
    """``loss_i = sum((x_i - t_i) ** 2) / 2``: a correct weighted loss layer, for the kit."""

    def forward(self, x, t, sample_weight=None):
        self.diff = x - t
        return self.weighted_mean((self.diff * self.diff).sum(axis=1) / 2, sample_weight)

    def backward(self, dout=1.0):
        return self.weigh_rows(self.diff * (dout / self.diff.shape[0]))

    def prepare_targets(self, t, output_shape, argument="y"):
        return np.asarray(t, dtype=fw.floatx()).reshape(-1, output_shape[-1])


class DividesBySumOfWeights(HalfSquare):
    def forward(self, x, t, sample_weight=None):
        loss = super().forward(x, t, sample_weight)
        return loss if sample_weight is None else loss * x.shape[0] / sample_weight.sum()


class ForgetsWeightsInBackward(HalfSquare):
    def backward(self, dout=1.0):
        return self.diff * (dout / self.diff.shape[0])


class Unweighted(HalfSquare):
    def forward(self, x, t):
        return super().forward(x, t)


@pytest.fixture(autouse=True)
def registered():
    class Plugin:
        @staticmethod
        @fw.hookimpl
        def register_layers(register):
            for cls in (HalfSquare, DividesBySumOfWeights, ForgetsWeightsInBackward, Unweighted):
                register(cls)

    name = fw.registry.register_plugin(Plugin, name="test-weighted-losses")
    yield
    fw.registry.unregister_plugin(name)


TARGETS = np.random.default_rng(0).normal(size=(5, 3))


def test_a_correct_weighted_loss_layer_passes(backend):
    check_layer(HalfSquare(), (5, 3), targets=TARGETS)
    check_layer(layers.SoftmaxWithLoss(), (5, 3))


@pytest.mark.parametrize("cls,message", [
    (DividesBySumOfWeights, r"sample weights: the weighted loss is .* but sum\(w_i \* loss_i\) / N is"),
    (ForgetsWeightsInBackward, r"sample weights: dx with sample_weight is not w_i \* dloss_i/dx_i / N"),
])
def test_the_kit_catches_a_wrong_weighted_loss_layer(cls, message):
    with pytest.raises(AssertionError, match=message):
        check_layer(cls(), (5, 3), targets=TARGETS)


def test_fit_with_weights_refuses_a_loss_layer_that_cannot_weigh_samples():
    x = np.random.default_rng(1).normal(size=(5, 2))
    model = fw.Sequential([layers.Affine(3, input_shape=(2,)), Unweighted()])
    model.compile()
    before = model.get_weights()
    with pytest.raises(InvalidArgumentError, match="the loss layer Unweighted does not take sample weights"):
        model.fit(x, TARGETS, sample_weight=np.ones(5), verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.fit(x, TARGETS, verbose=0)  # unweighted, it still trains
