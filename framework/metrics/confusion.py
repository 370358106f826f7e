"""`Precision` and `Recall`, from true/false positives counted over the epoch."""

from framework.metrics.base import Metric, binary_columns, check_class_id, check_threshold


class _ConfusionMetric(Metric):
    """Counts true positives, false positives and false negatives at one threshold.

    A prediction counts as positive when ``y_pred > threshold`` (Keras's
    rule); a label counts as positive when it is above 0.5.
    """

    count_names = ("true_positives", "false_positives", "false_negatives")

    def __init__(self, thresholds=None, class_id=None, name=None):
        super().__init__(name=name)
        who = type(self).__name__
        self.thresholds = None if thresholds is None else check_threshold(thresholds, who)
        self.class_id = check_class_id(class_id, who)
        self.reset_state()

    def reset_state(self):
        self.true_positives = self.false_positives = self.false_negatives = 0.0

    def update_state(self, y_true, y_pred):
        xp = self.xp
        labels, scores = binary_columns(self, y_true, y_pred, self.class_id)
        predicted = scores > (0.5 if self.thresholds is None else self.thresholds)
        # Kept as backend 0-d arrays: no host copy per batch.
        self.true_positives = self.true_positives + xp.logical_and(predicted, labels).sum()
        self.false_positives = self.false_positives + xp.logical_and(predicted, xp.logical_not(labels)).sum()
        self.false_negatives = self.false_negatives + xp.logical_and(xp.logical_not(predicted), labels).sum()

    @staticmethod
    def _ratio(hits, misses):
        hits, misses = float(hits), float(misses)
        return hits / (hits + misses) if hits + misses > 0 else 0.0  # Keras's divide_no_nan

    def get_config(self):
        return {"thresholds": self.thresholds, "class_id": self.class_id, "name": self.name}


class Precision(_ConfusionMetric):
    """``TP / (TP + FP)`` over the epoch: of the samples predicted positive, the fraction that are.

    Args:
        thresholds: a prediction above it counts as positive (default 0.5).
            Keras also takes a list of thresholds; this takes one.
        class_id: count only this output (of a multi-output model); by
            default every output of every sample counts.
        name: the History key, ``"precision"`` by default.
    """

    def result(self):
        return self._ratio(self.true_positives, self.false_positives)


class Recall(_ConfusionMetric):
    """``TP / (TP + FN)`` over the epoch: of the positive samples, the fraction predicted positive.

    Arguments as `Precision`'s; the History key is ``"recall"`` by default.
    """

    def result(self):
        return self._ratio(self.true_positives, self.false_negatives)
