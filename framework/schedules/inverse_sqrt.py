"""Inverse square-root decay: the lecture notes' ``lr_t = lr / sqrt(t)``."""

import math

from framework.schedules.base import LearningRateSchedule


class InverseSqrtDecay(LearningRateSchedule):
    """``initial_learning_rate / sqrt(1 + step / decay_steps)``.

    With the default ``decay_steps=1`` this is ``initial / sqrt(step + 1)``:
    the notes' ``1 / sqrt(t)`` with t counted from 1 (step counts from 0).
    Not in Keras; written in the style of its `InverseTimeDecay`.
    """

    def __init__(self, initial_learning_rate, decay_steps=1):
        self.initial_learning_rate = self._number(initial_learning_rate, "initial_learning_rate", positive=True)
        self.decay_steps = self._count(decay_steps, "decay_steps")

    def rate(self, step):
        return self.initial_learning_rate / math.sqrt(1.0 + step / self.decay_steps)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps}
