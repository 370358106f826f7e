"""A corpus of bad checkpoint files, each built here from a good one: every one is refused with
`CheckpointError` naming the path and the reason, without running code or reading another file.

Where a file points elsewhere (links, external storage, virtual datasets) it
points at valid data of the right shape: a loader that followed it would
load successfully, so these tests fail if the check is ever lost.
"""

import hashlib
import json
import os
import pickle
import zipfile

import h5py
import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import CheckpointError
from framework.plugins.hdf5 import FORMAT_VERSION

rng = np.random.default_rng(0)
X = rng.random((32, 6)).astype("float32")
Y = (X.sum(axis=1) > 3).astype(int)
W_PATH = "model_weights/affine/W"  # shape (6, 8), float32


@pytest.fixture
def good(tmp_path):
    model = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(2)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "good.h5"
    model.save(path)
    fw.load_model(path)  # the corpus starts from a file that loads
    return path


def copy(good, name="bad.h5"):
    path = good.parent / name
    path.write_bytes(good.read_bytes())
    return path


def edit_json(path, name, change):
    """Edit a JSON attribute and re-stamp its digest in 'checksums', as a deliberate forger would,
    so the checks behind the checksum are reached (test_checkpoint_configs tests the checksum itself)."""
    with h5py.File(path, "r+") as file:
        value = json.loads(file.attrs[name])
        change(value)
        data = json.dumps(value).encode()
        file.attrs[name] = np.bytes_(data)
        if name in ("model_config", "training_config") and "checksums" in file.attrs:
            checksums = json.loads(file.attrs["checksums"])
            checksums[name] = hashlib.sha256(data).hexdigest()
            file.attrs["checksums"] = np.bytes_(json.dumps(checksums).encode())


def forge_attr(file, name, data):
    """Set the config attribute `name` to `data` and re-stamp its digest, as in `edit_json`."""
    file.attrs[name] = np.bytes_(data)
    if "checksums" in file.attrs:
        checksums = json.loads(file.attrs["checksums"])
        checksums[name] = hashlib.sha256(data).hexdigest()
        file.attrs["checksums"] = np.bytes_(json.dumps(checksums).encode())


def replace_dataset(path, where, **create):
    """Replace the dataset at `where` by one made with `create`, keeping its sha256 attribute."""
    with h5py.File(path, "r+") as file:
        parent, name = where.rsplit("/", 1)
        digest = file[where].attrs["sha256"]
        del file[parent][name]
        dataset = file[parent].create_dataset(name, **create)
        dataset.attrs["sha256"] = digest


def good_w(good):
    with h5py.File(good, "r") as file:
        return file[W_PATH][()]


# -- each case: (good, tmp_path) -> the bad path, and a pattern of the reason --
def missing(good, tmp_path):
    return tmp_path / "nothing.h5", "no such file"


def directory(good, tmp_path):
    (tmp_path / "dir.h5").mkdir()
    return tmp_path / "dir.h5", "is a directory"


def empty(good, tmp_path):
    (tmp_path / "empty.h5").write_bytes(b"")
    return tmp_path / "empty.h5", "empty"


def fifo(good, tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(tmp_path / "fifo.h5")  # opening it to read would block forever
    return tmp_path / "fifo.h5", "not a regular file"


def random_bytes(good, tmp_path):
    (tmp_path / "random.h5").write_bytes(np.random.default_rng(1).bytes(4096))
    return tmp_path / "random.h5", "signature of no known checkpoint format"


def signature_then_random_bytes(good, tmp_path):
    (tmp_path / "garbage.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + np.random.default_rng(2).bytes(4096))
    return tmp_path / "garbage.h5", "not a readable HDF5 file"


def zip_renamed(good, tmp_path):
    with zipfile.ZipFile(tmp_path / "model.h5", "w") as archive:
        archive.writestr("config.json", "{}")
    return tmp_path / "model.h5", "zip archive"


class _Exploit:
    target = None

    def __reduce__(self):
        return os.mkdir, (self.target,)


def pickle_renamed(good, tmp_path):
    _Exploit.target = str(tmp_path / "pwned")
    (tmp_path / "model.h5").write_bytes(pickle.dumps(_Exploit(), protocol=4))
    return tmp_path / "model.h5", "pickle, which is never loaded"


def missing_config(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r+") as file:
        del file.attrs["model_config"]
    return path, "the attribute 'model_config' of '/' is missing"


def malformed_json(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r+") as file:
        forge_attr(file, "model_config", b'{"class_name": "Sequential", ')
    return path, "model_config is not valid JSON"


def deeply_nested_json(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r+") as file:
        forge_attr(file, "model_config", b"[" * 200_000 + b"]" * 200_000)
    return path, "model_config is not valid JSON .*Recursion"


def nested_json_over_the_limit(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r+") as file:
        forge_attr(file, "model_config", b"[" * 40 + b"]" * 40)
    return path, "nested 40 levels deep, more than the limit of 32"


def oversized_json(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r+", libver="v108") as file:
        file.attrs["model_config"] = np.bytes_(b" " * (fw.saving.MAX_JSON_BYTES + 2) + b"{}")
    return path, "attribute 'model_config' of '/' is 4,194,308 bytes, more than the limit"


def variable_length_string_config(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r+") as file:
        file.attrs["model_config"] = file.attrs["model_config"].decode()  # h5py stores str as variable-length
    return path, "must be a fixed-length byte string"


def layer_config(change):
    def case(good, tmp_path):
        path = copy(good)
        edit_json(path, "model_config", lambda config: change(config["config"]["layers"][0]))
        return path

    return case


def unknown_class(good, tmp_path):
    def change(spec):
        spec.update(class_name="AcmeGatedUnit", package="acme-layers", version="1.2")

    return layer_config(change)(good, tmp_path), r"unknown layer class 'AcmeGatedUnit'; .*pip install 'acme-layers==1.2'"


def class_named_by_module(good, tmp_path):
    return layer_config(lambda spec: spec.update(class_name="os.system"))(good, tmp_path), "looks like a Python module"


def config_value_naming_a_module(good, tmp_path):
    def change(spec):
        spec["config"]["weight_init"] = {"module": "os", "class_name": "system", "config": {}}

    return layer_config(change)(good, tmp_path), "config value 'weight_init': a nested value must be {'class_name': ..., 'config': {...}}, got keys"


def config_value_out_of_range(good, tmp_path):
    return layer_config(lambda spec: spec["config"].update(units=-3))(good, tmp_path), "units must be a positive integer"


def config_with_unknown_argument(good, tmp_path):
    def change(spec):
        spec["config"]["command"] = "rm -rf /"

    return layer_config(change)(good, tmp_path), r"Affine.from_config failed: .*'command'"


def unknown_optimizer(good, tmp_path):
    path = copy(good)
    edit_json(path, "training_config", lambda config: config["optimizer"].update(class_name="subprocess.run"))
    return path, "looks like a Python module"


def bad_training_state(good, tmp_path):
    path = copy(good)
    edit_json(path, "training_config", lambda config: config["training_state"].update(shuffle_seed="42"))
    return path, "training_state.shuffle_seed must be a non-negative integer"


def dataset_shape_differs_from_config(good, tmp_path):
    path = copy(good)
    replace_dataset(path, W_PATH, data=np.zeros((6, 9), "float32"))
    return path, r"/model_weights/affine/W has shape \(6, 9\); the config records \(6, 8\)"


def weights_table_differs_from_layer_config(good, tmp_path):
    path = copy(good)
    replace_dataset(path, W_PATH, data=np.zeros((6, 9), "float32"))
    edit_json(path, "model_config", lambda config: config["weights"]["affine"]["W"].update(shape=[6, 9]))
    return path, r"layer 'affine' weight 'W' has shape \(6, 8\) in the model but \(6, 9\) in the file"


def wrong_dtype(data):
    def case(good, tmp_path):
        path = copy(good)
        replace_dataset(path, W_PATH, data=data)
        return path, "has dtype .*; the config records float32"

    case.__name__ = f"dataset_of_dtype_{np.asarray(data).dtype.str}"
    return case


def weights_table_with_object_dtype(good, tmp_path):
    path = copy(good)
    edit_json(path, "model_config", lambda config: config["weights"]["affine"]["W"].update(dtype="object"))
    return path, "dtype must be one of"


def hard_link_replaced(name, link):
    """W replaced by `link(file, copy_of_good)`, which leads to a valid copy of W."""

    def case(good, tmp_path):
        other = copy(good, "other.h5")
        path = copy(good)
        with h5py.File(path, "r+") as file:
            file.copy(file[W_PATH], "elsewhere_W")
            del file[W_PATH]
            name, target = link(other)
            file[name] = target
        return path, f"is a {type(target).__name__}; only hard links are accepted"

    case.__name__ = name
    return case


soft_link = hard_link_replaced("soft_link", lambda other: (W_PATH, h5py.SoftLink("/elsewhere_W")))
external_link = hard_link_replaced("external_link", lambda other: (W_PATH, h5py.ExternalLink(str(other), W_PATH)))


def soft_link_to_group(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r+") as file:
        file.copy(file["model_weights/affine"], "elsewhere")
        del file["model_weights/affine"]
        file["model_weights/affine"] = h5py.SoftLink("/elsewhere")
    return path, "/model_weights/affine is a SoftLink"


def external_storage(target):
    def case(good, tmp_path):
        data = good_w(good)
        raw = tmp_path / "raw.bin"
        raw.write_bytes(data.tobytes())
        path = copy(good)
        source = str(raw) if target == "valid bytes" else target
        replace_dataset(path, W_PATH, shape=data.shape, dtype=data.dtype, external=[(source, 0, data.nbytes)])
        return path, "keeps its data in an external file"

    case.__name__ = f"external_storage_{target.replace(' ', '_').replace('/', '_')}"
    return case


def virtual_dataset(good, tmp_path):
    other = copy(good, "other.h5")
    data = good_w(good)
    path = copy(good)
    layout = h5py.VirtualLayout(shape=data.shape, dtype=data.dtype)
    layout[...] = h5py.VirtualSource(str(other), W_PATH, shape=data.shape)
    with h5py.File(path, "r+") as file:
        digest = file[W_PATH].attrs["sha256"]
        del file[W_PATH]
        file["model_weights/affine"].create_virtual_dataset("W", layout).attrs["sha256"] = digest
    return path, "is a virtual dataset"


def huge_declared_shape(good, tmp_path):
    path = copy(good)
    replace_dataset(path, W_PATH, shape=(2**30, 2**30), dtype="float32", chunks=(64, 64))
    edit_json(path, "model_config", lambda config: config["weights"]["affine"]["W"].update(shape=[2**30, 2**30]))
    return path, "model_config.weights brings the data declared to [0-9,]{25} bytes, but the file has only"


def optimizer_state_aliasing_the_weights(good, tmp_path):
    model = fw.Sequential([layers.Affine(1024), layers.ReLU(), layers.Affine(2)])  # its data outweighs the rest
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")  # plain SGD: no state of its own
    model.build((None, 6))
    path = tmp_path / "bad.h5"
    model.save(path)
    with h5py.File(path, "r+") as file:
        file["optimizer_state/m"] = file["model_weights"]  # a second name for every weight: read twice
    with h5py.File(path, "r") as file:
        weights = json.loads(file.attrs["model_config"])["weights"]
    table = {f"{layer}/{param}": entry for layer, params in weights.items() for param, entry in params.items()}
    edit_json(path, "training_config", lambda config: config.update(optimizer_state={"m": table}))
    return path, "training_config.optimizer_state brings the data declared to [0-9,]+ bytes, but the file has only"


def huge_shape_in_dataset_only(good, tmp_path):
    path = copy(good)
    replace_dataset(path, W_PATH, shape=(2**30, 2**30), dtype="float32", chunks=(64, 64))
    return path, r"has shape \(1073741824, 1073741824\); the config records \(6, 8\)"


def declared_but_not_stored(good, tmp_path):
    path = copy(good)
    replace_dataset(path, W_PATH, shape=(6, 8), dtype="float32", chunks=(3, 8))  # no chunk ever written
    return path, "declares 192 bytes but stores 0; refused before reading"


def compressed(good, tmp_path):
    path = copy(good)
    replace_dataset(path, W_PATH, data=good_w(good), compression="gzip")
    return path, "uses HDF5 filter 1; only fletcher32 is accepted"


def newer_format_version(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r+") as file:
        file.attrs["format_version"] = np.int64(FORMAT_VERSION + 1)
    return path, rf"format_version {FORMAT_VERSION + 1} is newer than this framework reads \({FORMAT_VERSION}\)"


def format_version_not_an_integer(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r+") as file:
        file.attrs["format_version"] = np.bytes_(b"1")
    return path, "format_version must be an integer"


def zeroed_weight_bytes(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r") as file:
        chunk = file[W_PATH].id.get_chunk_info(0)
    with open(path, "r+b") as raw:  # silent corruption: HDF5 itself reads this without complaint
        raw.seek(chunk.byte_offset + 16)
        raw.write(bytes(32))
    return path, "model_weights/affine/W is corrupt: checksum mismatch"


def digest_mismatch(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r+") as file:
        file[W_PATH].attrs["sha256"] = np.bytes_(hashlib.sha256(b"other").hexdigest().encode())
    return path, "do not match the sha256"


def optimizer_state_changed_behind_its_digest(good, tmp_path):
    path = copy(good)
    with h5py.File(path, "r+") as file:
        file["optimizer_state/m/affine/W"][0, 0] = 1.0  # HDF5 updates fletcher32; only the digest can tell
    return path, "optimizer_state/m/affine/W is corrupt"


def truncated(fraction):
    def case(good, tmp_path):
        data = good.read_bytes()
        cut = max(9, int(len(data) * fraction)) if fraction < 1 else len(data) - 1
        (tmp_path / "cut.h5").write_bytes(data[:cut])
        return tmp_path / "cut.h5", "not a readable HDF5 file"

    case.__name__ = f"truncated_at_{fraction}"
    return case


CASES = [
    missing, directory, empty, fifo, random_bytes, signature_then_random_bytes, zip_renamed, pickle_renamed,
    *(truncated(f) for f in (0.0, 0.01, 0.1, 0.5, 0.9, 1)),
    missing_config, malformed_json, deeply_nested_json, nested_json_over_the_limit, oversized_json,
    variable_length_string_config, unknown_class, class_named_by_module, config_value_naming_a_module,
    config_value_out_of_range, config_with_unknown_argument, unknown_optimizer, bad_training_state,
    dataset_shape_differs_from_config, weights_table_differs_from_layer_config,
    wrong_dtype(np.array([["x"] * 8] * 6, dtype=object)), wrong_dtype(np.zeros((6, 8), "S4")),
    wrong_dtype(np.zeros((6, 8), "int32")), wrong_dtype(np.zeros((6, 8), ">f4")),
    weights_table_with_object_dtype, soft_link, external_link, soft_link_to_group,
    external_storage("valid bytes"), external_storage("/etc/passwd"), virtual_dataset, huge_declared_shape,
    optimizer_state_aliasing_the_weights, huge_shape_in_dataset_only, declared_but_not_stored, compressed, newer_format_version,
    format_version_not_an_integer, zeroed_weight_bytes, digest_mismatch, optimizer_state_changed_behind_its_digest,
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_bad_file_is_refused_naming_path_and_reason(good, tmp_path, case):
    path, reason = case(good, tmp_path)
    with pytest.raises(CheckpointError, match=reason) as info:
        fw.load_model(path)
    assert str(path) in str(info.value)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("case", [zeroed_weight_bytes, soft_link, huge_declared_shape, wrong_dtype(np.zeros((6, 8), ">f4"))],
                         ids=lambda case: case.__name__)
def test_load_weights_refuses_them_too_and_changes_nothing(good, tmp_path, case):
    path, reason = case(good, tmp_path)
    model = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(2)])
    model.build((None, 6))
    before = model.get_weights()
    with pytest.raises(CheckpointError, match=reason):
        model.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_a_huge_layer_in_the_config_costs_no_memory_before_it_is_refused(good, tmp_path):
    """A config asking for an Affine of 5,000,000 units (a 6x5e6 float32 W, 120 MB, plus the random
    numbers drawn for it) is refused by its mismatch with the file's weights table without that
    memory ever being touched: the model is rebuilt with uninitialised weights."""
    import resource

    path = layer_config(lambda spec: spec["config"].update(units=5_000_000))(good, tmp_path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with pytest.raises(CheckpointError, match=r"layer 'affine' weight 'W' has shape \(6, 5000000\) in the model"):
        fw.load_model(path)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 60, f"peak memory grew by {grown_mib:.0f} MiB"
