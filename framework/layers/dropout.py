"""Dropout: in training, zero each unit with probability ``rate``; the rest scaled by ``1 / (1 - rate)``."""

import numbers

import numpy as np  # the masks are drawn on the host, like the weights: same numbers on every backend

from framework import random
from framework.backend import get_backend
from framework.errors import InvalidArgumentError
from framework.layers.base import Layer


class Dropout(Layer):
    """Inverted dropout: ``out = x * mask``, ``mask = keep / (1 - rate)``, ``keep ~ Bernoulli(1 - rate)``.

    Only with ``training=True``; at inference ``out = x``. Scaling the kept
    units in training (rather than the book's ``x * (1 - rate)`` at inference)
    keeps each unit's expected value, so inference needs no change (Keras's
    convention). Any shape; the mask has the shape of ``x``.

    Backward: ``out`` is ``x`` times a constant mask, so ``dx = dout * mask``
    (``dx = dout`` at inference).

    Masks come from a stream of the layer's own: the mask of its k-th
    training call is drawn from ``numpy.random.default_rng([seed, k])`` on the
    host. So `fw.set_seed` (which fixes the drawn `seed`) makes runs
    bit-identical on every backend, and the stream's whole state is two
    integers: `seed` is in the config and the call count `calls` is saved in
    checkpoints (`get_random_state`), so a resumed run draws the masks an
    uninterrupted one would. Inside `framework.random.fixed_noise()` a call
    reuses the mask of the next call without advancing (gradient checks).

    Args:
        rate: the fraction of units dropped, in [0, 1).
        seed: the stream's seed, a non-negative integer; None draws one from
            the framework's seeded generator when the layer is built, with
            the model's weights (Keras takes a new random one). Once built,
            the config records the seed in use, so a model rebuilt from it
            drops the same units.

    Keras's ``noise_shape`` is not supported.
    """

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name=name)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= rate < 1.0:
            raise InvalidArgumentError(f"Dropout: rate must be a number in [0, 1), got rate={rate!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise InvalidArgumentError(f"Dropout: seed must be a non-negative integer or None, got seed={seed!r}")
        self.rate = float(rate)
        self.seed = None if seed is None else int(seed)
        self.calls = 0  # training calls that drew a mask: the position in the stream
        self.mask = None

    def build(self, input_shape):
        if self.seed is None:
            self.seed = random.new_seed()  # here, not in __init__: set_seed before fit fixes masks and weights alike
        super().build(input_shape)

    def _draw_mask(self, shape, dtype):
        # keep = default_rng([seed, calls]).random(shape, dtype=float32) >= rate,
        # the same booleans made without the floats (see random.uniform_at_least)
        keep = random.uniform_at_least([self.seed, self.calls], shape, self.rate)
        if not random.noise_fixed():
            self.calls += 1
        scale = np.asarray(1.0 / (1.0 - self.rate), dtype=dtype)
        # Built on the host in the input's dtype, so float32 stays float32; a
        # kept unit is True * scale = scale, a dropped one 0, in one pass.
        return get_backend().asarray(np.multiply(keep, scale, dtype=dtype))

    def forward(self, x, training=False):
        if not self.built:
            self.build(x.shape)
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        self.mask = self._draw_mask(tuple(x.shape), x.dtype)
        return x * self.mask

    def backward(self, dout):
        if self.mask is None:
            return dout.copy()  # a copy: callers may write into what backward returns
        return dout * self.mask

    def get_random_state(self):
        return {"calls": self.calls}

    def set_random_state(self, state):
        calls = state.get("calls") if isinstance(state, dict) and set(state) == {"calls"} else None
        if isinstance(calls, bool) or not isinstance(calls, int) or calls < 0:
            raise InvalidArgumentError(
                f"{self.name}: random state must be {{'calls': a non-negative integer}}, got {state!r:.80}"
            )
        self.calls = calls

    def get_config(self):
        return {"name": self.name, "rate": self.rate, "seed": self.seed}
