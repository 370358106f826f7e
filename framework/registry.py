"""The plugin registry: one pluggy plugin manager, loaded lazily.

Nothing is imported until a name is first looked up, so ``import framework``
stays cheap and a broken or slow third-party plugin costs nothing until then.
Entry points are loaded one by one: a plugin that fails to import is recorded
(see `failed_plugins`) and everything else keeps working.

Environment:
    FRAMEWORK_PLUGINS: comma-separated entry-point names of the third-party
        plugins to load; empty loads none. Unset loads all. The framework's
        own plugins always load.
"""

from __future__ import annotations

import importlib.metadata
import os
import warnings
from dataclasses import dataclass

import pluggy

from framework import hookspecs
from framework.errors import PluginError, UnknownNameError

KINDS = (
    "backends", "layers", "optimizers", "losses", "datasets", "checkpoint_formats",
    "activations", "regularizers", "initializers", "metrics", "schedules",
)
ENTRY_POINT_GROUP = "framework"
OWN_DISTRIBUTION = "dlfs-framework"


@dataclass(frozen=True)
class Entry:
    """One registered object and where it came from."""

    kind: str
    name: str
    obj: object
    plugin: str
    package: str | None = None
    version: str | None = None


class Registry:
    def __init__(self):
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._origins = {}  # plugin name -> (package, version)
        self._failed = {}  # plugin name -> error message
        self._entry_points_loaded = False
        self._entries = None  # kind -> {name: Entry}, rebuilt after any change

    # -- loading --------------------------------------------------------
    def _load_entry_points(self):
        self._entry_points_loaded = True
        allowed = os.environ.get("FRAMEWORK_PLUGINS")
        allowed = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            package = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            builtin = package == OWN_DISTRIBUTION
            if not builtin and allowed is not None and ep.name not in allowed:
                continue
            if self._pm.has_plugin(ep.name):
                other = self._origins.get(ep.name, (None,))[0]
                self._fail(ep.name, f"entry point name {ep.name!r} is used by both {other} and {package}")
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not break the host
                self._fail(ep.name, f"{type(exc).__name__}: {exc} (package {package})")
                continue
            self._add(module, ep.name, package, version)

    def _add(self, plugin, name, package, version):
        self._pm.register(plugin, name=name)
        try:
            self._pm.check_pending()  # catches misspelled hook names
        except pluggy.PluginValidationError as exc:
            self._pm.unregister(plugin)
            self._fail(name, f"{exc} (package {package})")
            return
        self._origins[name] = (package, version)

    def _fail(self, name, message):
        self._failed[name] = message
        warnings.warn(f"framework plugin {name!r} failed to load: {message}", RuntimeWarning, stacklevel=3)

    def _collect(self):
        entries = {kind: {} for kind in KINDS}
        for kind in KINDS:
            hook = getattr(self._pm.hook, f"register_{kind}")
            # Call each implementation ourselves, so every registration is
            # attributed to its plugin and one failing plugin is isolated.
            for impl in hook.get_hookimpls():  # registration order: built-ins come first
                plugin = impl.plugin_name
                package, version = self._origins.get(plugin, (None, None))
                found = {}

                def register(obj, name=None, _found=found, _plugin=plugin, _kind=kind, _pkg=package, _ver=version):
                    name = name if name is not None else getattr(obj, "__name__", None)
                    if not isinstance(name, str) or not name:
                        raise PluginError(f"register() needs a name for {obj!r}")
                    _found[name] = Entry(_kind, name, obj, _plugin, _pkg, _ver)

                try:
                    impl.function(register)
                except Exception as exc:
                    self._fail(plugin, f"register_{kind} raised {type(exc).__name__}: {exc} (package {package})")
                    continue
                for name, entry in found.items():
                    if name in entries[kind]:
                        first = entries[kind][name]
                        raise PluginError(
                            f"two plugins register the {kind[:-1]} {name!r}: "
                            f"{first.plugin!r} (package {first.package}) and {plugin!r} (package {package}); "
                            "uninstall one, or leave one out with FRAMEWORK_PLUGINS"
                        )
                    entries[kind][name] = entry
        return entries

    def _ensure_loaded(self):
        if not self._entry_points_loaded:
            self._load_entry_points()
        if self._entries is None:
            self._entries = self._collect()
        return self._entries

    # -- runtime registration (tests, notebooks) -------------------------
    def register_plugin(self, plugin, name=None):
        """Register a plugin object (a module or any object with hookimpls) at run time."""
        self._ensure_loaded()
        name = name or getattr(plugin, "__name__", None) or repr(plugin)
        self._add(plugin, name, "(registered at run time)", None)
        self._entries = None
        try:
            self._ensure_loaded()  # conflicts surface now, not at some later lookup
        except PluginError:
            self.unregister_plugin(name)
            raise
        return name

    def unregister_plugin(self, name):
        """Remove a plugin (and any failure recorded for it); unknown names are ignored."""
        self._pm.unregister(name=name)
        self._origins.pop(name, None)
        self._failed.pop(name, None)
        self._entries = None

    # -- lookups ----------------------------------------------------------
    def entries(self, kind):
        return dict(self._ensure_loaded()[kind])

    def names(self, kind):
        return sorted(self._ensure_loaded()[kind])

    def get(self, kind, name, what=None):
        """The entry registered under `name`; case-insensitive if unambiguous."""
        table = self._ensure_loaded()[kind]
        if name in table:
            return table[name]
        if isinstance(name, str):
            folded = [entry for key, entry in table.items() if key.casefold() == name.casefold()]
            if len(folded) == 1:
                return folded[0]
        what = what or kind[:-1]
        known = ", ".join(sorted(table)) or "none"
        raise UnknownNameError(f"unknown {what} {name!r}; known: {known}")

    def name_of(self, kind, obj):
        """The registered name of `obj` (e.g. a layer class), or None."""
        for name, entry in self._ensure_loaded()[kind].items():
            if entry.obj is obj:
                return name
        return None

    def failed_plugins(self):
        self._ensure_loaded()
        return dict(self._failed)

    def plugins(self):
        """Loaded plugins: name -> (package, version)."""
        self._ensure_loaded()
        return dict(self._origins)


_registry = Registry()

entries = _registry.entries
names = _registry.names
get = _registry.get
name_of = _registry.name_of
register_plugin = _registry.register_plugin
unregister_plugin = _registry.unregister_plugin
failed_plugins = _registry.failed_plugins
plugins = _registry.plugins
