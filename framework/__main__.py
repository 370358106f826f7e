"""Command line: ``python -m framework plugins`` lists what is installed;
``python -m framework export MODEL_FILE OUT.onnx`` exports a saved model to ONNX.

Each backend, layer, optimizer, loss, data set and checkpoint format is shown
with the plugin, package and version that provides it; plugins that failed to
load are listed with their error, so a broken install is one command away
from its diagnosis. The exit status is 1 when a plugin failed, so CI can use it.
"""

import argparse
import json
import sys
import warnings

from framework import registry


def _rows():
    """(kind, name, plugin, package, version) for every registered object."""
    rows = []
    for kind in registry.KINDS:
        for name, entry in sorted(registry.entries(kind).items()):
            rows.append((kind, name, entry.plugin, entry.package or "?", entry.version or "?"))
    return rows


def _plugins_command(args):
    # Failures are printed below; the registry's warnings would say it twice.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            rows = _rows()
            failed = registry.failed_plugins()
            loaded = registry.plugins()
        except Exception as exc:  # the diagnosis tool must never crash on what it diagnoses
            print(f"the plugin registry cannot be loaded: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    if args.json:
        data = {kind: {} for kind in registry.KINDS}
        for kind, name, plugin, package, version in rows:
            data[kind][name] = {"plugin": plugin, "package": package, "version": version}
        data["plugins"] = {name: {"package": pkg, "version": ver} for name, (pkg, ver) in loaded.items()}
        data["failed"] = failed
        print(json.dumps(data, indent=2, sort_keys=True))
        return 1 if failed else 0
    width = max((len(row[1]) for row in rows), default=0) + 2
    for kind in registry.KINDS:
        print(f"{kind}:")
        names = [row for row in rows if row[0] == kind]
        if not names:
            print("  (none)")
        for _, name, plugin, package, version in names:
            print(f"  {name:<{width}}{package} {version}  (plugin {plugin!r})")
    if failed:
        print("failed plugins:")
        for name, errors in sorted(failed.items()):
            first, *more = errors.splitlines()  # every failure of the plugin, one per line
            print(f"  {name}: {first}")
            for error in more:
                print(f"    {error}")
    return 1 if failed else 0


def _export_command(args):
    from framework import export, saving

    model = saving.load_model(args.model_file)
    export.onnx(model, args.out)
    print(f"wrote {args.out}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m framework", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plugins = commands.add_parser("plugins", help="list installed plugins and what each registers")
    plugins.add_argument("--json", action="store_true", help="print JSON instead of text")
    plugins.set_defaults(run=_plugins_command)
    export = commands.add_parser("export", help="export a saved model to ONNX (needs the onnx package)")
    export.add_argument("model_file", help="a checkpoint fw.load_model reads")
    export.add_argument("out", help="the .onnx file to write")
    export.set_defaults(run=_export_command)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
