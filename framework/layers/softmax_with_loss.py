"""Softmax followed by the cross-entropy loss, as one layer."""

from framework.backend import get_backend
from framework.errors import InvalidArgumentError
from framework.layers.base import LossLayer
from framework.training import targets

_LABEL_FORMATS = ("auto", "index", "one_hot")


class SoftmaxWithLoss(LossLayer):
    """``loss = -mean over the batch of log softmax(x)[true class]``.

    Shapes: ``x`` (N, C) raw scores; ``t`` (N,) class indices or (N, C)
    one-hot (or soft) labels; the loss is a scalar.

    Backward: together, softmax and cross-entropy have the simplest of
    derivatives, ``dx = (y - t) / N`` with ``y = softmax(x)``; that is why they
    are one layer. The division by N (the batch mean) happens here and
    nowhere else. With ``sample_weight`` (N,) the loss is
    ``sum(w_i * loss_i) / N`` and row i of ``dx`` is scaled by ``w_i``.

    Args:
        labels: ``"auto"`` (indices if ``t`` is 1-d, else one-hot),
            ``"index"`` or ``"one_hot"``.
    """

    def __init__(self, labels="auto", name=None):
        super().__init__(name=name)
        if labels not in _LABEL_FORMATS:
            raise InvalidArgumentError(f"SoftmaxWithLoss: labels must be one of {_LABEL_FORMATS}, got {labels!r}")
        self.labels = labels
        self.y = None  # softmax output
        self.t = None
        self.loss = None

    def forward(self, x, t, sample_weight=None):
        xp = self.xp
        n = x.shape[0]
        # Shifting by the row max keeps exp() from overflowing; the loss uses
        # log(sum(exp)) directly, so there is one exp and no log(0).
        shifted = x - x.max(axis=1, keepdims=True)
        exp = xp.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        self.y = exp / sum_exp
        self.t = t
        log_sum_exp = xp.log(sum_exp)
        if t.ndim == x.ndim:  # one-hot: -sum t * log y, per sample
            losses = -(t * (shifted - log_sum_exp)).sum(axis=1)
        else:  # class indices: pick log y of the true class
            # The backend may pick in one compiled pass, with the same numbers
            # (backends/cupy_fused_softmax.py); the line is the reference.
            picked = get_backend().fused_pick(shifted, t)
            if picked is None:
                picked = shifted[xp.arange(n), t]
            losses = log_sum_exp[:, 0] - picked
        self.loss = self.weighted_mean(losses, sample_weight)
        return self.loss

    def backward(self, dout=1.0):
        n = self.y.shape[0]
        if self.t.ndim == self.y.ndim:
            dx = self.y - self.t
            dx *= dout / n
        else:
            dx = get_backend().fused_softmax_loss_backward(self.y, self.t, dout / n)  # the same numbers, or None
            if dx is None:
                dx = self.y.copy()
                dx[self.xp.arange(n), self.t] -= 1
                dx *= dout / n
        return self.weigh_rows(dx)  # sample i's loss is w_i * loss_i, so is its gradient

    def predict(self, x):
        """Class probabilities, softmax(x), shape (N, C)."""
        exp = self.xp.exp(x - x.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def compute_output_shape(self, input_shape):
        if input_shape[-1] == 1:
            # Softmax over one unit is always 1: the loss would be 0 and nothing would train.
            raise InvalidArgumentError(
                f"{self.name}: softmax cross-entropy needs at least 2 output units, got input_shape="
                f"{tuple(input_shape)}; for a yes/no target use one output with loss='binary_crossentropy' "
                "(or end the model with SigmoidWithLoss)"
            )
        return tuple(input_shape)

    def prepare_targets(self, t, output_shape, argument="y"):
        self.compute_output_shape(output_shape)
        return targets.class_labels(t, n_classes=output_shape[-1], labels=self.labels, argument=argument)

    def get_config(self):
        return {"name": self.name, "labels": self.labels}
