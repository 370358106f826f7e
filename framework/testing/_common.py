"""What the layer and optimizer checks share: failures that name the check, host copies, floatx."""

import contextlib
import json
import os
import tempfile

import numpy as np  # comparisons run on the host

from framework import config, serialization
from framework.backend import get_backend


@contextlib.contextmanager
def check(kit, name):
    """Turn any error inside into an `AssertionError` that names the check."""
    try:
        yield
    except AssertionError as exc:
        if str(exc).startswith(f"{kit}: "):
            raise
        raise AssertionError(f"{kit}: {name}: {exc}") from exc
    except Exception as exc:
        raise AssertionError(f"{kit}: {name}: raised {type(exc).__name__}: {exc}") from exc


def fail(kit, name, message):
    raise AssertionError(f"{kit}: {name}: {message}")


def host(value):
    """A NumPy copy of a backend array or number, safe from later in-place changes."""
    if isinstance(value, (int, float)):
        return np.asarray(value)
    return np.array(get_backend().to_numpy(value))


def max_difference(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


@contextlib.contextmanager
def floatx(dtype):
    previous = config.floatx()
    config.set_floatx(dtype)
    try:
        yield
    finally:
        config.set_floatx(previous)


def json_config(kit, obj):
    """`obj.get_config()`, checked to be JSON (checkpoints store configs as JSON) and to round-trip."""
    config_ = obj.get_config()
    with check(kit, "config"):
        try:
            json.dumps(config_)
            serialization.check_config(config_, f"{type(obj).__name__}.get_config()")
        except (TypeError, ValueError) as exc:
            fail(kit, "config", f"get_config() must return JSON values: scalars, lists of them or nested {{class_name, config}} specs (checkpoints store it): {exc}")
        clone = type(obj).from_config(config_)
        if clone.get_config() != config_:
            fail(kit, "config", f"from_config(get_config()) changed the config: {config_!r} -> {clone.get_config()!r}")
    return config_


@contextlib.contextmanager
def checkpoint_path():
    """A path for a throwaway checkpoint file."""
    with tempfile.TemporaryDirectory(prefix="framework-check-") as folder:
        yield os.path.join(folder, "model.h5")
