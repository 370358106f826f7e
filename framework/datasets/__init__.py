"""Data sets by name: ``(x_train, y_train), (x_test, y_test) = fw.datasets.load("mnist")``.

The loaders are plugins (built-in ones in `framework.plugins.datasets`);
this package holds the machinery they share: the IDX format (`idx`) and a
verified, cached download (`download`).
"""

from framework import registry


def load(name, **kwargs):
    """Load the data set registered as `name`; keyword arguments go to its loader.

    Built-in: ``"digits"``, ``"mnist"``, ``"fashion_mnist"``, ``"iris"``,
    ``"wine"``, ``"breast_cancer"``, ``"diabetes"``, ``"moons"``,
    ``"circles"``, ``"spiral"``, ``"xor"``. Each returns
    ``((x_train, y_train), (x_test, y_test))``.
    """
    return registry.get("datasets", name, what="dataset").obj(**kwargs)


def names():
    """The names of the installed data sets."""
    return registry.names("datasets")
