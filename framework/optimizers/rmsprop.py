"""RMSprop (Hinton 2012), as Keras 3 computes it."""

from framework.backend import get_backend
from framework.optimizers.base import Optimizer


class RMSprop(Optimizer):
    """Steps divided by a running root mean square of the gradient::

        s <- rho s + (1 - rho) g^2
        d <- s + epsilon                   (centered: d <- s - a^2 + epsilon,
                                            with a <- rho a + (1 - rho) g)
        inc <- lr g / sqrt(d)
        W <- W - inc                       (momentum m > 0: u <- m u + inc, W <- W - u)

    Keras's form, epsilon inside the square root. The book's RMSprop (its
    ``decay_rate`` is rho, 0.99 there) divides by ``sqrt(s) + 1e-7``.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **options):
        super().__init__(learning_rate, **options)
        self.rho = self._hyper(rho, "rho", low=0.0, high=1.0)
        self.momentum = self._hyper(momentum, "momentum", low=0.0, high=1.0)
        self.epsilon = self._hyper(epsilon, "epsilon", low=0.0, low_inclusive=False)
        self.centered = bool(centered)

    def update(self, params, grads):
        backend = get_backend()
        xp = backend.xp
        lr, rho = self.learning_rate, self.rho
        plain_rule = not self.centered and self.momentum == 0.0
        for key, param in params.items():
            grad = grads[key]
            s = self.slot("velocity", key, param)
            # The backend may run the lines below in one compiled pass, with
            # the same numbers (see backends.numpy_fused); they are the reference.
            if plain_rule and backend.fused_update("rmsprop", (param, grad, s), (rho, 1.0 - rho, self.epsilon, lr)):
                continue
            s *= rho
            s += (1.0 - rho) * (grad * grad)
            if self.centered:
                a = self.slot("average_gradient", key, param)
                a *= rho
                a += (1.0 - rho) * grad
                step = s - a * a
                step += self.epsilon
            else:
                step = s + self.epsilon
            xp.sqrt(step, out=step)
            xp.divide(grad, step, out=step)
            step *= lr
            if self.momentum > 0.0:
                u = self.slot("momentum", key, param)
                u *= self.momentum
                u += step
                step = u
            param -= step
        self.iterations += 1

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}
