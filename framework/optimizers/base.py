"""The optimizer contract, and what every optimizer gets from the base class.

A subclass writes only ``update(params, grads)``: the rule itself. The base
class's ``apply(params, grads)``, which training calls, first clips the
gradients (``clipnorm``, ``clipvalue``, ``global_clipnorm``), decays the
weights (``weight_decay``) and resolves a learning-rate schedule, as Keras 3's
``Optimizer.apply`` does, then calls ``update``.
"""

import functools
import inspect
import math
import numbers

import numpy as np  # host copies of the state, for checkpoints

from framework.backend import get_backend
from framework.configurable import Configurable
from framework.errors import InvalidArgumentError

# The options every optimizer takes (Keras's names); None means off.
OPTIONS = ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay")


class Optimizer(Configurable):
    """Base class of optimizers.

    ``update(params, grads)`` changes every array of ``params`` *in place*
    from the same key of ``grads``. Keys are parameter names unique in the
    model (``"affine/W"``), and per-parameter state (momentum, Adam's moments)
    is kept under the same names in ``state[slot][key]``, so it can be saved
    and restored. Hyperparameters are Python floats: a NumPy scalar would turn
    float32 arithmetic into float64.

    Args:
        learning_rate: a positive float, or a schedule
            (`framework.schedules`) called with `iterations` before each update.
        clipnorm: clip each gradient to this L2 norm: ``g * c / max(||g||, c)``.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together to this joint L2 norm.
        weight_decay: decoupled decay before the update, ``W <- W - lr * wd * W``.

    At most one of the three clipping options may be set (as in Keras).
    """

    def __init__(self, learning_rate=0.01, clipnorm=None, clipvalue=None, global_clipnorm=None, weight_decay=None):
        self._schedule = None
        self._learning_rate = None
        self.learning_rate = learning_rate  # checked by the setter
        self.iterations = 0  # number of updates done
        self.state = {}
        self.last_learning_rate = None  # the rate of the last `apply`, for the logs
        self._set_options(clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
                          weight_decay=weight_decay)

    def __init_subclass__(cls, **kwargs):
        # Plugins written before these options existed (the example's Lion)
        # take no clipnorm/... arguments and return configs without them:
        # wrap their __init__ and get_config so they get the options anyway.
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _accepting_options(cls.__dict__["__init__"])
        if "get_config" in cls.__dict__:
            cls.get_config = _completing_config(cls.__dict__["get_config"])

    # -- hyperparameters ----------------------------------------------------
    def _hyper(self, value, argument, low=None, high=None, low_inclusive=True):
        """`value` as a finite Python float in the interval given, else `InvalidArgumentError`."""
        name = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InvalidArgumentError(f"{name}: {argument} must be a number, got {argument}={value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise InvalidArgumentError(f"{name}: {argument} must be finite, got {argument}={value!r}")
        too_low = low is not None and (value < low or (value == low and not low_inclusive))
        too_high = high is not None and value >= high
        if too_low or too_high:
            interval = f"{'[' if low_inclusive else '('}{low}, {high if high is not None else 'inf'})"
            raise InvalidArgumentError(f"{name}: {argument} must be in {interval}, got {argument}={value!r}")
        return value

    def _set_options(self, **options):
        checked = {key: None if value is None else self._hyper(value, key, low=0.0, low_inclusive=key == "weight_decay")
                   for key, value in options.items()}
        clips = [key for key in ("clipnorm", "clipvalue", "global_clipnorm") if checked.get(key) is not None]
        if len(clips) > 1:
            raise InvalidArgumentError(
                f"{type(self).__name__}: only one of clipnorm, clipvalue and global_clipnorm can be set, got {clips}"
            )
        for key, value in checked.items():
            setattr(self, f"_{key}", value)
        # A subclass may keep its own `weight_decay` attribute (Lion applies
        # it in its update); the base class reads only `_weight_decay`.
        if "weight_decay" in options:
            self.weight_decay = checked["weight_decay"]

    @property
    def learning_rate(self):
        """The learning rate of the next update, a Python float (a schedule is called with `iterations`)."""
        if self._schedule is not None:
            return float(self._schedule(self.iterations))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        from framework import schedules

        if isinstance(value, (schedules.LearningRateSchedule, dict)):
            self._schedule, self._learning_rate = schedules.get(value), None
            return
        if self._schedule is not None:
            raise InvalidArgumentError(
                f"{type(self).__name__}: the learning rate comes from the schedule {self._schedule!r} and cannot be "
                f"set; got learning_rate={value!r}"
            )
        self._learning_rate = self._hyper(value, "learning_rate", low=0.0, low_inclusive=False)

    @property
    def schedule(self):
        """The learning-rate schedule, or None for a constant rate."""
        return self._schedule

    # -- the update ---------------------------------------------------------
    def apply(self, params, grads):
        """Clip `grads`, decay `params`, then `update(params, grads)`; what training calls.

        The layers' gradient arrays are not changed: clipping makes new ones.
        """
        lr = self.learning_rate
        grads = self._clip(grads)
        if self._weight_decay:
            decay = lr * self._weight_decay
            for param in params.values():
                param -= decay * param
        self.update(params, grads)
        self.last_learning_rate = lr

    def _clip(self, grads):
        xp = get_backend().xp
        if self._clipvalue is not None:
            return {key: xp.clip(g, -self._clipvalue, self._clipvalue) for key, g in grads.items()}
        if self._clipnorm is not None:
            return {key: g * (self._clipnorm / max(_norm(xp, g), self._clipnorm)) for key, g in grads.items()}
        if self._global_clipnorm is not None:
            total = math.sqrt(sum(_norm(xp, g) ** 2 for g in grads.values()))
            scale = self._global_clipnorm / max(total, self._global_clipnorm)
            return {key: g * scale for key, g in grads.items()}
        return grads

    def slot(self, slot, key, like, fill=0.0):
        """The state array `slot` of parameter `key`, filled with `fill` and shaped like `like` on first use."""
        table = self.state.setdefault(slot, {})
        if key not in table:
            xp = get_backend().xp
            table[key] = xp.zeros_like(like) if fill == 0.0 else xp.full_like(like, fill)
        return table[key]

    def update(self, params, grads):
        raise NotImplementedError

    # -- state and config ---------------------------------------------------
    def get_state(self):
        """``{"iterations": int, "slots": {slot: {param name: NumPy array}}}``: copies, on the host."""
        backend = get_backend()
        slots = {slot: {key: np.array(backend.to_numpy(value)) for key, value in table.items()}
                 for slot, table in self.state.items()}
        return {"iterations": self.iterations, "slots": slots}

    def set_state(self, state):
        """Restore what `get_state` returned; checked whole before any change."""
        name = type(self).__name__
        if not isinstance(state, dict) or set(state) != {"iterations", "slots"}:
            raise InvalidArgumentError(f"{name}.set_state: expected a dict with 'iterations' and 'slots', got {state!r:.80}")
        iterations, slots = state["iterations"], state["slots"]
        if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) or iterations < 0:
            raise InvalidArgumentError(f"{name}.set_state: iterations must be a non-negative integer, got {iterations!r}")
        if not isinstance(slots, dict) or not all(isinstance(table, dict) for table in slots.values()):
            raise InvalidArgumentError(f"{name}.set_state: slots must map slot names to {{param name: array}}")
        backend = get_backend()
        # Host copies (to_numpy takes backend arrays too): the restored state
        # must not share memory with the caller's arrays.
        host = {slot: {key: np.array(backend.to_numpy(value)) for key, value in table.items()}
                for slot, table in slots.items()}
        for slot, table in host.items():
            for key, value in table.items():
                if value.dtype.kind != "f":
                    raise InvalidArgumentError(f"{name}.set_state: {slot}/{key} must be a float array, got dtype {value.dtype}")
        self.state = {slot: {key: backend.asarray(value) for key, value in table.items()} for slot, table in host.items()}
        self.iterations = int(iterations)

    def get_config(self):
        """The constructor's arguments: ``learning_rate`` (a nested spec for a schedule) and the options set."""
        return {"learning_rate": self._learning_rate}


def _norm(xp, g):
    """The L2 norm of `g` as a Python float."""
    return math.sqrt(float(xp.sum(g * g)))


def _accepting_options(init):
    """`init`, also taking the base options it does not declare itself, applied after it ran."""
    parameters = inspect.signature(init).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return init
    missing = [key for key in OPTIONS if key not in parameters]

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        options = {key: kwargs.pop(key) for key in missing if key in kwargs}
        init(self, *args, **kwargs)
        if options:
            current = {key: getattr(self, f"_{key}", None) for key in ("clipnorm", "clipvalue", "global_clipnorm")}
            self._set_options(**{**current, **options})

    return __init__


def _completing_config(get_config):
    """`get_config`, with the schedule as a nested spec and every option set, whatever the subclass returned."""

    @functools.wraps(get_config)
    def wrapper(self):
        config = dict(get_config(self))
        if self._schedule is not None:
            from framework import serialization

            config["learning_rate"] = serialization.nested_spec("schedules", self._schedule, "learning_rate")
        for key in OPTIONS:
            value = getattr(self, f"_{key}", None)
            if value is not None and key not in config:
                config[key] = value
        return config

    return wrapper


Optimizer.get_config = _completing_config(Optimizer.get_config)
