"""Models as JSON-safe descriptions, rebuilt only from registered names.

A description never names a Python module or function: each class is a name
in the plugin registry (`framework.registry`), looked up exactly, and its
config holds only JSON scalars, lists of scalars and at most one level of
nested ``{"class_name", "config"}`` specs of registered objects, passed to
``cls.from_config(config)``. Nothing in a description is imported, evaluated
or unpickled, so a description from an untrusted file can only build objects
that installed plugins registered.

A class is described as::

    {"class_name": "Affine", "package": "dlfs-framework", "version": "0.1.0",
     "config": {"name": "affine", "units": 10, "use_bias": true, "weight_init": "glorot_uniform"}}
"""

import math
import re

from framework import registry
from framework.errors import InvalidArgumentError, UnknownNameError

_SCALARS = (type(None), bool, int, float, str)
_SPEC_KEYS = {"class_name", "package", "version", "config"}
_NESTED_KEYS = {"class_name", "config"}
# A distribution name as pip accepts it: only then is "pip install <name>" suggested.
_PACKAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _short(value, limit=80):
    """`repr(value)`, cut to `limit` characters: a hostile file must not fill a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_config(config, where, nested=True):
    """Raise unless `config` is a dict of string keys to JSON scalars or lists of scalars.

    With `nested`, a value may also be one nested spec ``{"class_name": ...,
    "config": {...}}`` naming a registered object (a regularizer, an
    initializer, a schedule) whose own config is flat: nothing deeper.
    """
    if not isinstance(config, dict):
        raise InvalidArgumentError(f"{where}: config must be a JSON object, got {type(config).__name__}")
    for key, value in config.items():
        if not isinstance(key, str):
            raise InvalidArgumentError(f"{where}: config keys must be strings, got {_short(key)}")
        if nested and isinstance(value, dict):
            _check_nested_spec(value, f"{where}: config value {key!r}")
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, _SCALARS):
                # A dict here is how Keras configs name modules and functions
                # ({"module": ..., "class_name": ...}); this format never does.
                raise InvalidArgumentError(
                    f"{where}: config value {key!r} must be a JSON scalar, a list of scalars or a nested "
                    f"{{class_name, config}} spec, got {type(item).__name__} {_short(item)}"
                )
            if isinstance(item, float) and not math.isfinite(item):
                raise InvalidArgumentError(f"{where}: config value {key!r} must be finite, got {item!r}")
    return config


def _check_nested_spec(spec, where):
    if set(spec) - _NESTED_KEYS or "class_name" not in spec:
        raise InvalidArgumentError(
            f"{where}: a nested value must be {{'class_name': ..., 'config': {{...}}}}, got keys {_short(sorted(map(str, spec)))}"
        )
    if not isinstance(spec["class_name"], str) or not spec["class_name"]:
        raise InvalidArgumentError(f"{where}: class_name must be a non-empty string, got {_short(spec['class_name'])}")
    check_config(spec.get("config", {}), f"{where} ({_short(spec['class_name'])})", nested=False)


def nested_spec(kind, obj, where):
    """``{"class_name", "config"}`` of `obj`, a registered object of `kind`, for a config value.

    The inverse is `from_nested_spec`; the object's own config must be flat.
    """
    name = registry.name_of(kind, type(obj))
    if name is None:
        raise InvalidArgumentError(
            f"{where}: {type(obj).__name__} is not a registered {kind[:-1]}; register it in a plugin "
            f"(hook register_{kind}) so that a config can name it"
        )
    config = check_config(obj.get_config(), f"{where} ({name}.get_config())", nested=False)
    return {"class_name": name, "config": dict(config)}


def from_nested_spec(kind, spec, where, base=None):
    """The object a nested spec names, built through the registry only (see `nested_spec`)."""
    _check_nested_spec(spec, where)
    return build(kind, spec, where, base=base)


def describe(kind, obj, where):
    """``{"class_name", "package", "version", "config"}`` of `obj`, an instance of a registered class."""
    name = registry.name_of(kind, type(obj))
    if name is None:
        raise InvalidArgumentError(
            f"{where}: {type(obj).__name__} is not a registered {kind[:-1]}; register it in a plugin "
            f"(hook register_{kind}) so that a checkpoint can name it"
        )
    entry = registry.get(kind, name)
    config = check_config(obj.get_config(), f"{where} ({name}.get_config())")
    return {"class_name": name, "package": entry.package, "version": entry.version, "config": dict(config)}


def resolve(kind, spec, where, base=None):
    """The registered class that `spec` names, and its checked config.

    Only an exact registered name is accepted; an unknown one raises
    `UnknownNameError` naming the class and the package recorded with it.
    """
    if not isinstance(spec, dict):
        raise InvalidArgumentError(f"{where}: expected an object with class_name and config, got {type(spec).__name__}")
    extra = set(spec) - _SPEC_KEYS
    if extra:
        raise InvalidArgumentError(f"{where}: unexpected keys {sorted(map(_short, extra))}; expected {sorted(_SPEC_KEYS)}")
    class_name = spec.get("class_name")
    if not isinstance(class_name, str) or not class_name:
        raise InvalidArgumentError(f"{where}: class_name must be a non-empty string, got {_short(class_name)}")
    config = check_config(spec.get("config", {}), f"{where} ({_short(class_name)})")
    entries = registry.entries(kind)
    if class_name in entries:
        cls = entries[class_name].obj
        if base is not None and not (isinstance(cls, type) and issubclass(cls, base)):
            raise InvalidArgumentError(f"{where}: {class_name!r} is registered, but is not a {base.__name__}")
        return cls, config
    what = kind[:-1]
    if re.search(r"[.:/\\\s()]", class_name):
        raise UnknownNameError(
            f"{where}: class_name {_short(class_name)} looks like a Python module or function; "
            f"classes are found only by registered {what} name, never imported (known: {', '.join(sorted(entries))})"
        )
    package = spec.get("package")
    if isinstance(package, str) and _PACKAGE_NAME.fullmatch(package):
        version = spec.get("version")
        pinned = f"=={version}" if isinstance(version, str) and re.fullmatch(r"[A-Za-z0-9.+!_-]{1,40}", version) else ""
        hint = f"it was provided by the package {package!r}: pip install '{package}{pinned}'"
    else:
        hint = "no installable package is recorded for it"
    raise UnknownNameError(
        f"{where}: unknown {what} class {class_name!r}; {hint} (known {kind}: {', '.join(sorted(entries))})"
    )


def build(kind, spec, where, base=None):
    """An instance of the class that `spec` names, from its config."""
    cls, config = resolve(kind, spec, where, base)
    try:
        return cls.from_config(dict(config))
    except (TypeError, ValueError) as exc:  # a bad argument, as the constructor words it
        raise InvalidArgumentError(f"{where}: {spec['class_name']}.from_config failed: {exc}") from exc


def training_config(model):
    """How `model` was compiled: optimizer, loss and metrics, or None if it was not."""
    if not model.compiled:
        return None
    from framework.layers.base import LossLayer

    config = {"optimizer": describe("optimizers", model.optimizer, "optimizer"), "loss": None, "loss_layer": None,
              "metrics": _metric_specs(model.metrics)}
    if isinstance(model.loss, LossLayer):
        config["loss_layer"] = describe("layers", model.loss, "loss")
    elif model.loss is not None:
        config["loss"] = model.loss
    return config


def _metric_specs(metrics):
    """Each compiled metric as a name or a nested spec; an unregistered function is left out, with a warning."""
    import warnings

    from framework.metrics import Metric

    specs = []
    for i, metric in enumerate(metrics):
        if isinstance(metric, str):
            specs.append(metric)
        elif isinstance(metric, Metric):
            specs.append(nested_spec("metrics", metric, f"metrics[{i}]"))
        elif registry.name_of("metrics", metric) is not None:
            specs.append(registry.name_of("metrics", metric))
        else:
            warnings.warn(
                f"the metric function {getattr(metric, '__name__', metric)!r} is not registered, so the checkpoint "
                "leaves it out; register it in a plugin (hook register_metrics) to keep it", RuntimeWarning,
                stacklevel=4,
            )
    return specs


def compile_from(model, config, where="training_config"):
    """Compile `model` as `config` (from `training_config`) describes; the optimizer starts fresh."""
    from framework.layers.base import LossLayer
    from framework.optimizers.base import Optimizer

    if not isinstance(config, dict):
        raise InvalidArgumentError(f"{where}: expected an object, got {type(config).__name__}")
    optimizer = build("optimizers", config.get("optimizer"), f"{where}.optimizer", base=Optimizer)
    loss, loss_spec = config.get("loss"), config.get("loss_layer")
    if loss is not None and not isinstance(loss, str):
        raise InvalidArgumentError(f"{where}.loss: expected a loss name, got {_short(loss)}")
    if loss_spec is not None:
        if loss is not None:
            raise InvalidArgumentError(f"{where}: has both a loss name and a loss layer")
        loss = build("layers", loss_spec, f"{where}.loss_layer", base=LossLayer)
    metrics = config.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(name, (str, dict)) for name in metrics):
        raise InvalidArgumentError(f"{where}.metrics: expected a list of metric names or specs, got {_short(metrics)}")
    from framework.metrics import Metric

    metrics = [from_nested_spec("metrics", spec, f"{where}.metrics[{i}]", base=Metric) if isinstance(spec, dict) else spec
               for i, spec in enumerate(metrics)]
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model
