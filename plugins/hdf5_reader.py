"""Reading an untrusted HDF5 checkpoint: checked access to attributes, datasets and manifests.

Used by the native ``"hdf5"`` format (`framework.plugins.hdf5`, whose
docstring gives the layout) and by the Keras ``.h5`` reader. Every failure
is a `CheckpointError` naming the file. Only hard links are followed;
external storage, virtual datasets and filters other than fletcher32 are
refused; each dataset's shape, dtype and the bytes it really stores are
checked against the config before anything is allocated or read; JSON and
string attributes are bounded.
"""

import hashlib
import math

import numpy as np

from framework import saving
from framework.errors import CheckpointError, FrameworkError, InvalidArgumentError

FORMAT_VERSION = 2  # 2: the configs are covered by the root attribute 'checksums'
DTYPES = {"float16": np.dtype("<f2"), "float32": np.dtype("<f4"), "float64": np.dtype("<f8")}
MAX_SMALL_ATTR = 1024  # version strings and digests are short
MAX_DIM = 2**40


def h5py_module():
    import h5py  # on use: importing h5py costs ~0.1 s, and most runs never save

    return h5py


def check_name(name, what):
    # One path component: "/" would nest, "." would name the group itself.
    if not isinstance(name, str) or not name or "/" in name or "\0" in name or name in (".", ".."):
        raise InvalidArgumentError(f"{what} must be a non-empty string without '/', got {name!r:.80}")
    return name


class Reader:
    """Checked access to one open checkpoint; every failure is a `CheckpointError` naming the path."""

    def __init__(self, file, path, size):
        self.file, self.path, self.size = file, path, size
        self.declared = 0  # bytes declared by the manifests read so far
        self.h5py = h5py_module()

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
        digest = self.string_attr("sha256", MAX_SMALL_ATTR, obj=dataset)
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
                        check_name(name, f"{what}: name")
                except (InvalidArgumentError, AttributeError) as exc:
                    raise self.fail(str(exc)) from None
                if not isinstance(entry, dict) or set(entry) != {"shape", "dtype"}:
                    raise self.fail(f"{what}[{outer!r}][{inner!r}] must be {{'shape': [...], 'dtype': ...}}")
                shape, dtype = entry["shape"], entry["dtype"]
                if not isinstance(shape, list) or not all(
                    isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_DIM for d in shape
                ):
                    raise self.fail(f"{what}[{outer!r}][{inner!r}]: shape must be a list of sizes, got {shape!r:.80}")
                if dtype not in DTYPES:
                    raise self.fail(f"{what}[{outer!r}][{inner!r}]: dtype must be one of {sorted(DTYPES)}, got {dtype!r:.40}")
                result[outer][inner] = (tuple(shape), DTYPES[dtype])
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


def open_checkpoint(path, read):
    """Run `read(reader)` on the checkpoint at `path`; HDF5's and the config's errors become `CheckpointError`."""
    size = saving.check_readable(path)
    h5py = h5py_module()
    try:
        file = h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        raise saving.error(path, f"not a readable HDF5 file ({exc})") from None
    try:
        with file:
            return read(Reader(file, path, size))
    except CheckpointError:
        raise
    except (FrameworkError, MemoryError) as exc:
        raise saving.error(path, f"{type(exc).__name__}: {exc}") from exc
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:  # HDF5 on a damaged file
        raise saving.error(path, f"the file is damaged ({type(exc).__name__}: {exc})") from exc
