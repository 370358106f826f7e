"""Exponential decay (Keras's `ExponentialDecay`)."""

import math

from framework.schedules.base import LearningRateSchedule


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** p``, ``p = step / decay_steps``.

    With ``staircase=True``, ``p`` is rounded down: the rate drops in steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = self._number(initial_learning_rate, "initial_learning_rate", positive=True)
        self.decay_steps = self._count(decay_steps, "decay_steps")
        self.decay_rate = self._number(decay_rate, "decay_rate", positive=True)
        self.staircase = bool(staircase)

    def rate(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate**p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase}
