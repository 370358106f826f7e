"""A Keras-style deep-learning framework in the style of "Deep Learning from Scratch".

    import framework as fw
    from framework import layers

    (x_train, t_train), (x_test, t_test) = fw.datasets.load("digits")
    model = fw.Sequential([layers.Affine(64), layers.ReLU(), layers.Affine(10), layers.SoftmaxWithLoss()])
    model.compile(optimizer=fw.optimizers.SGD(learning_rate=0.1), metrics=["accuracy"])
    model.fit(x_train, t_train, epochs=20)

Importing this package loads no plugin and no heavy library (CuPy, h5py,
scikit-learn): plugins load when a name is first looked up.
"""

from framework import activations, callbacks, datasets, distributed, errors, export, initializers, layers, metrics
from framework import optimizers, registry, regularizers, schedules
from framework import data
from framework.backend import Backend, get_backend, set_backend
from framework.callbacks import Callback, EarlyStopping, History, ModelCheckpoint
from framework.config import floatx, set_floatx
from framework.errors import (
    BackendError,
    CheckpointError,
    DistributedError,
    DatasetError,
    FrameworkError,
    InvalidArgumentError,
    NotCompiledError,
    PluginError,
    UnknownNameError,
)
from framework.gradient_check import gradient_check
from framework.hookspecs import hookimpl
from framework.models import Sequential
from framework.random import get_seed, set_seed
from framework.saving import load_model

__version__ = "0.1.0"

__all__ = [
    "Sequential",
    "layers",
    "activations",
    "distributed",
    "export",
    "initializers",
    "regularizers",
    "optimizers",
    "schedules",
    "datasets",
    "data",
    "callbacks",
    "metrics",
    "errors",
    "registry",
    "Callback",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "load_model",
    "Backend",
    "get_backend",
    "set_backend",
    "floatx",
    "set_floatx",
    "set_seed",
    "get_seed",
    "gradient_check",
    "hookimpl",
    "FrameworkError",
    "InvalidArgumentError",
    "UnknownNameError",
    "NotCompiledError",
    "BackendError",
    "PluginError",
    "CheckpointError",
    "DistributedError",
    "DatasetError",
]
