"""Sigmoid followed by the binary cross-entropy, as one layer ("binary_crossentropy")."""

from framework.layers.base import LossLayer
from framework.training import targets


class SigmoidWithLoss(LossLayer):
    """Binary cross-entropy from logits; `predict` returns probabilities ``sigmoid(x)``.

    Shapes: ``x`` (N, k) logits (k independent yes/no outputs, usually 1);
    ``t`` (N, k) labels in [0, 1], soft labels allowed ((N,) is taken as
    (N, 1)); the loss is a scalar: the mean over the k outputs, then over
    the batch, as Keras. With ``sample_weight`` w (N,), ``sum_i w_i l_i / N``.

    The loss of one output, with y = sigmoid(x), is
    ``-t log y - (1 - t) log(1 - y)``, which equals exactly::

        max(x, 0) - x t + log(1 + exp(-|x|))

    (log-sum-exp form): no exp overflows and no log(0), so it stays right for
    any |x| without clipping.

    Backward: d/dx of the above is ``y - t``, the same simple form as softmax
    with cross-entropy; so ``dx = (y - t) / (N k)``, rows scaled by w_i.
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.y = None
        self.t = None

    def _sigmoid(self, x):
        return 0.5 * (self.xp.tanh(0.5 * x) + 1.0)  # never overflows

    def forward(self, x, t, sample_weight=None):
        xp = self.xp
        self.y = self._sigmoid(x)
        self.t = t
        elementwise = xp.maximum(x, 0.0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
        per_sample = elementwise.mean(axis=1)
        return self.weighted_mean(per_sample, sample_weight)

    def backward(self, dout=1.0):
        n, k = self.y.shape
        dx = (self.y - self.t) * (dout / (n * k))
        return self.weigh_rows(dx)  # sample i's loss is w_i * loss_i, so is its gradient

    def predict(self, x):
        """Probabilities sigmoid(x), shape (N, k)."""
        return self._sigmoid(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def prepare_targets(self, t, output_shape, argument="y"):
        return targets.binary_labels(t, output_shape, argument=argument)
