"""Identity output with the mean absolute error ("mae")."""

from framework.layers.base import LossLayer
from framework.training import targets


class IdentityWithAbsoluteLoss(LossLayer):
    """``loss = mean over the batch of mean_j |x_j - t_j|``; `predict` returns `x` itself.

    Shapes as `IdentityWithLoss`; with ``sample_weight`` w (N,),
    ``loss = sum_i w_i l_i / N``.

    Backward: d|x - t|/dx = sign(x - t) (0 at x = t, a subgradient), so
    ``dx = sign(x - t) / (N k)``, each row scaled by w_i.
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.sign = None

    def forward(self, x, t, sample_weight=None):
        diff = x - t
        self.sign = self.xp.sign(diff)
        per_sample = self.xp.abs(diff).mean(axis=1)
        return self.weighted_mean(per_sample, sample_weight)

    def backward(self, dout=1.0):
        n, k = self.sign.shape
        dx = self.sign * (dout / (n * k))
        return self.weigh_rows(dx)  # sample i's loss is w_i * loss_i, so is its gradient

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def prepare_targets(self, t, output_shape, argument="y"):
        return targets.regression_targets(t, output_shape, argument=argument)
