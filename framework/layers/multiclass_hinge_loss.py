"""The multiclass SVM (hinge) loss of the CS231n lecture notes ("multiclass_hinge")."""

from framework.layers.base import LossLayer
from framework.training import targets


class MulticlassHingeLoss(LossLayer):
    """``L_i = sum over j != y_i of max(0, s_j - s_{y_i} + 1)``, averaged over the batch.

    Shapes: ``x`` (N, C) class scores s; ``t`` (N,) class indices y; the loss
    is a scalar. `predict` returns the scores. With ``sample_weight`` w (N,),
    ``loss = sum_i w_i L_i / N``.

    Backward, with m_ij = 1 where the margin ``s_j - s_{y_i} + 1 > 0``
    (j != y_i): each such term adds +1 to ds_j and -1 to ds_{y_i}, so::

        ds_j = m_ij (j != y_i)        ds_{y_i} = -sum_j m_ij

    divided by N (and scaled by w_i).
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.active = None  # m, as the scores' dtype
        self.t = None

    def forward(self, x, t, sample_weight=None):
        xp = self.xp
        rows = xp.arange(x.shape[0])
        margins = x - x[rows, t][:, None] + 1.0
        margins[rows, t] = 0.0  # j = y_i is not a term of the sum
        margins = xp.maximum(margins, 0.0)
        self.active = (margins > 0).astype(x.dtype)
        self.t = t
        per_sample = margins.sum(axis=1)
        return self.weighted_mean(per_sample, sample_weight)

    def backward(self, dout=1.0):
        n = self.active.shape[0]
        dx = self.active.copy()
        dx[self.xp.arange(n), self.t] = -self.active.sum(axis=1)
        dx *= dout / n
        return self.weigh_rows(dx)  # sample i's loss is w_i * loss_i, so is its gradient

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def prepare_targets(self, t, output_shape, argument="y"):
        return targets.class_labels(t, n_classes=output_shape[-1], labels="index", argument=argument)
