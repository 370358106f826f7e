"""The ``"hdf5"`` checkpoint format: a model, its weights and its training state in one HDF5 file.

Layout, format_version 2 (version 1 files, without ``checksums``, still load)::

    /  attrs  format_version     int64
              framework_version  bytes
              checksums          JSON: {"model_config": sha256 hex of that attribute's bytes,
                                        "training_config": sha256 hex, or null when not compiled,
                                        "layers": number of layers, "input_shape": [null, ...] or null}
              model_config       JSON: {"class_name": "Sequential",
                                        "config": Sequential.get_config(),
                                        "weights": {layer: {param: {"shape": [...], "dtype": "float32"}}},
                                        "state": {layer: {key: {"shape", "dtype"}}},
                                        "random_state": {layer: layer.get_random_state()}}
              training_config    JSON, only if compiled: serialization.training_config(model) plus
                                 "optimizer_state": {slot: {"layer/param": {"shape", "dtype"}}} and
                                 "training_state": {"epochs_done", "steps", "shuffle_seed"}
    /model_weights/<layer>/<param>             one dataset per parameter
    /model_state/<layer>/<key>                 non-trainable state (moving statistics)
    /optimizer_state/<slot>/<layer>/<param>    the optimizer's per-parameter state

Version 2 added ``checksums``, ``state``, ``random_state`` (Dropout's position in its mask
stream) and ``trainable: false`` in a frozen layer's config; version-1 files,
which have none of them, still load.

Every dataset is little-endian float, chunked with the fletcher32 checksum
filter where HDF5 allows it, and carries a ``sha256`` attribute of its bytes.
The configs are covered by ``checksums``, and the model they build is checked
against it (layer count, input shape) and against the weights stored (no
layer group in /model_weights that the config does not name), so an edited
config cannot load silently as a different model.

Reading trusts nothing in the file. Only the paths the config names are
visited, each component checked to be a hard link before it is opened (a
soft or external link could lead anywhere); datasets with external storage,
virtual datasets and filters other than fletcher32 are refused; each
dataset's shape, dtype and the bytes it really stores are compared with the
config before anything is allocated or read; JSON is bounded; classes are
found by registered name only. h5py is imported on use: ``import
framework`` never loads it.
"""

import hashlib
import io
import math

import numpy as np

from framework import initializers, saving, serialization
from framework.errors import CheckpointError, FrameworkError, InvalidArgumentError
from framework.hookspecs import hookimpl

FORMAT_VERSION = 2  # 2: the configs are covered by the root attribute 'checksums'
_DTYPES = {"float16": np.dtype("<f2"), "float32": np.dtype("<f4"), "float64": np.dtype("<f8")}
_MAX_SMALL_ATTR = 1024  # version strings and digests are short
_MAX_DIM = 2**40


def _h5py():
    import h5py  # on use: importing h5py costs ~0.1 s, and most runs never save

    return h5py


# -- writing -------------------------------------------------------------------
def _host(array):
    """A little-endian NumPy copy of a backend array."""
    from framework.backend import get_backend

    array = np.asarray(get_backend().to_numpy(array))
    if array.dtype.kind != "f" or array.dtype.name not in _DTYPES:
        raise InvalidArgumentError(f"only float16/32/64 arrays can be saved, got dtype {array.dtype}")
    return np.ascontiguousarray(array, dtype=_DTYPES[array.dtype.name])


def _check_name(name, what):
    # One path component: "/" would nest, "." would name the group itself.
    if not isinstance(name, str) or not name or "/" in name or "\0" in name or name in (".", ".."):
        raise InvalidArgumentError(f"{what} must be a non-empty string without '/', got {name!r:.80}")
    return name


def _manifest(arrays):
    return {key: {"shape": list(array.shape), "dtype": array.dtype.name} for key, array in arrays.items()}


def _weights(model, attribute="params"):
    """``{layer: {param: host array}}`` of the layers that have parameters (or `state`)."""
    if not model.built:
        raise InvalidArgumentError("the model is not built: call build(input_shape) or fit first, so it has weights")
    weights = {}
    for layer in model.layers:
        arrays = getattr(layer, attribute)
        if arrays:
            params = {_check_name(key, f"layer {layer.name!r}: {attribute} name"): _host(p) for key, p in arrays.items()}
            weights[_check_name(layer.name, "layer name")] = params
    return weights


def _random_state(model):
    """``{layer: JSON state}`` of the layers with a random stream (Dropout)."""
    states = {layer.name: layer.get_random_state() for layer in model.layers}
    return {name: state for name, state in states.items() if state is not None}


def _bounded_json(value, what):
    """JSON bytes of `value`, refused here if the loader would refuse them (never write what cannot load)."""
    data = saving.dumps(value)
    if len(data) > saving.MAX_JSON_BYTES:
        raise InvalidArgumentError(f"the {what} is {len(data):,} bytes of JSON, more than the {saving.MAX_JSON_BYTES:,} "
                                   "that load_model accepts (too many layers?)")
    return data


def _describe(model, weights_only):
    """(attributes, {dataset path: array}) of `model`: everything is checked before the file is opened."""
    from framework import __version__

    weights = _weights(model) if (weights_only or model.built) else {}
    state = _weights(model, "state") if (weights_only or model.built) else {}
    model_config = {"class_name": "Sequential", "config": model.get_config(),
                    "weights": {layer: _manifest(params) for layer, params in weights.items()},
                    "state": {layer: _manifest(arrays) for layer, arrays in state.items()},
                    "random_state": _random_state(model)}
    attrs = {"format_version": np.int64(FORMAT_VERSION), "framework_version": np.bytes_(__version__.encode()),
             "model_config": np.bytes_(_bounded_json(model_config, "model_config"))}
    datasets = {("model_weights", layer, key): array for layer, params in weights.items() for key, array in params.items()}
    datasets.update({("model_state", layer, key): array for layer, arrays in state.items() for key, array in arrays.items()})
    if not weights_only and model.compiled:
        training = serialization.training_config(model)
        state = model.optimizer.get_state()
        slots = {}
        for slot, table in state["slots"].items():
            _check_name(slot, "optimizer slot name")
            slots[slot] = {key: _host(value) for key, value in table.items()}
            for key, value in slots[slot].items():
                layer, _, param = key.partition("/")
                datasets[("optimizer_state", slot, _check_name(layer, "layer name"), _check_name(param, "parameter name"))] = value
        training["optimizer_state"] = {slot: _manifest(table) for slot, table in slots.items()}
        training["training_state"] = {"epochs_done": model.epochs_done, "steps": state["iterations"],
                                      "shuffle_seed": model.shuffle_seed}
        attrs["training_config"] = np.bytes_(_bounded_json(training, "training_config"))
    attrs["checksums"] = np.bytes_(saving.dumps({
        "model_config": hashlib.sha256(bytes(attrs["model_config"])).hexdigest(),
        "training_config": hashlib.sha256(bytes(attrs["training_config"])).hexdigest() if "training_config" in attrs
        else None,
        "layers": len(model.layers),
        "input_shape": list(model.input_shape) if model.built else None,
    }))
    return attrs, datasets


def _write(model, path, weights_only):
    attrs, datasets = _describe(model, weights_only)
    h5py = _h5py()
    # Built in memory, then written with plain file calls: HDF5 does not
    # survive a write error (a full disk crashed the process), os.write does.
    image = io.BytesIO()
    # libver v108: attributes over 64 KiB (large configs) need its dense attribute storage.
    with h5py.File(image, "w", libver="v108") as file:
        for name, value in attrs.items():
            file.attrs[name] = value
        for parts, array in datasets.items():
            group = file
            for part in parts[:-1]:
                group = group.require_group(part)
            chunked = array.ndim > 0 and array.size > 0  # HDF5 cannot chunk scalars or empty arrays
            dataset = group.create_dataset(parts[-1], data=array, chunks=True if chunked else None,
                                           fletcher32=chunked)
            dataset.attrs["sha256"] = np.bytes_(hashlib.sha256(memoryview(array)).hexdigest().encode())
    saving.write_file(path, image.getbuffer())


# -- reading -------------------------------------------------------------------
class _Reader:
    """Checked access to one open checkpoint; every failure is a `CheckpointError` naming the path."""

    def __init__(self, file, path, size):
        self.file, self.path, self.size = file, path, size
        self.declared = 0  # bytes declared by the manifests read so far
        self.h5py = _h5py()

    def fail(self, reason):
        return saving.error(self.path, reason)

    # attributes: sizes are checked from the attribute's type, before its data is read
    def string_attr(self, name, limit, required=True, obj=None):
        obj = self.file if obj is None else obj
        if name not in obj.attrs:
            if required:
                raise self.fail(f"the attribute {name!r} of {obj.name!r} is missing (not a checkpoint of this framework?)")
            return None
        attr = self.h5py.h5a.open(obj.id, name.encode())
        if attr.shape != () or attr.dtype.kind != "S":
            raise self.fail(f"attribute {name!r} of {obj.name!r} must be a fixed-length byte string, "
                            f"got dtype {attr.dtype} shape {attr.shape}")
        if attr.dtype.itemsize > limit:
            raise self.fail(f"attribute {name!r} of {obj.name!r} is {attr.dtype.itemsize:,} bytes, "
                            f"more than the limit of {limit:,}")
        return bytes(obj.attrs[name])

    def json_attr(self, name, required=True):
        data = self.string_attr(name, saving.MAX_JSON_BYTES + 1, required)
        return None if data is None else saving.loads(data, self.path, name)

    def configs(self, version):
        """(model_config, training_config or None, checksums or None), the digests verified before parsing."""
        raw = {name: self.string_attr(name, saving.MAX_JSON_BYTES + 1, required=name == "model_config")
               for name in ("model_config", "training_config")}
        checksums = None
        if version >= 2:
            checksums = self.json_attr("checksums")
            if not isinstance(checksums, dict) or set(checksums) != {"model_config", "training_config", "layers",
                                                                     "input_shape"}:
                raise self.fail("checksums must be {'model_config', 'training_config', 'layers', 'input_shape'}")
            for name, data in raw.items():
                actual = None if data is None else hashlib.sha256(data).hexdigest()
                if checksums[name] != actual:
                    state = "is missing" if data is None else "does not match the sha256 recorded in 'checksums'"
                    raise self.fail(f"the attribute {name!r} {state} (edited or damaged)")
            count, shape = checksums["layers"], checksums["input_shape"]
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise self.fail(f"checksums.layers must be a non-negative integer, got {count!r:.40}")
            if shape is not None and not isinstance(shape, list):
                raise self.fail(f"checksums.input_shape must be a list or null, got {shape!r:.40}")
        parsed = [None if data is None else saving.loads(data, self.path, name) for name, data in raw.items()]
        return (*parsed, checksums)

    def check_model(self, model, checksums, manifest):
        """The model the config built matches what was saved: layer count, input shape, weight groups."""
        if checksums is not None:
            if len(model.layers) != checksums["layers"]:
                raise self.fail(f"model_config builds {len(model.layers)} layers, but the file recorded "
                                f"{checksums['layers']}")
            built = list(model.input_shape) if model.built else None
            if built != checksums["input_shape"]:
                raise self.fail(f"model_config builds a model for inputs {built}, but the file recorded "
                                f"{checksums['input_shape']!r:.80}")
        link = self.file.get("model_weights", getlink=True)
        if link is not None and isinstance(link, self.h5py.HardLink):
            stored = set(self.file["model_weights"].keys())
            orphans = sorted(stored - manifest.keys())
            if orphans:
                raise self.fail(f"/model_weights holds weights of layers {orphans[:5]} that model_config does not "
                                "name (a layer removed from the config?)")

    def format_version(self):
        if "format_version" not in self.file.attrs:
            raise self.fail("the attribute 'format_version' of '/' is missing (not a checkpoint of this framework?)")
        attr = self.h5py.h5a.open(self.file.id, b"format_version")
        if attr.shape != () or attr.dtype.kind not in "iu":
            raise self.fail(f"format_version must be an integer, got dtype {attr.dtype} shape {attr.shape}")
        version = int(self.file.attrs["format_version"])
        if version > FORMAT_VERSION:
            raise self.fail(f"format_version {version} is newer than this framework reads ({FORMAT_VERSION}); "
                            "upgrade dlfs-framework")
        if version < 1:
            raise self.fail(f"format_version must be 1 or more, got {version}")
        return version

    # datasets: reached through hard links only, checked before any data is read
    def dataset(self, parts):
        where = "/" + "/".join(parts)
        obj = self.file
        for depth, part in enumerate(parts):
            link = obj.get(part, getlink=True)
            if link is None:
                raise self.fail(f"{where} is missing")
            if not isinstance(link, self.h5py.HardLink):
                # Not followed: a soft or external link can point at any object or file.
                raise self.fail(f"/{'/'.join(parts[:depth + 1])} is a {type(link).__name__}; only hard links are accepted")
            obj = obj[part]
            expected = self.h5py.Dataset if depth == len(parts) - 1 else self.h5py.Group
            if not isinstance(obj, expected):
                raise self.fail(f"/{'/'.join(parts[:depth + 1])} should be a {expected.__name__}, got {type(obj).__name__}")
        return obj

    def check_dataset(self, dataset, shape, dtype):
        """Refuse anything that could read another file, decompress a bomb, or allocate more than is stored."""
        where = dataset.name
        if dataset.is_virtual:
            raise self.fail(f"{where} is a virtual dataset (it maps data from other files); refused")
        plist = dataset.id.get_create_plist()
        if plist.get_external_count() > 0:
            raise self.fail(f"{where} keeps its data in an external file; refused")
        for index in range(plist.get_nfilters()):
            code = plist.get_filter(index)[0]
            if code != self.h5py.h5z.FILTER_FLETCHER32:
                # Only the checksum: other filters can expand data or load plugin libraries.
                raise self.fail(f"{where} uses HDF5 filter {code}; only fletcher32 is accepted")
        if dataset.dtype != dtype:
            raise self.fail(f"{where} has dtype {dataset.dtype.str} ({dataset.dtype.name}); the config records {dtype.name}")
        if dataset.shape != shape:
            raise self.fail(f"{where} has shape {dataset.shape}; the config records {shape}")
        nbytes = math.prod(shape) * dtype.itemsize
        stored = dataset.id.get_storage_size()
        if stored < nbytes:
            raise self.fail(f"{where} declares {nbytes:,} bytes but stores {stored:,}; refused before reading")

    def read(self, dataset):
        """The dataset's data, its sha256 digest verified."""
        digest = self.string_attr("sha256", _MAX_SMALL_ATTR, obj=dataset)
        try:
            array = dataset[()]
        except OSError as exc:  # fletcher32 reports a mismatch as a read error
            raise self.fail(f"{dataset.name} is corrupt: checksum mismatch ({exc})") from None
        array = np.ascontiguousarray(array)
        if hashlib.sha256(memoryview(array)).hexdigest().encode() != digest:
            raise self.fail(f"{dataset.name} is corrupt: its bytes do not match the sha256 recorded with them")
        return array

    # manifests: {name: {name: {"shape", "dtype"}}}, validated and matched to datasets
    def manifest(self, value, what):
        if not isinstance(value, dict):
            raise self.fail(f"{what} must be an object, got {type(value).__name__}")
        result = {}
        for outer, table in value.items():
            if not isinstance(table, dict):
                raise self.fail(f"{what}[{outer!r:.80}] must be an object, got {type(table).__name__}")
            result[outer] = {}
            for inner, entry in table.items():
                try:
                    for name in (outer, *inner.split("/")):
                        _check_name(name, f"{what}: name")
                except (InvalidArgumentError, AttributeError) as exc:
                    raise self.fail(str(exc)) from None
                if not isinstance(entry, dict) or set(entry) != {"shape", "dtype"}:
                    raise self.fail(f"{what}[{outer!r}][{inner!r}] must be {{'shape': [...], 'dtype': ...}}")
                shape, dtype = entry["shape"], entry["dtype"]
                if not isinstance(shape, list) or not all(
                    isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= _MAX_DIM for d in shape
                ):
                    raise self.fail(f"{what}[{outer!r}][{inner!r}]: shape must be a list of sizes, got {shape!r:.80}")
                if dtype not in _DTYPES:
                    raise self.fail(f"{what}[{outer!r}][{inner!r}]: dtype must be one of {sorted(_DTYPES)}, got {dtype!r:.40}")
                result[outer][inner] = (tuple(shape), _DTYPES[dtype])
        # Counted over all manifests: hard links can alias one dataset under many names,
        # and every name is read, so the total must fit in the file.
        self.declared += sum(math.prod(shape) * dtype.itemsize for table in result.values() for shape, dtype in table.values())
        if self.declared > self.size:
            raise self.fail(f"{what} brings the data declared to {self.declared:,} bytes, but the file has only {self.size:,}")
        return result

    def checked_datasets(self, group, manifest):
        """{(outer, inner): dataset}, each checked against `manifest` (nothing read yet)."""
        found = {}
        for outer, table in manifest.items():
            for inner, (shape, dtype) in table.items():
                dataset = self.dataset((group, outer, *inner.split("/")))
                self.check_dataset(dataset, shape, dtype)
                found[(outer, inner)] = dataset
        return found


def _open(path, read):
    """Run `read(reader)` on the checkpoint at `path`; HDF5's and the config's errors become `CheckpointError`."""
    size = saving.check_readable(path)
    h5py = _h5py()
    try:
        file = h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        raise saving.error(path, f"not a readable HDF5 file ({exc})") from None
    try:
        with file:
            return read(_Reader(file, path, size))
    except CheckpointError:
        raise
    except (FrameworkError, MemoryError) as exc:
        raise saving.error(path, f"{type(exc).__name__}: {exc}") from exc
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:  # HDF5 on a damaged file
        raise saving.error(path, f"the file is damaged ({type(exc).__name__}: {exc})") from exc


def _match_params(reader, model, manifest, where, attribute="params"):
    """Check that `model`'s parameters (or `state`) are exactly `manifest`'s, in names and shapes."""
    layers = {layer.name: layer for layer in model.layers if getattr(layer, attribute)}
    missing, extra = sorted(layers.keys() - manifest.keys()), sorted(manifest.keys() - layers.keys())
    if missing or extra:
        raise reader.fail(f"{where}: layers are matched by name; the model's layers {missing} have no {attribute} "
                          f"in the file, and the file's layers {extra} are not in the model")
    for name, layer in layers.items():
        arrays = getattr(layer, attribute)
        if set(arrays) != set(manifest[name]):
            raise reader.fail(f"{where}: layer {name!r} has {attribute} {sorted(arrays)} in the model "
                              f"but {sorted(manifest[name])} in the file")
        for key, param in arrays.items():
            if tuple(param.shape) != manifest[name][key][0]:
                raise reader.fail(f"{where}: layer {name!r} weight {key!r} has shape {tuple(param.shape)} in the model "
                                  f"but {manifest[name][key][0]} in the file")
    return layers


def _state_datasets(reader, config):
    """The non-trainable state's manifest and checked datasets (none in a version-1 file)."""
    if "state" not in config:
        return {}, {}
    manifest = reader.manifest(config["state"], "model_config.state")
    return manifest, reader.checked_datasets("model_state", manifest)


def _read_model(reader):
    from framework.backend import get_backend
    from framework.models import Sequential

    version = reader.format_version()
    config, training, checksums = reader.configs(version)
    keys = {"class_name", "config", "weights"} | ({"state", "random_state"} if version >= 2 else set())
    if not isinstance(config, dict) or config.get("class_name") != "Sequential" or set(config) != keys:
        raise reader.fail(f"model_config of format_version {version} must have exactly the keys {sorted(keys)}, "
                          "with class_name 'Sequential'")
    manifest = reader.manifest(config["weights"], "model_config.weights")
    weights = reader.checked_datasets("model_weights", manifest)
    state_manifest, state_datasets = _state_datasets(reader, config)
    random_states = config.get("random_state", {})
    if not isinstance(random_states, dict):
        raise reader.fail(f"model_config.random_state must be an object, got {type(random_states).__name__}")
    if training is not None:
        if not isinstance(training, dict):
            raise reader.fail(f"training_config must be an object, got {type(training).__name__}")
        slot_manifest = reader.manifest(training.get("optimizer_state", {}), "training_config.optimizer_state")
        slots = reader.checked_datasets("optimizer_state", slot_manifest)
        state = training.get("training_state")
        if not isinstance(state, dict) or set(state) != {"epochs_done", "steps", "shuffle_seed"}:
            raise reader.fail("training_config.training_state must have epochs_done, steps and shuffle_seed")
        for key in ("epochs_done", "steps", "shuffle_seed"):
            value = state[key]
            if not (value is None and key == "shuffle_seed") and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64
            ):
                raise reader.fail(f"training_state.{key} must be a non-negative integer, got {value!r:.40}")
    # Only now, with every size checked against the file, are objects built.
    if not isinstance(config["config"], dict) or config["config"].get("input_shape") is None and manifest:
        raise reader.fail("model_config.config must record the input_shape of a model with weights")
    with initializers.uninitialized():  # every weight is read from the file next
        model = Sequential.from_config(config["config"])
    reader.check_model(model, checksums, manifest)
    layers = _match_params(reader, model, manifest, "model_config")
    stateful = _match_params(reader, model, state_manifest, "model_config", "state")
    by_name = {layer.name: layer for layer in model.layers}
    for name, random_state in random_states.items():
        if name not in by_name:
            raise reader.fail(f"model_config.random_state names the layer {name!r:.80}, which the model does not have")
        by_name[name].set_random_state(random_state)  # checks it; a bad one raises, as a damaged file
    arrays = {key: reader.read(dataset) for key, dataset in weights.items()}
    states = {key: reader.read(dataset) for key, dataset in state_datasets.items()}
    backend = get_backend()
    for (layer, key), array in arrays.items():
        # Rebound, not copied into: the saved dtype is kept whatever floatx is now.
        layers[layer].params[key] = backend.asarray(array)
    for (layer, key), array in states.items():
        stateful[layer].state[key] = backend.asarray(array)
    if training is not None:
        serialization.compile_from(model, {k: v for k, v in training.items()
                                           if k not in ("optimizer_state", "training_state")})
        params = model._collect("params")  # the names the optimizer keys its state by
        table = {}
        for (slot, key), dataset in slots.items():
            if key not in params or tuple(params[key].shape) != dataset.shape:
                raise reader.fail(f"optimizer state {slot}/{key} matches no parameter of the model of shape {dataset.shape}")
            table.setdefault(slot, {})[key] = reader.read(dataset)
        model.optimizer.set_state({"iterations": state["steps"], "slots": table})
        model.epochs_done = state["epochs_done"]
        model.shuffle_seed = state["shuffle_seed"]
    return model


def _read_weights_into(model):
    def read(reader):
        config, _, _ = reader.configs(reader.format_version())
        if not isinstance(config, dict) or "weights" not in config:
            raise reader.fail("model_config has no 'weights' table")
        manifest = reader.manifest(config["weights"], "model_config.weights")
        datasets = reader.checked_datasets("model_weights", manifest)
        state_manifest, state_datasets = _state_datasets(reader, config)
        reader.check_model(model, None, manifest)  # no weights in the file that its config does not name
        _match_params(reader, model, manifest, "load_weights")  # the file holds exactly the model's weights
        _match_params(reader, model, state_manifest, "load_weights", "state")
        arrays = {key: reader.read(dataset) for key, dataset in datasets.items()}
        arrays.update({key: reader.read(dataset) for key, dataset in state_datasets.items()})
        # Everything is read and checked; only now does the model change, in place.
        model.set_weights([arrays[layer.name, key] for layer in model.layers for key, _ in layer._weight_items()])

    return read


class HDF5Format(saving.CheckpointFormat):
    """Whole models and weights in HDF5 (see the module's docstring for the layout)."""

    extensions = (".h5", ".hdf5")
    signature = b"\x89HDF\r\n\x1a\n"

    def save_model(self, model, path):
        _write(model, path, weights_only=False)

    def save_weights(self, model, path):
        _write(model, path, weights_only=True)

    def load_model(self, path):
        return _open(path, _read_model)

    def load_weights(self, model, path):
        if not model.built:
            raise InvalidArgumentError("load_weights: the model is not built; call build(input_shape) first")
        _open(path, _read_weights_into(model))


@hookimpl
def register_checkpoint_formats(register):
    register(HDF5Format(), name="hdf5")
