"""`LambdaCallback`: a callback made of plain functions (Keras's)."""

from framework.errors import InvalidArgumentError
from framework.training.callbacks import Callback

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
          "on_train_batch_end")


class LambdaCallback(Callback):
    """Each argument, if given, is called at that hook with the hook's arguments.

    ``on_epoch_begin``/``on_epoch_end``: ``f(epoch, logs)``;
    ``on_train_batch_begin``/``on_train_batch_end``: ``f(batch, logs)``;
    ``on_train_begin``/``on_train_end``: ``f(logs)``.

        fw.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None):
        super().__init__()
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        for hook, fn in given.items():
            if fn is not None and not callable(fn):
                raise InvalidArgumentError(f"LambdaCallback: {hook} must be callable or None, got {hook}={fn!r}")
        for hook, fn in given.items():
            if fn is not None:
                # An instance attribute shadows the base class's no-op; the
                # wrapper always passes logs, which fit may leave out.
                setattr(self, hook, _with_logs(fn) if hook in ("on_train_begin", "on_train_end") else _with_index_and_logs(fn))


def _with_logs(fn):
    return lambda logs=None: fn(logs)


def _with_index_and_logs(fn):
    return lambda index, logs=None: fn(index, logs)
