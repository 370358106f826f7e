"""Identity output with the mean squared error: the regression loss ("mse")."""

from framework.layers.base import LossLayer
from framework.training import targets


class IdentityWithLoss(LossLayer):
    """``loss = mean over the batch of mean_j (x_j - t_j)**2``; `predict` returns `x` itself.

    Shapes: ``x`` (N, k) outputs, ``t`` (N, k) targets ((N,) is taken as
    (N, 1) for one output, never broadcast); the loss is a scalar. With
    ``sample_weight`` w (N,), ``loss = sum_i w_i l_i / N`` (as Keras).

    Backward: d/dx_j of (1/N) (1/k) sum (x - t)**2 is ``2 (x_j - t_j) / (N k)``,
    each row scaled by w_i. The division by N happens here and nowhere else.
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.diff = None

    def forward(self, x, t, sample_weight=None):
        self.diff = x - t
        per_sample = (self.diff * self.diff).mean(axis=1)
        return self.weighted_mean(per_sample, sample_weight)

    def backward(self, dout=1.0):
        n, k = self.diff.shape
        dx = self.diff * (2.0 * dout / (n * k))
        return self.weigh_rows(dx)  # sample i's loss is w_i * loss_i, so is its gradient

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def prepare_targets(self, t, output_shape, argument="y"):
        return targets.regression_targets(t, output_shape, argument=argument)
