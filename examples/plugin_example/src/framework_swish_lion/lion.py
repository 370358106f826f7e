"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms")."""

from framework.backend import get_backend
from framework.optimizers import Optimizer


class Lion(Optimizer):
    """Steps of the same size for every weight: the sign of a momentum mix.

    Per weight ``w`` with gradient ``g`` and momentum ``m`` (zeros at first)::

        update = sign(beta_1 m + (1 - beta_1) g)
        w <- w - learning_rate (update + weight_decay w)
        m <- beta_2 m + (1 - beta_2) g

    Every step moves each weight by exactly ``learning_rate`` (plus decay), so
    Lion wants a learning rate 3-10x smaller than Adam's; the defaults are
    Keras's.
    """

    def __init__(self, learning_rate=1e-4, beta_1=0.9, beta_2=0.99,
                 weight_decay=0.0):
        super().__init__(learning_rate)
        self.beta_1 = self._hyper(beta_1, "beta_1", low=0.0, high=1.0)
        self.beta_2 = self._hyper(beta_2, "beta_2", low=0.0, high=1.0)
        self.weight_decay = self._hyper(weight_decay, "weight_decay", low=0.0)

    def update(self, params, grads):
        xp = get_backend().xp
        lr, b1, b2 = self.learning_rate, self.beta_1, self.beta_2
        wd = self.weight_decay
        for key, param in params.items():
            grad = grads[key]
            m = self.slot("m", key, param)
            step = xp.sign(b1 * m + (1.0 - b1) * grad)
            if wd:
                step += wd * param
            param -= lr * step  # in place: the layer holds this very array
            m *= b2
            m += (1.0 - b2) * grad
        self.iterations += 1

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "weight_decay": self.weight_decay,
        }
