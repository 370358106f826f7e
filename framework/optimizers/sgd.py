"""Stochastic gradient descent, with momentum and Nesterov momentum (Keras 3's rule).

The book's `Momentum` and `Nesterov` are this class with momentum on by default.
"""

from framework.backend import get_backend
from framework.optimizers.base import Optimizer


class SGD(Optimizer):
    """Gradient descent: ``W <- W - lr * g``.

    With ``momentum`` m > 0, a velocity accumulates past steps::

        v <- m v - lr g
        W <- W + v                  (nesterov=False)
        W <- W + m v - lr g         (nesterov=True: the new v, one step ahead)

    exactly as Keras 3 computes it. Extra keyword arguments are the base
    options (`clipnorm`, `weight_decay`, ...; see `Optimizer`).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **options):
        super().__init__(learning_rate, **options)
        self.momentum = self._hyper(momentum, "momentum", low=0.0, high=1.0)
        self.nesterov = bool(nesterov)

    def update(self, params, grads):
        lr, momentum = self.learning_rate, self.momentum
        backend = get_backend()
        rule = "sgd" if momentum == 0.0 else "nesterov" if self.nesterov else "momentum"
        for key, param in params.items():
            grad = grads[key]
            # The backend may run each rule's lines in one compiled pass, with
            # the same numbers (see backends.numpy_fused); they are the reference.
            if momentum == 0.0:
                if not backend.fused_update(rule, (param, grad), (lr,)):
                    param -= lr * grad
                continue
            velocity = self.slot("velocity", key, param)
            if backend.fused_update(rule, (param, grad, velocity), (lr, momentum)):
                continue
            velocity *= momentum
            velocity -= lr * grad
            if self.nesterov:
                param += momentum * velocity - lr * grad
            else:
                param += velocity
        self.iterations += 1

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Momentum(SGD):
    """The book's Momentum: `SGD` with ``momentum=0.9``: ``v <- m v - lr g``, ``W <- W + v``."""

    def __init__(self, learning_rate=0.01, momentum=0.9, **options):
        super().__init__(learning_rate, momentum=momentum, nesterov=False, **options)

    def get_config(self):
        config = super().get_config()
        del config["nesterov"]
        return config


class Nesterov(SGD):
    """Nesterov momentum under the book's name: `SGD` with ``momentum=0.9, nesterov=True``.

    ``v <- m v - lr g``, ``W <- W + m v - lr g`` (Keras's form). The book's
    `Nesterov` computes ``W <- W + m^2 v - (1 + m) lr g`` with the same new
    ``v``, which takes different steps: the docs compare the two.
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, **options):
        super().__init__(learning_rate, momentum=momentum, nesterov=True, **options)

    def get_config(self):
        config = super().get_config()
        del config["nesterov"]
        return config
