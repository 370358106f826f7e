"""The plugin contract: the hooks a plugin may implement.

A plugin is a module named by an entry point in the group ``framework``::

    # pyproject.toml of a third-party package
    [project.entry-points.framework]
    swish = "my_package.plugin"

    # my_package/plugin.py
    import framework as fw

    @fw.hookimpl
    def register_layers(register):
        register(Swish)              # registered as "Swish"
        register(Swish, name="swish_v2")

Each hook receives a ``register(obj, name=None)`` function: ``obj`` is stored
under ``name``, or under its own ``__name__`` when no name is given. Plugins
implement any subset of the hooks. The framework's own backends, layers,
losses, optimizers and datasets are registered through exactly these hooks.
"""

import pluggy

PROJECT_NAME = "framework"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_backends(register):
    """Register `Backend` subclasses (instantiated by `set_backend`)."""


@hookspec
def register_layers(register):
    """Register `Layer` subclasses, by class name (used by configs and checkpoints)."""


@hookspec
def register_optimizers(register):
    """Register `Optimizer` subclasses (their names work in `compile(optimizer=...)`)."""


@hookspec
def register_losses(register):
    """Register loss-layer factories under loss names (`compile(loss=...)`)."""


@hookspec
def register_datasets(register):
    """Register loaders: functions returning ``((x_train, y_train), (x_test, y_test))``."""


@hookspec
def register_checkpoint_formats(register):
    """Register checkpoint formats (savers/loaders of whole models)."""


@hookspec
def register_activations(register):
    """Register activation layer classes under Keras's lower-case names (``"relu"``, ``"tanh"``).

    ``Dense(64, activation="relu")`` and ``Activation("relu")`` look the name up
    here; the kind is separate from ``layers``, so ``"relu"`` never clashes
    with the layer class ``ReLU``.
    """


@hookspec
def register_regularizers(register):
    """Register regularizer classes (``L2``, ``L1``, ``L1L2``), used as ``kernel_regularizer=``."""


@hookspec
def register_initializers(register):
    """Register `Initializer` subclasses under Keras's names (``"glorot_uniform"``, ``"he_normal"``, ``"zeros"``).

    Register each class under its class name first: a layer's config names
    an initializer object by the first name its class is registered under.
    """


@hookspec
def register_metrics(register):
    """Register metrics: ``register(fn, name)``, ``fn(y_true, y_pred)`` on host NumPy arrays, or a metric class."""


@hookspec
def register_schedules(register):
    """Register learning-rate schedule classes (``ExponentialDecay``, ``InverseSqrtDecay``, ...)."""
