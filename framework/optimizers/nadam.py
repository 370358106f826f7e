"""Nadam (Dozat 2016): Adam with Nesterov momentum, as Keras 3 computes it."""

from framework.backend import get_backend
from framework.optimizers.base import Optimizer


class Nadam(Optimizer):
    """Adam whose first moment looks one step ahead, with a momentum schedule::

        mu_t = b1 (1 - 0.5 * 0.96^t)       (t counted from 1)
        P_t = mu_1 mu_2 ... mu_t
        m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
        m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t)
        v_hat = v / (1 - b2^t)
        W <- W - lr m_hat / (sqrt(v_hat) + epsilon)

    ``P_t`` depends on t alone, so it is recomputed from `iterations`, not
    saved: resuming from a checkpoint continues exactly.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **options):
        super().__init__(learning_rate, **options)
        self.beta_1 = self._hyper(beta_1, "beta_1", low=0.0, high=1.0)
        self.beta_2 = self._hyper(beta_2, "beta_2", low=0.0, high=1.0)
        self.epsilon = self._hyper(epsilon, "epsilon", low=0.0, low_inclusive=False)
        self._product = (0, 1.0)  # (t, P_t), to extend P by one factor a step

    def _mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96**t)

    def _momentum_product(self, t):
        done, product = self._product
        if done > t:  # the state was set back (set_state): start again
            done, product = 0, 1.0
        for s in range(done + 1, t + 1):
            product *= self._mu(s)
        self._product = (t, product)
        return product

    def update(self, params, grads):
        backend = get_backend()
        xp = backend.xp
        t = self.iterations + 1
        lr, b1, b2 = self.learning_rate, self.beta_1, self.beta_2
        mu_t, mu_next = self._mu(t), self._mu(t + 1)
        product = self._momentum_product(t)
        m_scale = mu_next / (1.0 - product * mu_next)
        g_scale = (1.0 - mu_t) / (1.0 - product)
        v_scale = 1.0 / (1.0 - b2**t)
        for key, param in params.items():
            grad = grads[key]
            m = self.slot("m", key, param)
            v = self.slot("v", key, param)
            # The backend may run the lines below in one compiled pass, with
            # the same numbers (see backends.numpy_fused); they are the reference.
            if backend.fused_update("nadam", (param, grad, m, v),
                                    (1.0 - b1, 1.0 - b2, m_scale, g_scale, v_scale, self.epsilon, lr)):
                continue
            m += (1.0 - b1) * (grad - m)
            v += (1.0 - b2) * (grad * grad - v)
            m_hat = m_scale * m
            m_hat += g_scale * grad
            denominator = v_scale * v
            xp.sqrt(denominator, out=denominator)
            denominator += self.epsilon
            param -= lr * (m_hat / denominator)
        self.iterations = t

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
