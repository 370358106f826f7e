"""Adam (Kingma & Ba 2015) and AMSGrad (Reddi et al. 2018), as Keras 3 computes them."""

import math

from framework.backend import get_backend
from framework.optimizers.base import Optimizer


class Adam(Optimizer):
    """Steps scaled by running estimates of the gradient's mean and variance::

        m <- b1 m + (1 - b1) g
        v <- b2 v + (1 - b2) g^2
        v_hat <- max(v_hat, v)             (amsgrad=True only; then v_hat replaces v)
        W <- W - lr_t m / (sqrt(v) + epsilon),  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)

    with t the step counted from 1: Keras's form, which is also the book's.
    ``amsgrad=True`` (or the name ``"amsgrad"``) divides by the largest
    second moment seen so far, so a step never grows because ``v`` shrank.
    """

    FLUSH_EVERY = 16  # steps between flushes of denormal moments (see _flush_denormals)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **options):
        super().__init__(learning_rate, **options)
        self.beta_1 = self._hyper(beta_1, "beta_1", low=0.0, high=1.0)
        self.beta_2 = self._hyper(beta_2, "beta_2", low=0.0, high=1.0)
        self.epsilon = self._hyper(epsilon, "epsilon", low=0.0, low_inclusive=False)
        self.amsgrad = bool(amsgrad)

    def update(self, params, grads):
        backend = get_backend()
        xp = backend.xp
        t = self.iterations + 1
        # Python floats: a NumPy scalar here would make float32 weights float64.
        lr_t = self.learning_rate * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        for key, param in params.items():
            grad = grads[key]
            m = self.slot("m", key, param)
            v = self.slot("v", key, param)
            # The backend may run the lines below in one compiled pass, with the same numbers
            # (see backends.numpy_fused); they are the algorithm, and the reference.
            if self.amsgrad or not backend.fused_update(
                    "adam", (param, grad, m, v), (1.0 - self.beta_1, 1.0 - self.beta_2, self.epsilon, lr_t)):
                # The algorithm's three lines,
                #     m += (1 - b1) (g - m);  v += (1 - b2) (g g - v);  W -= lr_t m / (sqrt(v) + eps),
                # computed in place through one scratch array: a quarter faster
                # than with a new temporary array for every operation.
                step = xp.subtract(grad, m)
                step *= 1.0 - self.beta_1
                m += step
                xp.multiply(grad, grad, out=step)
                step -= v
                step *= 1.0 - self.beta_2
                v += step
                if self.amsgrad:
                    v_hat = self.slot("v_hat", key, param)
                    xp.maximum(v_hat, v, out=v_hat)
                    xp.sqrt(v_hat, out=step)
                else:
                    xp.sqrt(v, out=step)
                step += self.epsilon
                xp.divide(m, step, out=step)
                step *= lr_t
                param -= step
            if t % self.FLUSH_EVERY == 0:
                _flush_denormals(xp, m)
        self.iterations = t

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


def amsgrad(**kwargs):
    """``Adam(amsgrad=True, ...)``: what the registered name ``"amsgrad"`` makes."""
    return Adam(amsgrad=True, **kwargs)


def _flush_denormals(xp, m):
    """Set to 0 the entries of `m` too small to be normal floats.

    Where a gradient stays 0 (a dead ReLU unit), ``m`` decays by beta_1 each
    step and spends ~150 steps as a float32 denormal before reaching 0; the
    CPU computes on denormals ~100x slower, which made whole Adam epochs 75%
    slower. Their value (< 1.2e-38) changes no update.
    """
    m[xp.abs(m) < xp.finfo(m.dtype).tiny] = 0
