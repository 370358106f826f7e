"""The ``"keras_h5"`` checkpoint format: Keras's legacy HDF5 model files, both ways.

    model = fw.load_model("keras_model.h5")              # recognised by content
    model.save("for_keras.h5", format="keras_h5")         # keras.models.load_model opens it

Read: Sequential models of InputLayer, Dense, Conv2D, MaxPooling2D,
AveragePooling2D, Flatten, Dropout, BatchNormalization and Activation, as
written by ``keras.Model.save("m.h5")`` in Keras 3, or by Keras 2 (an
InputLayer with ``batch_input_shape``, weight names ending in ``:0``). The
model comes back uncompiled. Anything else (a Lambda, a custom class, a
functional model) is refused with `CheckpointError` naming the layer; no code
from the file is run. As in the native format, only hard links are followed,
external storage, virtual datasets and filters are refused, and every
dataset's shape, dtype and stored size are checked against the model built
from the config before anything is read.

Written: the layout Keras 3 reads (root attributes ``model_config``,
``keras_version``, ``backend``; ``model_weights/<layer>/<layer>/<weight>``
with ``layer_names`` and ``weight_names``). A framework activation layer
becomes a Keras ``Activation`` (``LeakyReLU``/``ELU`` with their own
arguments); a softmax or sigmoid loss layer becomes the ``Activation`` its
``predict`` applies, so Keras predicts what the framework predicts.
"""

import io
import json
import os
import select
import signal
import time

import numpy as np

from framework import initializers, saving
from framework.errors import CheckpointError, InvalidArgumentError
from framework.hookspecs import hookimpl
from framework.interop import keras_layers
from framework.plugins.hdf5_reader import open_checkpoint

KERAS_LAYOUT_VERSION = "3.15.1"  # the Keras release whose loader this layout was checked against
_FLOATS = (np.dtype("<f4"), np.dtype("<f8"), np.dtype("<f2"))
_MAX_NAMES = 100_000
ATTRIBUTE_SECONDS = 20  # reading a few strings takes milliseconds; a damaged heap takes forever


# -- reading -------------------------------------------------------------------
def _text(reader, obj, name, limit, required=True):
    """A string attribute (fixed-length or variable-length, as Keras writes both), bounded in size."""
    h5py = reader.h5py
    if name not in obj.attrs:
        if required:
            raise reader.fail(f"the attribute {name!r} of {obj.name!r} is missing (not a Keras model file?)")
        return None
    attr = h5py.h5a.open(obj.id, name.encode())
    if attr.shape != () or (attr.dtype.kind != "S" and h5py.check_string_dtype(attr.dtype) is None):
        raise reader.fail(f"attribute {name!r} of {obj.name!r} must be a string, got dtype {attr.dtype} shape {attr.shape}")
    value = obj.attrs[name]
    value = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if len(value) > limit:
        raise reader.fail(f"attribute {name!r} of {obj.name!r} is {len(value):,} bytes, more than the limit of {limit:,}")
    return value


def _names(reader, obj, name):
    """A list-of-strings attribute (``layer_names``, ``weight_names``); empty lists come as float arrays."""
    h5py = reader.h5py
    if name not in obj.attrs:
        raise reader.fail(f"the attribute {name!r} of {obj.name!r} is missing")
    attr = h5py.h5a.open(obj.id, name.encode())
    if len(attr.shape) != 1 or attr.shape[0] > _MAX_NAMES:
        raise reader.fail(f"attribute {name!r} of {obj.name!r} must be a list of at most {_MAX_NAMES} names")
    if attr.shape[0] == 0:
        return []
    if attr.dtype.kind != "S" and h5py.check_string_dtype(attr.dtype) is None:
        raise reader.fail(f"attribute {name!r} of {obj.name!r} must hold strings, got dtype {attr.dtype}")
    values = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in obj.attrs[name]]
    for value in values:
        if not value or len(value) > 1024 or "\0" in value or any(part in ("", ".", "..") for part in value.split("/")):
            raise reader.fail(f"attribute {name!r} of {obj.name!r} holds a bad name {value!r:.80}")
    return values


def _layer_specs(reader, config):
    if not isinstance(config, dict):
        raise reader.fail("model_config must be a JSON object")
    class_name = config.get("class_name")
    if class_name != "Sequential":
        raise reader.fail(f"the model is a {class_name!r:.60}; only Sequential Keras models are supported")
    body = config.get("config")
    specs = body.get("layers") if isinstance(body, dict) else None
    if not isinstance(specs, list) or not specs:
        raise reader.fail("model_config.config.layers must be a non-empty list")
    return body, specs


def _build(reader, config):
    """(model, [(layer, weight order)]) from Keras's model_config, nothing allocated yet."""
    from framework.models import Sequential

    body, specs = _layer_specs(reader, config)
    shape, built = None, []
    try:
        for i, spec in enumerate(specs):
            where = f"layer {i}"
            if isinstance(spec, dict) and spec.get("class_name") == keras_layers.KERAS_INPUT_LAYER:
                if i != 0:
                    raise keras_layers.UnsupportedKerasLayer(f"{where}: an InputLayer after the first layer")
                shape = keras_layers.input_shape(spec, where)
                continue
            if i == 0 and isinstance(spec, dict) and isinstance(spec.get("config"), dict) \
                    and "batch_input_shape" in spec["config"]:  # Keras 2 without an InputLayer
                shape = keras_layers.input_shape(spec, where)
            built.append(keras_layers.from_keras(spec, where))
        if shape is None and isinstance(body.get("build_input_shape"), list):
            shape = keras_layers.input_shape({"config": {"batch_shape": body["build_input_shape"]}}, "build_input_shape")
        if shape is None:
            raise keras_layers.UnsupportedKerasLayer("the model records no input shape (InputLayer or batch_input_shape)")
        name = body.get("name", "sequential")
        with initializers.uninitialized():  # every weight is read from the file next
            model = Sequential([layer for layer, _ in built], name=name if isinstance(name, str) else "sequential")
            model.build(shape)
    except keras_layers.UnsupportedKerasLayer as exc:
        raise reader.fail(str(exc)) from None
    except InvalidArgumentError as exc:
        raise reader.fail(f"the Keras config does not describe a model this framework can build: {exc}") from None
    return model, built


def _string_attributes(reader):
    """Every string attribute the loader needs: ``keras_version``, ``model_config``, each layer's ``weight_names``.

    Keras writes them as variable-length strings, kept in the file's global
    heap; HDF5 can spin forever on a damaged heap (found by fuzzing), so
    they are read first, in one go, where a deadline can stop that.
    """
    weights = {}
    group = reader.file.get("model_weights", getlink=True)
    if isinstance(group, reader.h5py.HardLink) and isinstance(reader.file["model_weights"], reader.h5py.Group):
        holder = reader.file["model_weights"]
        for count, name in enumerate(holder):
            if count >= _MAX_NAMES:
                raise reader.fail(f"/model_weights holds more than {_MAX_NAMES} groups")
            link = holder.get(name, getlink=True)
            if isinstance(link, reader.h5py.HardLink) and isinstance(holder[name], reader.h5py.Group) \
                    and "weight_names" in holder[name].attrs:
                weights[name] = _names(reader, holder[name], "weight_names")
    return {"keras_version": _text(reader, reader.file, "keras_version", 64).decode("utf-8", "replace"),
            "model_config": _text(reader, reader.file, "model_config", saving.MAX_JSON_BYTES).decode("utf-8", "replace"),
            "weight_names": weights}


def _bounded(function, path, seconds=ATTRIBUTE_SECONDS):
    """``function(reader)`` run on `path` in a forked child that is killed after `seconds`.

    Returns its JSON-able result; a failure in the child comes back as
    `CheckpointError` with the child's message. Where there is no fork
    (Windows), it runs here, unbounded.
    """
    if not hasattr(os, "fork"):
        return open_checkpoint(path, function)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: read, answer, leave without running any exit handler
        code = 0
        try:
            os.close(read_end)
            try:
                answer = {"result": open_checkpoint(path, function)}
            except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent as text
                answer = {"error": str(exc) if isinstance(exc, CheckpointError) else f"{type(exc).__name__}: {exc}"}
            data = json.dumps(answer).encode()
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks, deadline = [], time.monotonic() + seconds
    try:
        while True:
            ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                raise saving.error(path, f"reading the file's attributes took more than {seconds} s "
                                         "(a damaged HDF5 heap makes HDF5 loop forever); refused")
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    try:
        answer = json.loads(b"".join(chunks))
    except ValueError:
        raise saving.error(path, "reading the file's attributes failed (the reader process died)") from None
    if "error" in answer:
        raise CheckpointError(answer["error"])
    return answer["result"]


def _read_model(reader, attributes):
    from framework.backend import get_backend

    config = saving.loads(attributes["model_config"].encode("utf-8"), reader.path, "model_config")
    model, built = _build(reader, config)
    found = []
    declared = 0
    for layer, order in built:
        if not order:
            continue
        holder = reader.file
        for part in ("model_weights", layer.name):
            link = holder.get(part, getlink=True)
            if not isinstance(link, reader.h5py.HardLink) or not isinstance(holder[part], reader.h5py.Group):
                raise reader.fail(f"/model_weights/{layer.name} is missing or not a group reached by a hard link")
            holder = holder[part]
        names = attributes["weight_names"].get(layer.name)
        if names is None:
            raise reader.fail(f"the attribute 'weight_names' of '/model_weights/{layer.name}' is missing")
        if len(names) != len(order):
            raise reader.fail(f"layer {layer.name!r} has {len(order)} weights in the model but {len(names)} in the file")
        for weight_name, (table, key, transpose) in zip(names, order):
            target = getattr(layer, table)[key]
            shape = tuple(target.shape) if transpose is None else tuple(target.shape[i] for i in np.argsort(transpose))
            dataset = reader.dataset(("model_weights", layer.name, *weight_name.split("/")))
            dtype = dataset.dtype if dataset.dtype in _FLOATS else _FLOATS[0]
            reader.check_dataset(dataset, shape, dtype)
            declared += int(np.prod(shape)) * dtype.itemsize
            if declared > reader.size:
                raise reader.fail(f"the weights declare {declared:,} bytes, but the file has only {reader.size:,}")
            found.append((layer, table, key, transpose, dataset))
    backend = get_backend()
    arrays = []
    for layer, table, key, transpose, dataset in found:  # every check passed: now read
        try:
            array = dataset[()]
        except OSError as exc:
            raise reader.fail(f"{dataset.name} cannot be read ({exc})") from None
        arrays.append(keras_layers.to_framework_layout(array, transpose))
    for (layer, table, key, _, _), array in zip(found, arrays):
        current = getattr(layer, table)[key]
        getattr(layer, table)[key] = backend.asarray(array, dtype=current.dtype)
    return model


def detect(path):
    """True when `path` is an HDF5 file with Keras's root attributes and not the native format's."""
    try:
        import h5py

        with h5py.File(path, "r") as file:
            return "keras_version" in file.attrs and "model_config" in file.attrs and "format_version" not in file.attrs
    except Exception:  # not HDF5, unreadable: not ours
        return False


# -- writing -------------------------------------------------------------------
def _keras_model(model):
    """(model_config dict, [(layer name, [(weight name, array)])]) in Keras 3's layout."""
    if not model.built:
        raise InvalidArgumentError("the model is not built: call build(input_shape) or fit first, so it has weights")
    specs = [{"class_name": "InputLayer",
              "config": {"name": "input_layer", "batch_shape": list(model.input_shape), "dtype": "float32"}}]
    weights = []
    try:
        for layer in model._body:
            translated = keras_layers.to_keras(layer)
            if translated is not None:
                specs.append(translated[0])
                weights.append((layer.name, translated[1]))
    except keras_layers.UnsupportedKerasLayer as exc:
        raise InvalidArgumentError(f"cannot write a Keras model: {exc}") from None
    loss = model._loss_layer
    activation = keras_layers.LOSS_OUTPUT_ACTIVATION.get(type(loss).__name__) if loss is not None else None
    if activation is not None:
        specs.append({"class_name": "Activation", "config": {"name": loss.name, "activation": activation}})
        weights.append((loss.name, []))
    config = {"class_name": "Sequential",
              "config": {"name": model.name, "layers": specs, "build_input_shape": list(model.input_shape)}}
    return config, weights


def _write(model, path):
    import h5py

    from framework import __version__

    config, weights = _keras_model(model)
    image = io.BytesIO()  # built in memory, written with plain file calls: a full disk raises, never crashes
    with h5py.File(image, "w") as file:
        file.attrs["keras_version"] = KERAS_LAYOUT_VERSION
        file.attrs["backend"] = "numpy"
        file.attrs["framework_version"] = __version__  # who wrote it; Keras ignores it
        file.attrs["model_config"] = json.dumps(config)
        group = file.create_group("model_weights")
        group.attrs["layer_names"] = np.array([name.encode() for name, _ in weights], dtype="S")
        group.attrs["keras_version"] = KERAS_LAYOUT_VERSION
        group.attrs["backend"] = "numpy"
        for name, arrays in weights:
            layer_group = group.create_group(name)
            names = [f"{name}/{weight}" for weight, _ in arrays]
            layer_group.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S") if names \
                else np.zeros((0,), dtype="S1")
            for full_name, (_, array) in zip(names, arrays):
                layer_group.create_dataset(full_name, data=np.ascontiguousarray(array, dtype="<f4"))
    saving.write_file(path, image.getbuffer())


class KerasH5Format(saving.CheckpointFormat):
    """Keras's legacy ``.h5`` model files (see the module's docstring)."""

    extensions = ()  # never chosen by extension: ".h5" stays the native format; ask with format="keras_h5"
    signature = b"\x89HDF\r\n\x1a\n"

    def detect(self, path):
        return detect(path)

    def save_model(self, model, path):
        _write(model, path)

    def load_model(self, path):
        attributes = _bounded(_string_attributes, path)
        return open_checkpoint(path, lambda reader: _read_model(reader, attributes))

    def save_weights(self, model, path):
        raise CheckpointError("the keras_h5 format saves whole models: use model.save(path, format='keras_h5')")

    def load_weights(self, model, path):
        raise CheckpointError("the keras_h5 format loads whole models: use fw.load_model(path)")


@hookimpl
def register_checkpoint_formats(register):
    register(KerasH5Format(), name="keras_h5")
