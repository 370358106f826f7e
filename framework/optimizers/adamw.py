"""AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay."""

from framework.errors import InvalidArgumentError
from framework.optimizers.adam import Adam


class AdamW(Adam):
    """`Adam` whose weights also decay, apart from the gradient::

        W <- W - lr * weight_decay * W     (before the Adam step, with the same lr)

    Keras's AdamW, default ``weight_decay=0.004``. Every optimizer takes a
    ``weight_decay`` argument computed this same way; AdamW only turns it on.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **options):
        if weight_decay is None:  # from_config would bring back the default: refuse, as Keras does
            raise InvalidArgumentError("AdamW: weight_decay must be a number, got weight_decay=None; use Adam for none")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay, **options)
