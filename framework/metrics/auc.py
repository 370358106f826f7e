"""`AUC`: the area under the ROC curve, from counts at fixed thresholds over the epoch."""

from framework.errors import InvalidArgumentError
from framework.metrics.base import Metric, binary_columns

_EPSILON = 1e-7  # Keras's backend epsilon: the end thresholds sit just outside [0, 1]
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """Area under the ROC curve (true-positive rate against false-positive rate), as Keras computes it.

    For each of `num_thresholds` thresholds ``t_j`` (evenly spaced over
    [0, 1], plus ``-eps`` and ``1 + eps`` at the ends) the epoch's counts
    give ``TPR_j = TP_j / (TP_j + FN_j)`` and ``FPR_j = FP_j / (FP_j + TN_j)``,
    a prediction counting as positive when ``y_pred > t_j``. The area is the
    Riemann sum ``sum_j (FPR_j - FPR_{j+1}) * h_j`` with ``h_j`` the mean of
    ``TPR_j`` and ``TPR_{j+1}`` (``"interpolation"``, the trapezoidal rule),
    their minimum (``"minoring"``) or maximum (``"majoring"``). With
    predictions that fall between distinct thresholds this equals the exact
    area (scikit-learn's ``roc_auc_score``); otherwise it approximates it to
    about ``1 / num_thresholds``.

    Labels above 0.5 count as positive. With several outputs every output
    of every sample counts as one binary decision (Keras's
    ``multi_label=False``). ``curve="PR"`` is not supported yet.

    Args:
        num_thresholds: at least 2 (default 200).
        curve: ``"ROC"``.
        summation_method: ``"interpolation"``, ``"minoring"`` or ``"majoring"``.
        name: the History key, ``"auc"`` by default.
    """

    count_names = ("true_positives", "false_positives", "positives", "negatives")

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None):
        super().__init__(name=name)
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds < 2:
            raise InvalidArgumentError(f"AUC: num_thresholds must be an integer > 1, got num_thresholds={num_thresholds!r}")
        if curve != "ROC":
            raise InvalidArgumentError(f"AUC: curve must be 'ROC' ('PR' is not supported yet), got curve={curve!r}")
        if summation_method not in _SUMMATIONS:
            raise InvalidArgumentError(
                f"AUC: summation_method must be one of {list(_SUMMATIONS)}, got summation_method={summation_method!r}"
            )
        self.num_thresholds = num_thresholds
        self.curve = curve
        self.summation_method = summation_method
        inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.thresholds = [0.0 - _EPSILON] + inner + [1.0 + _EPSILON]
        self.reset_state()

    def reset_state(self):
        self.true_positives = self.xp.zeros(len(self.thresholds))  # per threshold
        self.false_positives = self.xp.zeros(len(self.thresholds))
        self.positives = self.negatives = 0.0

    def update_state(self, y_true, y_pred):
        xp = self.xp
        labels, scores = binary_columns(self, y_true, y_pred, None)
        thresholds = xp.asarray(self.thresholds, dtype=scores.dtype)
        # A prediction is positive at threshold j when it exceeds t_j, i.e. for
        # every j below k = (how many thresholds lie below it). So count the
        # predictions by k, once each, and sum the counts from the top: the
        # same numbers as comparing every prediction with every threshold
        # (`_counts_by_comparison`, kept as the reference), in O(n), not O(n T).
        below = xp.searchsorted(thresholds, scores, side="left")
        size = len(self.thresholds) + 1
        all_counts = xp.bincount(below, minlength=size)
        positive_counts = xp.bincount(below, weights=labels.astype(scores.dtype), minlength=size)
        # predicted positive at threshold j: every prediction with k > j
        self.true_positives = self.true_positives + _above(xp, positive_counts)
        self.false_positives = self.false_positives + _above(xp, all_counts - positive_counts)
        self.positives = self.positives + labels.sum()
        self.negatives = self.negatives + xp.logical_not(labels).sum()

    def _counts_by_comparison(self, y_true, y_pred):
        """(TP, FP) per threshold by comparing every prediction with every threshold: the plain reference."""
        xp = self.xp
        labels, scores = binary_columns(self, y_true, y_pred, None)
        predicted = scores[:, None] > xp.asarray(self.thresholds, dtype=scores.dtype)[None, :]
        return (xp.logical_and(predicted, labels[:, None]).sum(axis=0),
                xp.logical_and(predicted, xp.logical_not(labels)[:, None]).sum(axis=0))

    def result(self):
        xp = self.xp
        tp, fp = self.true_positives.astype("float64"), self.false_positives.astype("float64")
        positives, negatives = float(self.positives), float(self.negatives)
        # TP + FN = all positives and FP + TN = all negatives, at every threshold.
        tpr = tp / positives if positives > 0 else xp.zeros_like(tp)
        fpr = fp / negatives if negatives > 0 else xp.zeros_like(fp)
        if self.summation_method == "interpolation":
            heights = (tpr[:-1] + tpr[1:]) / 2
        elif self.summation_method == "minoring":
            heights = xp.minimum(tpr[:-1], tpr[1:])
        else:
            heights = xp.maximum(tpr[:-1], tpr[1:])
        return float(((fpr[:-1] - fpr[1:]) * heights).sum())

    def get_config(self):
        return {"num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "name": self.name}


def _above(xp, counts):
    """``result[j] = sum(counts[j + 1:])`` for j below ``len(counts) - 1``: counts above each threshold."""
    return counts.sum() - xp.cumsum(counts)[:-1]
