"""How the registry fails: clashing names, raising hooks, misspelled hooks, broken or disabled entry points."""

import json
import types

import numpy as np
import pytest

import framework as fw
from framework import layers, registry
from framework.errors import PluginError
from framework.layers import Layer

from . import fake_site


def _layer_class(name):
    return type(name, (Layer,), {"forward": lambda self, x, training=False: x, "backward": lambda self, dout: dout})


def _plugin(**hooks):
    """A plugin object whose attributes are the given hook implementations."""
    return types.SimpleNamespace(**{name: fw.hookimpl(function) for name, function in hooks.items()})


def _trains():
    """Built-ins still work: one training step of a small model changes its weights."""
    model = fw.Sequential([layers.Affine(3), layers.ReLU(), layers.Affine(2), layers.SoftmaxWithLoss()])
    model.compile(optimizer="sgd")
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    model.build((None, 4))
    before = model.get_weights()
    model.train_on_batch(x, np.arange(8) % 2)
    return not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_runtime_plugin_registers_and_unregisters(add_plugin):
    cls = _layer_class("RuntimeLayer")
    add_plugin(_plugin(register_layers=lambda register: register(cls)), "runtime-test")
    assert layers.get("RuntimeLayer") is cls
    entry = registry.entries("layers")["RuntimeLayer"]
    assert (entry.plugin, entry.package) == ("runtime-test", "(registered at run time)")
    registry.unregister_plugin("runtime-test")
    assert "RuntimeLayer" not in registry.names("layers")


def test_two_plugins_registering_one_name_is_an_error_naming_both(add_plugin):
    first, second = _layer_class("Twin"), _layer_class("Twin")
    add_plugin(_plugin(register_layers=lambda register: register(first)), "twin-first")
    with pytest.raises(PluginError, match=r"register the layer 'Twin'") as raised:
        add_plugin(_plugin(register_layers=lambda register: register(second)), "twin-second")
    assert "'twin-first'" in str(raised.value) and "'twin-second'" in str(raised.value)
    # The second plugin was turned away whole; the first keeps its name.
    assert layers.get("Twin") is first
    assert "twin-second" not in registry.plugins()
    assert _trains()


def test_a_plugin_clashing_with_a_builtin_name_is_refused(add_plugin):
    with pytest.raises(PluginError, match=r"register the layer 'Affine'") as raised:
        add_plugin(_plugin(register_layers=lambda register: register(_layer_class("Affine"), name="Affine")), "shadow")
    assert "'shadow'" in str(raised.value) and "'layers' (package dlfs-framework)" in str(raised.value)
    assert layers.get("Affine") is layers.Affine


def test_a_plugin_whose_hook_raises_is_listed_and_the_rest_keeps_working(add_plugin):
    def register_layers(register):
        raise RuntimeError("boom in register_layers")

    good = _layer_class("StillHere")
    with pytest.warns(RuntimeWarning, match="'raising'.*boom in register_layers"):
        add_plugin(_plugin(register_layers=register_layers, register_optimizers=lambda register: None), "raising")
        add_plugin(_plugin(register_layers=lambda register: register(good)), "good-neighbour")
    failed = registry.failed_plugins()
    assert "RuntimeError: boom in register_layers" in failed["raising"]
    assert layers.get("StillHere") is good
    assert _trains()
    registry.unregister_plugin("raising")
    assert "raising" not in registry.failed_plugins()


def test_a_misspelled_hook_name_is_caught(add_plugin):
    cls = _layer_class("NeverRegistered")
    with pytest.warns(RuntimeWarning, match="'misspelled'.*register_layer"):
        add_plugin(_plugin(register_layer=lambda register: register(cls)), "misspelled")
    assert "register_layer" in registry.failed_plugins()["misspelled"]
    assert "misspelled" not in registry.plugins()
    assert "NeverRegistered" not in registry.names("layers")


# -- entry points, in fresh processes --------------------------------------------

REPORT = """
import json, sys
import numpy as np
import framework as fw
from framework import layers, registry
model = fw.Sequential([layers.Affine(3), layers.ReLU(), layers.Affine(2), layers.SoftmaxWithLoss()])
model.compile(optimizer="adam")
loss = model.train_on_batch(np.ones((4, 5), dtype="float32"), np.array([0, 1, 0, 1]))
entry = registry.entries("layers").get("FakeDouble")
print(json.dumps({
    "fake_double": None if entry is None else [entry.plugin, entry.package, entry.version],
    "failed": registry.failed_plugins(),
    "packages": sorted({package for package, _ in registry.plugins().values()}),
    "imported": sorted(m for m in ("fake_plugin_good", "fake_plugin_broken", "framework_swish_lion") if m in sys.modules),
    "sgd": type(fw.optimizers.get("sgd")).__name__,
    "affine": fw.layers.get("Affine").__name__,
    "checkpoint_formats": registry.names("checkpoint_formats"),
    "trained": bool(np.isfinite(loss)),
}))
"""


def _report(site, plugins):
    result = fake_site.run_python(REPORT, site=site, plugins=plugins)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_entry_point_plugins_load_and_a_broken_one_is_reported(tmp_path):
    report = _report(fake_site.make(tmp_path), plugins=None)
    assert report["fake_double"] == ["fake-good", fake_site.PACKAGE, fake_site.VERSION]
    error = report["failed"]["fake-broken"]
    assert "ImportError" in error and "nonexistent-dependency" in error and fake_site.PACKAGE in error
    assert (report["sgd"], report["affine"]) == ("SGD", "Affine")


def test_empty_framework_plugins_loads_no_third_party_plugin(tmp_path):
    report = _report(fake_site.make(tmp_path), plugins="")
    assert report["fake_double"] is None
    assert report["failed"] == {}
    assert report["packages"] == [registry.OWN_DISTRIBUTION]
    assert report["imported"] == []
    assert (report["sgd"], report["affine"]) == ("SGD", "Affine")
    assert "hdf5" in report["checkpoint_formats"] and report["trained"]


def test_framework_plugins_loads_only_the_named_ones(tmp_path):
    report = _report(fake_site.make(tmp_path), plugins="fake-good")
    assert report["fake_double"] == ["fake-good", fake_site.PACKAGE, fake_site.VERSION]
    assert report["failed"] == {}
    assert report["imported"] == ["fake_plugin_good"]


def test_import_framework_imports_no_heavy_library_and_no_plugin(tmp_path):
    code = """
    import sys
    import framework
    watched = ("cupy", "h5py", "sklearn", "framework_swish_lion", "fake_plugin_good", "framework.testing")
    print(sorted(m for m in watched if m in sys.modules))
    framework.registry.names("layers")  # the first lookup loads the plugins
    print(sorted(m for m in watched if m in sys.modules))
    """
    result = fake_site.run_python(code, site=fake_site.make(tmp_path, broken=False))
    assert result.returncode == 0, result.stderr
    at_import, after_lookup = result.stdout.splitlines()[-2:]
    assert at_import == "[]"
    assert "'fake_plugin_good'" in after_lookup  # the watch works: plugins do load, later
