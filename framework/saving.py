"""Saving and loading models: format dispatch, atomic writes, bounded JSON.

    model.save("run.h5")            # model, weights, compile settings, training state
    model = fw.load_model("run.h5")

Formats are plugins registered under the kind ``"checkpoint_formats"``
(hook ``register_checkpoint_formats``); the built-in one is ``"hdf5"``. A
format is an object with the attributes of `CheckpointFormat`. This module
does what every format needs: it picks the format, writes through a
temporary file so that a crash never leaves a half-written checkpoint, and
checks a path before any library opens it.
"""

import contextlib
import json
import os
import re
import stat

from framework import registry
from framework.errors import CheckpointError, FrameworkError, InvalidArgumentError

DEFAULT_FORMAT = "hdf5"
MAX_JSON_BYTES = 4 * 2**20  # a config of ~10,000 layers; bounds json.loads' time and memory
MAX_JSON_DEPTH = 32  # configs are ~6 deep; deep nesting would exhaust the parser's recursion


class CheckpointFormat:
    """The contract of a checkpoint format plugin (subclassing it is optional).

    Attributes:
        extensions: file suffixes chosen by default for this format (``(".h5",)``).
        signature: the bytes every file of this format starts with.

    ``save_model``/``save_weights`` write to `path`, a fresh temporary file
    that the caller moves into place; ``load_model``/``load_weights`` read a
    path already checked to be a non-empty regular file, and raise
    `CheckpointError` naming `path` and the reason.
    """

    extensions = ()
    signature = b""
    # Optional: ``detect(path) -> bool``, True when the file's content is this
    # format's; `load_model` asks such formats first.

    def save_model(self, model, path): ...

    def load_model(self, path): ...

    def save_weights(self, model, path): ...

    def load_weights(self, model, path): ...


def error(path, reason, action="load"):
    """A `CheckpointError` whose message names the path and the reason."""
    return CheckpointError(f"cannot {action} checkpoint {os.fspath(path)!r}: {reason}")


# -- JSON --------------------------------------------------------------------
def dumps(value):
    """Compact JSON bytes; NaN and infinity are refused, as JSON has no such values."""
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def loads(data, path, what):
    """Parse JSON `data` (bytes) from the checkpoint `path`, bounded in size and depth."""
    if len(data) > MAX_JSON_BYTES:
        raise error(path, f"{what} is {len(data):,} bytes, more than the limit of {MAX_JSON_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(path, f"{what} is not UTF-8 text ({exc})") from None
    try:
        # The C parser raises RecursionError on deep nesting, before any harm.
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise error(path, f"{what} is not valid JSON ({type(exc).__name__}: {str(exc):.200})") from None
    depth = _depth(value)
    if depth > MAX_JSON_DEPTH:
        raise error(path, f"{what} is nested {depth} levels deep, more than the limit of {MAX_JSON_DEPTH}")
    return value


def _depth(value):
    """How deeply lists and dicts nest in `value` (iterative: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


# -- paths and atomic writes -------------------------------------------------
def _check_path_type(path, argument="path"):
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidArgumentError(f"{argument} must be a str or os.PathLike, got {type(path).__name__}: {path!r:.80}")
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        raise InvalidArgumentError(f"{argument} must name a file, got an empty string")
    if "\0" in path:
        # The C library would stop reading at the NUL: refuse rather than open another file.
        raise InvalidArgumentError(f"{argument} must not contain a NUL byte, got {path!r:.80}")
    return path


def _check_file_path(path, action):
    """`path` checked to be usable as a file name (see `_check_path_type`), as a str."""
    path = _check_path_type(path)
    if path.endswith(("/", os.sep)) or (os.altsep and path.endswith(os.altsep)):
        raise error(path, "the path ends with a separator, so it names a folder, not a file", action)
    return path


def check_readable(path):
    """Raise `CheckpointError` unless `path` is a non-empty regular file (so opening it cannot block)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(path, "no such file") from None
    except OSError as exc:
        raise error(path, exc.strerror or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise error(path, "it is a directory, not a checkpoint file")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end when read.
        raise error(path, "it is not a regular file")
    if info.st_size == 0:
        raise error(path, "the file is empty")
    return info.st_size


def temporary_path(path):
    """``<folder>/.<name>.tmp-<pid>-<random>``: same folder (so `os.replace` is atomic), recognisable, unique."""
    folder, name = os.path.split(os.path.abspath(path))
    import secrets  # only when saving; it pulls in hashlib and hmac

    return os.path.join(folder, f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or not a pid: leave its file alone
    return True


def clean_stale_temporaries(path):
    """Remove temporary files left by killed saves to `path` (their process is gone); returns their names."""
    folder, name = os.path.split(os.path.abspath(path))
    pattern = re.compile(rf"\.{re.escape(name)}\.tmp-(\d+)-[0-9a-f]{{8}}")
    removed = []
    try:
        candidates = os.listdir(folder)
    except OSError:
        return removed
    for candidate in candidates:
        match = pattern.fullmatch(candidate)
        if match and int(match.group(1)) != os.getpid() and not _pid_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, candidate))
                removed.append(candidate)
    return removed


def _fsync(path, flags=os.O_RDONLY):
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path, data):
    """Create the new file `path` holding the bytes `data`, with plain file calls.

    For formats that build their file in memory: a full disk (ENOSPC) or a
    file-size limit (EFBIG) then surfaces here as `OSError`, which `save`
    turns into `CheckpointError`, instead of inside a library that may not
    survive it.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data).cast("B")
        while view:
            view = view[os.write(fd, view):]  # os.write may write less than asked
    finally:
        os.close(fd)


def _target(path):
    """The file a save to `path` replaces: a symlink is followed (the link stays a link)."""
    return os.path.realpath(path) if os.path.islink(path) else path


@contextlib.contextmanager
def atomic_write(path):
    """Yield a temporary path to write; on success it replaces `path` atomically and durably.

    The file is fsynced before `os.replace` and the folder after it, so
    after a crash `path` holds either the old file or the complete new one.
    A symlink is followed: its target is replaced, in the target's folder.
    An existing file keeps its permission bits, and one that `os.access`
    says is not writable is refused (so root may still overwrite, as `cp`
    does). On any error the temporary file is removed and `path` is untouched.
    """
    target = _target(path)
    folder = os.path.dirname(os.path.abspath(target))
    if os.path.isdir(target):
        raise error(path, "it is a directory", "save")
    if not os.path.isdir(folder):
        raise error(path, f"the folder {folder!r} does not exist", "save")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    if mode is not None and not os.access(target, os.W_OK):
        raise error(path, f"the existing file {target!r} is not writable (mode {mode:o}); not overwritten", "save")
    clean_stale_temporaries(target)
    temporary = temporary_path(target)
    try:
        yield temporary
        if mode is not None:
            os.chmod(temporary, mode)  # the new file replaces the old one: it keeps its permissions
        _fsync(temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if os.name == "posix":  # directories cannot be opened for fsync on Windows
        _fsync(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


# -- format dispatch ---------------------------------------------------------
def get_format(name):
    """The checkpoint format registered as `name` (e.g. ``"hdf5"``)."""
    return registry.get("checkpoint_formats", name, what="checkpoint format").obj


def _format_for_save(path, format):
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".keras":
        # Keras reads a .keras path as its zip format, which no format here writes.
        raise InvalidArgumentError(
            f"path {path!r} ends in '.keras', Keras 3's zip format, which this framework does not write; "
            "save Keras's HDF5 layout with a '.h5' path and format='keras_h5' (keras.models.load_model reads it)"
        )
    if format is not None:
        return get_format(format)
    for entry in registry.entries("checkpoint_formats").values():
        if suffix and suffix in getattr(entry.obj, "extensions", ()):
            return entry.obj
    return get_format(DEFAULT_FORMAT)


def _describe_bytes(head):
    if head.startswith(b"PK\x03\x04"):
        return "it is a zip archive"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "it is a Python pickle, which is never loaded (unpickling runs code)"
    return f"it starts with {head[:8]!r}, the signature of no known checkpoint format"


def _format_for_load(path):
    check_readable(path)
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except OSError as exc:
        raise error(path, exc.strerror or str(exc)) from None
    formats = [entry.obj for entry in registry.entries("checkpoint_formats").values()]
    # A format that can recognise its files by content (`detect`) is asked
    # first: several formats may share a container (HDF5) and its signature.
    for fmt in formats:
        detect = getattr(fmt, "detect", None)
        if detect is not None and detect(path):
            return fmt
    for fmt in formats:
        signature = getattr(fmt, "signature", b"")
        if signature and head.startswith(signature) and getattr(fmt, "detect", None) is None:
            return fmt
    known = ", ".join(registry.names("checkpoint_formats")) or "none"
    raise error(path, f"{_describe_bytes(head)} (known formats: {known})")


def _save(model, path, format, method):
    from framework import distributed

    path = _check_file_path(path, "save")  # on every rank: a bad path is an error everywhere
    if not distributed.is_chief():
        return  # data-parallel ranks hold identical weights: rank 0 alone writes
    fmt = _format_for_save(path, format)
    try:
        with atomic_write(path) as temporary:
            getattr(fmt, method)(model, temporary)
    except CheckpointError:
        raise
    except (OSError, FrameworkError) as exc:  # a full disk, a file-size limit, a vanished folder...
        raise error(path, str(exc), "save") from exc


def save_model(model, path, format=None):
    """Save `model` whole to `path`, atomically (see `Sequential.save`)."""
    _save(model, path, format, "save_model")


def save_weights(model, path, format=None):
    """Save `model`'s weights to `path`, atomically (see `Sequential.save_weights`)."""
    _save(model, path, format, "save_weights")


def load_model(path, format=None):
    """The model saved at `path`: same layers, weights, compile settings and training state.

    `format`: a registered checkpoint format (``"hdf5"``, ``"keras_h5"``); by
    default the format that recognises the file's content (a format's
    ``detect(path)``), else the one whose signature the file starts with.
    Never runs code from the file: classes are found by registered name
    only. Any problem raises `CheckpointError` naming the path and the reason.
    """
    path = _check_file_path(path, "load")
    if format is not None:
        fmt = get_format(format)
        check_readable(path)
        return fmt.load_model(path)
    return _format_for_load(path).load_model(path)


def load_weights(model, path):
    """Set `model`'s weights from `path`, by layer name (see `Sequential.load_weights`)."""
    path = _check_file_path(path, "load")
    _format_for_load(path).load_weights(model, path)
