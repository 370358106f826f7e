"""The framework's own exception types.

Every error a user can trigger derives from `FrameworkError`, so one
`except fw.FrameworkError` catches them all; each also derives from the
built-in exception a Python user would expect (`ValueError`, `RuntimeError`),
so existing `except ValueError` code keeps working.
"""


class FrameworkError(Exception):
    """Base class of every error raised by the framework."""


class InvalidArgumentError(FrameworkError, ValueError, TypeError):
    """An argument has the wrong value, type, shape or dtype.

    The message names the argument, what was expected and what was given.
    """


class UnknownNameError(InvalidArgumentError):
    """A name (optimizer, loss, metric, backend, dataset, layer) is not registered.

    The message lists the names that are known.
    """


class NotCompiledError(FrameworkError, RuntimeError):
    """`fit`/`evaluate`/`train_on_batch` was called before `compile`."""


class BackendError(FrameworkError, RuntimeError):
    """A backend cannot be used here (library missing, no device, ...)."""


class PluginError(FrameworkError, RuntimeError):
    """The plugin registry is inconsistent (e.g. two plugins claim one name)."""


class CheckpointError(FrameworkError, OSError):
    """A checkpoint cannot be saved or loaded: missing, corrupt, unsafe or incompatible.

    The message names the path and the reason. It derives from `OSError`,
    which is what HDF5 itself raises for unreadable files.
    """


class DistributedError(FrameworkError, RuntimeError):
    """Distributed training cannot start or continue (mpi4py missing, ranks disagree, ...)."""


class DatasetError(FrameworkError, OSError):
    """A data set cannot be downloaded, verified or read.

    The message names the files, the folder they belong in and where to get
    them. It derives from `OSError`, as network and file errors do.
    """
