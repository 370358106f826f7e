"""A fake installed distribution with framework plugins, for subprocess tests.

A ``*.dist-info`` folder with an ``entry_points.txt`` on ``sys.path`` is all
``importlib.metadata`` needs to see an installed package, so these tests
exercise real entry-point loading without installing anything.
"""

import os
import pathlib
import subprocess
import sys
import textwrap

PACKAGE, VERSION = "fake-framework-plugin", "1.2.3"

GOOD = '''
import framework as fw
from framework.layers import Layer


class FakeDouble(Layer):
    """out = 2 x."""

    def forward(self, x, training=False):
        return 2.0 * x

    def backward(self, dout):
        return 2.0 * dout


@fw.hookimpl
def register_layers(register):
    register(FakeDouble)
'''

BROKEN = '''
raise ImportError("fake_plugin_broken needs the package 'nonexistent-dependency'")
'''


def make(folder, broken=True):
    """Write the modules and the dist-info into `folder`; return it (for PYTHONPATH)."""
    folder = pathlib.Path(folder)
    (folder / "fake_plugin_good.py").write_text(GOOD)
    (folder / "fake_plugin_broken.py").write_text(BROKEN)
    info = folder / f"{PACKAGE.replace('-', '_')}-{VERSION}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {VERSION}\n")
    points = "[framework]\nfake-good = fake_plugin_good\n"
    if broken:
        points += "fake-broken = fake_plugin_broken\n"
    (info / "entry_points.txt").write_text(points)
    return folder


def run_python(code, site=None, plugins=None, args=(), cwd=None):
    """Run `code` (or ``-m``-style `args` when code is None) in a fresh interpreter.

    `site` goes first on PYTHONPATH; `plugins` sets FRAMEWORK_PLUGINS (None: unset).
    """
    env = dict(os.environ)
    env.pop("FRAMEWORK_PLUGINS", None)
    if plugins is not None:
        env["FRAMEWORK_PLUGINS"] = plugins
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    command = [sys.executable, *(["-c", textwrap.dedent(code)] if code is not None else []), *args]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)


def make_distribution(folder, package, modules, points, version="0.1"):
    """A fake installed `package` in `folder`: `modules` {module name: source}, `points` {entry point: module}."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(source))
    info = folder / f"{package.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(
        "[framework]\n" + "".join(f"{name} = {module}\n" for name, module in points.items())
    )
    return folder
