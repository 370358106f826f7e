"""What each registered kind must be, checked when a plugin registers it.

A wrong object found only at use fails far from its cause (an
``AttributeError`` deep in a training step); checked at registration, the
error names the plugin and its package instead. Factories (losses, an
optimizer such as ``amsgrad``) can only be called, not inspected: their
product is checked where they are called (`check_product`).
"""

import functools
import inspect

_FORMAT_METHODS = ("save_model", "load_model", "save_weights", "load_weights")


def _subclass_of(base_path):
    def check(obj):
        module, _, name = base_path.rpartition(".")
        base = getattr(__import__(module, fromlist=[name]), name)  # late: these modules import the registry
        if not (inspect.isclass(obj) and issubclass(obj, base)):
            return f"a subclass of {name}"
        return None

    return check


def _layer_or_partial(obj):
    """Activations: a Layer subclass, or a `functools.partial` of one (``LeakyReLU`` with its slope)."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    problem = _subclass_of("framework.layers.base.Layer")(obj)
    return None if problem is None else problem + " (or a functools.partial of one)"


def _optimizer_or_factory(obj):
    """Optimizers: an Optimizer subclass, or a factory function (``amsgrad``) whose product `get` checks."""
    if inspect.isclass(obj):
        return _subclass_of("framework.optimizers.base.Optimizer")(obj)
    return None if callable(obj) else "a subclass of Optimizer or a function returning an Optimizer"


def _callable(obj):
    return None if callable(obj) else "callable (a class or a function)"


def _checkpoint_format(obj):
    missing = [m for m in _FORMAT_METHODS if not callable(getattr(obj, m, None))]
    if missing or not isinstance(getattr(obj, "signature", None), bytes) or inspect.isclass(obj):
        return "an object (not a class) with the methods of CheckpointFormat and a bytes signature"
    return None


_CHECKS = {
    "backends": _subclass_of("framework.backend.Backend"),
    "layers": _subclass_of("framework.layers.base.Layer"),
    "activations": _layer_or_partial,
    "optimizers": _optimizer_or_factory,
    "checkpoint_formats": _checkpoint_format,
    "losses": _callable,
    "datasets": _callable,
    "metrics": _callable,
    "regularizers": _callable,
    "initializers": _callable,
    "schedules": _callable,
}


def problem(kind, obj):
    """None if `obj` may be registered as `kind`, else what it should be."""
    check = _CHECKS.get(kind)
    return None if check is None else check(obj)


def check_product(product, base, name, entry):
    """`product`, made by the factory registered as `name`, checked to be a `base` (LossLayer, Optimizer)."""
    from framework.errors import PluginError

    if not isinstance(product, base):
        raise PluginError(
            f"the {entry.kind[:-1]} {name!r} of plugin {entry.plugin!r} (package {entry.package}) made a "
            f"{type(product).__name__}, not a {base.__name__}"
        )
    return product


def check_loss_layer(product, name, entry):
    """`product` of the loss factory registered as `name`, checked to be a `LossLayer`."""
    from framework.layers.base import LossLayer

    return check_product(product, LossLayer, name, entry)
