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

import os
import warnings
from dataclasses import dataclass

import pluggy

from framework import hookspecs, plugin_checks
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
        self._failed = {}  # plugin name -> [error messages], every failure kept
        self._entry_points_loaded = False
        self._entries = None  # kind -> {name: Entry}, rebuilt after any change

    # -- loading --------------------------------------------------------
    def _load_entry_points(self):
        self._entry_points_loaded = True
        allowed = os.environ.get("FRAMEWORK_PLUGINS")
        allowed = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
        import importlib.metadata  # here, not at import: it costs a third of `import framework`

        points = list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
        # Built-ins first: a third-party entry point with a built-in's name can never displace it.
        points.sort(key=lambda ep: _package(ep)[0] != OWN_DISTRIBUTION)
        for ep in points:
            package, version = _package(ep)
            builtin = package == OWN_DISTRIBUTION
            if not builtin and allowed is not None and ep.name not in allowed:
                continue
            if self._pm.has_plugin(ep.name):
                other = self._origins.get(ep.name, (None,))[0]
                self._fail(ep.name, f"entry point name {ep.name!r} of package {package} is already taken by "
                                    f"package {other}; not loaded")
                continue
            try:
                module = ep.load()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit included: a broken plugin must not break the host
                self._fail(ep.name, f"{type(exc).__name__}: {exc} (package {package})")
                continue
            self._add(module, ep.name, package, version)

    def _add(self, plugin, name, package, version):
        try:
            self._pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:  # a bad hook signature, a taken name
            self._fail(name, f"{exc} (package {package})")
            return False
        try:
            self._pm.check_pending()  # catches misspelled hook names
        except pluggy.PluginValidationError as exc:
            self._pm.unregister(plugin)
            self._fail(name, f"{exc} (package {package})")
            return False
        self._origins[name] = (package, version)
        return True

    def _fail(self, name, message):
        messages = self._failed.setdefault(name, [])  # every failure of a plugin is kept
        if message in messages:  # the same failure, found again when the entries are recollected
            return
        messages.append(message)
        warnings.warn(f"framework plugin {name!r} failed to load: {message}", RuntimeWarning, stacklevel=3)

    def _is_builtin(self, plugin):
        return self._origins.get(plugin, (None,))[0] == OWN_DISTRIBUTION

    def _call_hooks(self):
        """[(kind, name, Entry)] from every plugin's hooks, each hook called on its own."""
        found = []
        for kind in KINDS:
            hook = getattr(self._pm.hook, f"register_{kind}")
            for impl in hook.get_hookimpls():
                plugin = impl.plugin_name
                package, version = self._origins.get(plugin, (None, None))

                def register(obj, name=None, _plugin=plugin, _kind=kind, _pkg=package, _ver=version):
                    name = name if name is not None else getattr(obj, "__name__", None)
                    if not isinstance(name, str) or not name:
                        raise PluginError(f"register() needs a name for {obj!r:.80}")
                    expected = plugin_checks.problem(_kind, obj)
                    if expected is not None:
                        # Only this object is refused; the plugin's other registrations stand.
                        self._fail(_plugin, f"register_{_kind}: {name!r} must be {expected}, got {obj!r:.80} "
                                            f"(package {_pkg})")
                        return
                    found.append((_kind, name, Entry(_kind, name, obj, _plugin, _pkg, _ver)))

                mark = len(found)
                try:
                    impl.function(register)
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # SystemExit included
                    del found[mark:]  # a hook that raised registers nothing
                    self._fail(plugin, f"register_{kind} raised {type(exc).__name__}: {exc} (package {package})")
        return found

    def _collect(self):
        """{kind: {name: Entry}}; names are compared ignoring case.

        A built-in is never replaced: a third-party plugin registering a
        built-in's name is disabled whole (all its registrations). Two
        third-party plugins registering one name both lose that name. Each
        such plugin is recorded in `failed_plugins`.
        """
        found = self._call_hooks()
        builtins, exact = {}, {}
        for kind, name, entry in found:
            if self._is_builtin(entry.plugin):
                # Built-ins may alias one object under names that differ in case ("L1", "l1").
                first = exact.setdefault((kind, name), entry)
                if first is not entry:  # the framework's own bug: say so loudly
                    raise PluginError(f"built-in plugins {first.plugin!r} and {entry.plugin!r} both register the "
                                      f"{kind[:-1]} {name!r}")
                builtins.setdefault((kind, name.casefold()), entry)
        disabled = {}
        for kind, name, entry in found:
            builtin = builtins.get((kind, name.casefold()))
            if builtin is not None and not self._is_builtin(entry.plugin):
                disabled.setdefault(entry.plugin, _clash(kind, name, entry, builtin) + "; the plugin is disabled")
        claims = {}
        for kind, name, entry in found:
            if entry.plugin not in disabled and not self._is_builtin(entry.plugin):
                claims.setdefault((kind, name.casefold()), []).append(entry)
        for plugin, message in disabled.items():
            self._fail(plugin, message)
        lost = set()
        for key, claimants in claims.items():
            if len(claimants) > 1:
                lost.add(key)
                for entry in claimants:
                    others = [other for other in claimants if other is not entry]
                    self._fail(entry.plugin, _clash(key[0], entry.name, entry, others[0]) + "; neither keeps it")
        entries = {kind: {} for kind in KINDS}
        for kind, name, entry in found:
            if entry.plugin not in disabled and (kind, name.casefold()) not in lost:
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
        """Register a plugin object (a module or any object with hookimpls) at run time.

        A name clash raises `PluginError` here, naming both plugins, and the
        new plugin is turned away whole; what was registered before stays.
        """
        self._ensure_loaded()
        name = name or getattr(plugin, "__name__", None) or repr(plugin)
        if not self._add(plugin, name, "(registered at run time)", None):
            return name
        self._entries = None
        before = list(self._failed.get(name, ()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a clash is raised below, not warned
            self._ensure_loaded()
        clashes = [m for m in self._failed.get(name, ())[len(before):] if " both register the " in m]
        if clashes:
            self.unregister_plugin(name)
            raise PluginError(clashes[0].replace("; the plugin is disabled", "").replace("; neither keeps it", ""))
        for message in self._failed.get(name, ())[len(before):]:
            warnings.warn(f"framework plugin {name!r} failed to load: {message}", RuntimeWarning, stacklevel=2)
        return name

    def unregister_plugin(self, name):
        """Remove a plugin (and any failure recorded for it); unknown names are ignored."""
        self._pm.unregister(name=name)
        self._origins.pop(name, None)
        self._failed.pop(name, None)
        # Clashes are decided over all plugins: the others' records are made afresh.
        for plugin, messages in self._failed.items():
            self._failed[plugin] = [m for m in messages if " both register the " not in m]
        self._failed = {plugin: messages for plugin, messages in self._failed.items() if messages}
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
        """Plugins that failed: name -> every failure's message, one per line."""
        self._ensure_loaded()
        return {name: "\n".join(messages) for name, messages in self._failed.items()}

    def plugins(self):
        """Loaded plugins: name -> (package, version)."""
        self._ensure_loaded()
        return dict(self._origins)


def _package(ep):
    """(distribution name, version) of an entry point, (None, None) when unknown."""
    try:
        return (ep.dist.name, ep.dist.version) if ep.dist else (None, None)
    except Exception:  # broken metadata must not stop the others loading
        return None, None


def _clash(kind, name, entry, other):
    return (f"{entry.plugin!r} (package {entry.package}) and {other.plugin!r} (package {other.package}) both "
            f"register the {kind[:-1]} {name!r}" + ("" if name == other.name else f" (as {other.name!r})"))


_registry = Registry()

entries = _registry.entries
names = _registry.names
get = _registry.get
name_of = _registry.name_of
register_plugin = _registry.register_plugin
unregister_plugin = _registry.unregister_plugin
failed_plugins = _registry.failed_plugins
plugins = _registry.plugins
