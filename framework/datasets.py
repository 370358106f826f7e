"""Data sets by name: ``(x_train, y_train), (x_test, y_test) = fw.datasets.load("digits")``."""

from framework import registry


def load(name, **kwargs):
    """Load the data set registered as `name` (built-in: ``"digits"``); keyword arguments go to its loader."""
    return registry.get("datasets", name, what="dataset").obj(**kwargs)


def names():
    """The names of the installed data sets."""
    return registry.names("datasets")
