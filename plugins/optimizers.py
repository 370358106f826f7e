"""The built-in optimizers' registration; the rules live in `framework.optimizers`."""

from framework.hookspecs import hookimpl
from framework.optimizers import SGD, AdaGrad, Adam, AdamW, Momentum, Nadam, Nesterov, RMSprop
from framework.optimizers.adam import amsgrad


@hookimpl
def register_optimizers(register):
    for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam, AdamW, Nadam):
        register(cls)
    register(amsgrad, name="amsgrad")  # Adam(amsgrad=True); saved as "Adam" with amsgrad in its config
