"""Cosine decay with optional linear warm-up (Keras's `CosineDecay`, Loshchilov & Hutter 2017)."""

import math

from framework.schedules.base import LearningRateSchedule


class CosineDecay(LearningRateSchedule):
    """Half a cosine from a peak rate down to ``alpha * peak`` over `decay_steps`.

    Without warm-up (``warmup_target=None``) the peak is
    `initial_learning_rate` and, with ``s = min(step, decay_steps)``::

        rate = peak * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)

    With ``warmup_target``, the rate first rises linearly from
    `initial_learning_rate` to `warmup_target` over `warmup_steps`
    (``initial + (target - initial) * step / warmup_steps``), then decays from
    `warmup_target` as above with ``s = min(step - warmup_steps, decay_steps)``.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = self._number(initial_learning_rate, "initial_learning_rate", low=0.0)
        self.decay_steps = self._count(decay_steps, "decay_steps")
        self.alpha = self._number(alpha, "alpha", low=0.0)
        self.warmup_target = None if warmup_target is None else self._number(warmup_target, "warmup_target", positive=True)
        self.warmup_steps = self._count(warmup_steps, "warmup_steps", positive=False)

    def _decay(self, step, peak):
        fraction = min(step, self.decay_steps) / self.decay_steps
        return peak * ((1.0 - self.alpha) * 0.5 * (1.0 + math.cos(math.pi * fraction)) + self.alpha)

    def rate(self, step):
        if self.warmup_target is None:
            return self._decay(step, self.initial_learning_rate)
        if step < self.warmup_steps:
            return self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate) * step / self.warmup_steps
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}
