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
found by registered name only (the checked reading is in
`framework.plugins.hdf5_reader`). h5py is imported on use: ``import
framework`` never loads it.
"""

import hashlib
import io

import numpy as np

from framework import initializers, saving, serialization
from framework.errors import InvalidArgumentError
from framework.hookspecs import hookimpl
from framework.plugins.hdf5_reader import DTYPES, FORMAT_VERSION, check_name, h5py_module, open_checkpoint


# -- writing -------------------------------------------------------------------
def _host(array):
    """A little-endian NumPy copy of a backend array."""
    from framework.backend import get_backend

    array = np.asarray(get_backend().to_numpy(array))
    if array.dtype.kind != "f" or array.dtype.name not in DTYPES:
        raise InvalidArgumentError(f"only float16/32/64 arrays can be saved, got dtype {array.dtype}")
    return np.ascontiguousarray(array, dtype=DTYPES[array.dtype.name])


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
            params = {check_name(key, f"layer {layer.name!r}: {attribute} name"): _host(p) for key, p in arrays.items()}
            weights[check_name(layer.name, "layer name")] = params
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
            check_name(slot, "optimizer slot name")
            slots[slot] = {key: _host(value) for key, value in table.items()}
            for key, value in slots[slot].items():
                layer, _, param = key.partition("/")
                datasets[("optimizer_state", slot, check_name(layer, "layer name"), check_name(param, "parameter name"))] = value
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
    h5py = h5py_module()
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


# -- reading (checked access: plugins/hdf5_reader.py) ------------------------
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
        return open_checkpoint(path, _read_model)

    def load_weights(self, model, path):
        if not model.built:
            raise InvalidArgumentError("load_weights: the model is not built; call build(input_shape) first")
        open_checkpoint(path, _read_weights_into(model))


@hookimpl
def register_checkpoint_formats(register):
    register(HDF5Format(), name="hdf5")
