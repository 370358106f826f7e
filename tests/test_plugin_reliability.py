"""Hostile and broken plugins: whatever a plugin does, the built-ins keep working, the failure is
recorded against that plugin (all of its failures), and `python -m framework plugins` says so."""

import functools
import json
import types

import pytest

import framework as fw
from framework import layers, registry
from framework.errors import BackendError, DatasetError, PluginError
from framework.layers import Layer

from . import fake_site

LAYER = '''
import framework as fw
from framework.layers import Layer

def _layer(name):
    return type(name, (Layer,), {"forward": lambda self, x, training=False: x,
                                  "backward": lambda self, dout: dout})
'''

BUILTINS_WORK = """
import json
import numpy as np
import framework as fw
from framework import layers, registry
model = fw.Sequential([layers.Affine(3), layers.ReLU(), layers.Affine(2)])
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
loss = model.train_on_batch(np.ones((4, 5), dtype="float32"), np.array([0, 1, 0, 1]))
print(json.dumps({
    "trained": bool(np.isfinite(loss)),
    "affine": [fw.layers.get("affine").__module__, registry.entries("layers")["Affine"].plugin],
    "sgd": registry.entries("optimizers")["SGD"].plugin,
    "layers": registry.names("layers"),
    "optimizers": registry.names("optimizers"),
    "failed": registry.failed_plugins(),
}))
"""


def run_report(site):
    result = fake_site.run_python(BUILTINS_WORK, site=site)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def run_cli(site):
    return fake_site.run_python(None, site=site, args=["-m", "framework", "plugins"])


def assert_builtins_intact(report):
    assert report["trained"]
    assert report["affine"] == ["framework.layers.affine", "layers"] and report["sgd"] == "optimizers"


# -- SystemExit and friends -------------------------------------------------------
def test_sys_exit_at_plugin_import_is_contained(tmp_path):
    site = fake_site.make_distribution(tmp_path, "exiting-plugin", {"exiting": "import sys\nsys.exit(3)\n"},
                                       {"exiting": "exiting"})
    report = run_report(site)
    assert_builtins_intact(report)
    assert "SystemExit: 3" in report["failed"]["exiting"] and "exiting-plugin" in report["failed"]["exiting"]
    cli = run_cli(site)
    assert cli.returncode == 1 and "Affine" in cli.stdout and "SystemExit: 3" in cli.stdout


def _plugin(**hooks):
    return types.SimpleNamespace(**{name: fw.hookimpl(function) for name, function in hooks.items()})


def _layer_class(name):
    return type(name, (Layer,), {"forward": lambda self, x, training=False: x, "backward": lambda self, dout: dout})


def test_sys_exit_in_a_hook_is_contained(add_plugin):
    def register_layers(register):
        raise SystemExit("bye")

    with pytest.warns(RuntimeWarning, match="SystemExit: bye"):
        add_plugin(_plugin(register_layers=register_layers), "exits-in-hook")
    assert "register_layers raised SystemExit: bye" in registry.failed_plugins()["exits-in-hook"]
    assert layers.get("Affine") is layers.Affine


def test_keyboard_interrupt_in_a_hook_propagates(add_plugin):
    def register_layers(register):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        add_plugin(_plugin(register_layers=register_layers), "interrupted")


def test_every_failure_of_one_plugin_is_kept(add_plugin):
    def register_layers(register):
        raise RuntimeError("first failure")

    def register_optimizers(register):
        raise ValueError("second failure")

    with pytest.warns(RuntimeWarning):
        add_plugin(_plugin(register_layers=register_layers, register_optimizers=register_optimizers), "twice")
    failed = registry.failed_plugins()["twice"]
    assert "RuntimeError: first failure" in failed and "ValueError: second failure" in failed
    assert len(failed.splitlines()) == 2


# -- names ----------------------------------------------------------------------------
def test_an_entry_point_named_like_a_builtin_cannot_knock_it_out(tmp_path):
    modules = {"evil_layers": LAYER + "\n@fw.hookimpl\ndef register_layers(register):\n"
                                      "    register(_layer('EvilLayer'))\n"}
    points = {name: "evil_layers" for name in ("numpy", "layers", "optimizers", "losses", "hdf5")}
    site = fake_site.make_distribution(tmp_path, "evil-names", modules, points)
    report = run_report(site)
    assert_builtins_intact(report)
    assert "EvilLayer" not in report["layers"]
    for name in points:
        assert "already taken by package dlfs-framework" in report["failed"][name]
        assert "evil-names" in report["failed"][name]


def test_a_third_party_registering_a_builtin_name_is_disabled_and_builtins_stay(tmp_path):
    modules = {"shadow": LAYER + '''
@fw.hookimpl
def register_layers(register):
    register(_layer("affine"))         # "Affine", ignoring case
    register(_layer("ShadowHelper"))

@fw.hookimpl
def register_optimizers(register):
    from framework.optimizers import Optimizer
    register(type("Fake", (Optimizer,), {}), name="SGD")
'''}
    site = fake_site.make_distribution(tmp_path, "shadow-plugin", modules, {"shadow": "shadow"})
    report = run_report(site)
    assert_builtins_intact(report)
    assert "ShadowHelper" not in report["layers"] and "affine" not in report["layers"]  # the plugin is disabled
    assert report["optimizers"].count("SGD") == 1  # still the built-in (checked above), not replaced
    failed = report["failed"]["shadow"]
    assert "both register the layer 'affine' (as 'Affine')" in failed and "disabled" in failed
    cli = run_cli(site)
    assert cli.returncode == 1 and "shadow:" in cli.stdout and "Traceback" not in cli.stderr


def test_two_third_parties_registering_one_name_both_lose_it(tmp_path):
    first = {"first_twin": LAYER + "\n@fw.hookimpl\ndef register_layers(register):\n"
                                   "    register(_layer('Twin'))\n    register(_layer('FirstOnly'))\n"}
    second = {"second_twin": LAYER + "\n@fw.hookimpl\ndef register_layers(register):\n"
                                     "    register(_layer('TWIN'))\n"}
    fake_site.make_distribution(tmp_path, "first-twin", first, {"first": "first_twin"})
    site = fake_site.make_distribution(tmp_path, "second-twin", second, {"second": "second_twin"})
    report = run_report(site)
    assert_builtins_intact(report)
    assert "Twin" not in report["layers"] and "TWIN" not in report["layers"]
    assert "FirstOnly" in report["layers"]  # only the clashing name is lost
    for plugin in ("first", "second"):
        assert "both register the layer" in report["failed"][plugin] and "neither keeps it" in report["failed"][plugin]


# -- kinds -------------------------------------------------------------------------
@pytest.mark.parametrize("kind, obj, expected", [
    ("optimizers", object, "a subclass of Optimizer"),
    ("optimizers", 3, "a subclass of Optimizer or a function returning an Optimizer"),
    ("layers", int, "a subclass of Layer"),
    ("activations", "relu", "a subclass of Layer"),
    ("activations", functools.partial(dict, a=1), "a subclass of Layer (or a functools.partial of one)"),
    ("backends", object(), "a subclass of Backend"),
    ("checkpoint_formats", object(), "the methods of CheckpointFormat"),
    ("losses", 5, "callable"),
    ("datasets", [], "callable"),
    ("metrics", 1.5, "callable"),
    ("schedules", None, "callable"),
])
def test_a_registered_object_of_the_wrong_kind_is_refused_naming_the_plugin(add_plugin, kind, obj, expected):
    good = _layer_class("GoodNeighbourLayer")

    def register_wrong(register):
        register(obj, name="wrong_kind")

    def register_layers(register):
        register(good)

    hooks = {f"register_{kind}": register_wrong}
    if kind != "layers":
        hooks["register_layers"] = register_layers
    with pytest.warns(RuntimeWarning, match="wrong-kind"):
        add_plugin(_plugin(**hooks), "wrong-kind")
    assert "wrong_kind" not in registry.names(kind)
    assert expected in registry.failed_plugins()["wrong-kind"]
    if kind != "layers":
        assert layers.get("GoodNeighbourLayer") is good


def test_a_loss_factory_whose_product_is_not_a_loss_layer_is_refused_at_compile(add_plugin):
    add_plugin(_plugin(register_losses=lambda register: register(lambda: "not a layer", name="bogus_loss")),
               "bogus-loss")
    model = fw.Sequential([layers.Affine(2)])
    with pytest.raises(PluginError, match="'bogus_loss' of plugin 'bogus-loss'.*made a str, not a LossLayer"):
        model.compile(optimizer="sgd", loss="bogus_loss")
    assert not model.compiled


def test_an_optimizer_factory_whose_product_is_not_an_optimizer_is_refused_when_used(add_plugin):
    add_plugin(_plugin(register_optimizers=lambda register: register(lambda: object(), name="bogus_opt")),
               "bogus-opt")
    model = fw.Sequential([layers.Affine(2)])
    with pytest.raises(PluginError, match="optimizer 'bogus_opt' of plugin 'bogus-opt'.*made a object, not a Optimizer"):
        model.compile(optimizer="bogus_opt", loss="sparse_categorical_crossentropy")
    assert not model.compiled
    assert type(fw.optimizers.get("amsgrad")).__name__ == "Adam"  # the built-in factory passes the same check


def test_a_backend_whose_constructor_raises_gives_backend_error(add_plugin):
    class Broken(fw.Backend):
        def __init__(self):
            raise RuntimeError("no such device")

    add_plugin(_plugin(register_backends=lambda register: register(Broken, name="broken_backend")), "broken-backend")
    before = fw.get_backend()
    with pytest.raises(BackendError, match="'broken_backend' of plugin 'broken-backend'.*RuntimeError: no such device"):
        fw.set_backend("broken_backend")
    assert fw.get_backend() is before


def test_a_dataset_loader_that_raises_gives_dataset_error(add_plugin):
    def loader():
        raise OSError("download failed")

    add_plugin(_plugin(register_datasets=lambda register: register(loader, name="flaky")), "flaky-data")
    with pytest.raises(DatasetError, match="'flaky' of plugin 'flaky-data'.*OSError: download failed"):
        fw.datasets.load("flaky")
    assert fw.DatasetError is DatasetError
    assert fw.datasets.load("digits")[0][0].shape[1] == 64


def test_the_plugins_command_reports_a_registry_that_cannot_load_instead_of_crashing(monkeypatch, capsys):
    from framework import __main__ as cli

    def broken(kind):
        raise PluginError("built-in plugins 'a' and 'b' both register the layer 'X'")

    monkeypatch.setattr(cli.registry, "entries", broken)
    assert cli.main(["plugins"]) == 1
    assert "the plugin registry cannot be loaded: PluginError: built-in plugins 'a' and 'b'" in capsys.readouterr().err
