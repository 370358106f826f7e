"""The optimizer contract."""

import numbers

import numpy as np  # host copies of the state, for checkpoints

from framework.backend import get_backend
from framework.errors import InvalidArgumentError


class Optimizer:
    """Base class of optimizers.

    ``update(params, grads)`` changes every array of ``params`` *in place*
    from the same key of ``grads``. Keys are parameter names unique in the
    model (``"affine/W"``), and per-parameter state (momentum, Adam's moments)
    is kept under the same names in ``state[slot][key]``, so it can be saved
    and restored. Hyperparameters are Python floats: a NumPy scalar would turn
    float32 arithmetic into float64.
    """

    def __init__(self, learning_rate=0.01):
        self.learning_rate = self._hyper(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
        self.iterations = 0  # number of updates done
        self.state = {}

    def _hyper(self, value, argument, low=None, high=None, low_inclusive=True):
        name = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InvalidArgumentError(f"{name}: {argument} must be a number, got {argument}={value!r}")
        value = float(value)
        too_low = low is not None and (value < low or (value == low and not low_inclusive))
        too_high = high is not None and value >= high
        if too_low or too_high:
            interval = f"{'[' if low_inclusive else '('}{low}, {high if high is not None else 'inf'})"
            raise InvalidArgumentError(f"{name}: {argument} must be in {interval}, got {argument}={value!r}")
        return value

    def slot(self, slot, key, like):
        """The state array `slot` of parameter `key`, zeros shaped like `like` on first use."""
        table = self.state.setdefault(slot, {})
        if key not in table:
            table[key] = get_backend().xp.zeros_like(like)
        return table[key]

    def update(self, params, grads):
        raise NotImplementedError

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
        return {"learning_rate": self.learning_rate}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
