"""AdaGrad (Duchi et al. 2011), as Keras 3 computes it."""

from framework.backend import get_backend
from framework.optimizers.base import Optimizer


class AdaGrad(Optimizer):
    """Each weight's step shrinks with the sum of its squared gradients::

        h <- h + g^2                       (h starts at initial_accumulator_value)
        W <- W - lr g / sqrt(h + epsilon)

    Keras's form: epsilon inside the square root and ``h`` starting at 0.1.
    The book's AdaGrad starts ``h`` at 0 and divides by ``sqrt(h) + 1e-7``.
    Found by Keras's name ``"adagrad"`` too.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **options):
        super().__init__(learning_rate, **options)
        self.initial_accumulator_value = self._hyper(initial_accumulator_value, "initial_accumulator_value", low=0.0)
        self.epsilon = self._hyper(epsilon, "epsilon", low=0.0, low_inclusive=False)

    def update(self, params, grads):
        backend = get_backend()
        xp = backend.xp
        lr = self.learning_rate
        for key, param in params.items():
            grad = grads[key]
            h = self.slot("accumulator", key, param, fill=self.initial_accumulator_value)
            # The backend may run the lines below in one compiled pass, with
            # the same numbers (see backends.numpy_fused); they are the reference.
            if backend.fused_update("adagrad", (param, grad, h), (self.epsilon, lr)):
                continue
            h += grad * grad
            step = h + self.epsilon
            xp.sqrt(step, out=step)
            xp.divide(grad, step, out=step)
            step *= lr
            param -= step
        self.iterations += 1

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
