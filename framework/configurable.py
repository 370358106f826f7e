"""`Configurable`: objects described by their constructor's arguments (optimizers, schedules, ...).

``get_config()`` returns those arguments as JSON-safe values;
``from_config(config)`` rebuilds the object from them, and the repr shows
them as the call that would make it: ``SGD(learning_rate=0.01, ...)``.
"""


class Configurable:
    """Base of objects rebuilt from ``get_config()``: ``cls(**config)``, as Keras's ``from_config`` does."""

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
