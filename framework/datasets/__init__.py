"""Data sets by name: ``(x_train, y_train), (x_test, y_test) = fw.datasets.load("mnist")``.

The loaders are plugins (built-in ones in `framework.plugins.datasets`);
this package holds the machinery they share: the IDX format (`idx`) and a
verified, cached download (`download`).
"""

from framework import registry
from framework.errors import DatasetError, FrameworkError


def load(name, **kwargs):
    """Load the data set registered as `name`; keyword arguments go to its loader.

    Built-in: ``"digits"``, ``"mnist"``, ``"fashion_mnist"``, ``"iris"``,
    ``"wine"``, ``"breast_cancer"``, ``"diabetes"``, ``"moons"``,
    ``"circles"``, ``"spiral"``, ``"xor"``. Each returns
    ``((x_train, y_train), (x_test, y_test))``. A loader that fails raises `DatasetError` naming the data set, its plugin and its package.
    """
    entry = registry.get("datasets", name, what="dataset")
    try:
        return entry.obj(**kwargs)
    except FrameworkError:
        raise  # already the framework's own error, naming what was wrong
    except Exception as exc:
        raise DatasetError(f"the data set {entry.name!r} of plugin {entry.plugin!r} (package {entry.package}) "
                           f"failed to load: {type(exc).__name__}: {exc}") from exc


def names():
    """The names of the installed data sets."""
    return registry.names("datasets")
