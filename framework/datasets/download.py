"""A verified, cached download of a data set's files, as careful as a package manager's.

Each file lands in ``<cache>/<data set>/<file name>``: streamed into a
temporary file in that folder, checked against its checksum, and only then
renamed into place, so an interrupted or corrupt download never leaves a
file that later counts as valid. A cached file that matches its checksum is
used without any request; one that does not is replaced.

Environment (read at each download):

- ``FRAMEWORK_DATA_DIR``: the cache folder (default: the platform's cache
  folder, ``~/.cache/dlfs-framework/datasets`` on Linux).
- ``FRAMEWORK_DATASETS_URL``: a root URL replacing the built-in mirrors;
  a file's URL is ``{root}/{data set}/{file name}``.
- ``FRAMEWORK_DATASETS_CHECKSUMS``: a file in ``sha256sum`` format whose
  entries replace the published checksums (``<sha256>  <file name>`` for
  any data set, ``<sha256>  <data set>/<file name>`` for one).
"""

import hashlib
import http.client
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from framework.errors import DatasetError, InvalidArgumentError

ENV_DATA_DIR = "FRAMEWORK_DATA_DIR"
ENV_URL = "FRAMEWORK_DATASETS_URL"
ENV_CHECKSUMS = "FRAMEWORK_DATASETS_CHECKSUMS"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 16


def cache_dir():
    """The folder holding downloaded data sets: ``FRAMEWORK_DATA_DIR``, else the platform's cache folder."""
    configured = os.environ.get(ENV_DATA_DIR)
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "dlfs-framework" / "datasets"


def read_checksums_file(path):
    """``{name: sha256}`` from a file in ``sha256sum`` format (``<hex>  <name>`` or ``<hex> *<name>``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{ENV_CHECKSUMS}={path}: cannot read the checksums file ({exc})") from None
    checksums = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.lstrip(" *")
        if not _SHA256.fullmatch(digest.lower()) or not name:
            raise DatasetError(f"{path}:{number}: expected '<sha256 in hex>  <file name>', got {line!r}")
        checksums[name] = digest.lower()
    return checksums


def fetch(dataset, files, mirrors, *, user_mirrors=None, checksums=None, timeout=30, retries=2, progress=True):
    """Local paths of a data set's verified files, downloading what the cache lacks.

    Args:
        dataset: the data set's name, its folder in the cache.
        files: ``{file name: {"sha256": hex, "md5": hex (optional)}}``, the
            published checksums.
        mirrors: the built-in base URLs, tried in order.
        user_mirrors: base URLs replacing `mirrors` (no fallback to them).
        checksums: ``{file name: sha256}`` replacing the published values.
        timeout: seconds a request may wait for the server.
        retries: further attempts per mirror after a failed one.
        progress: show a progress bar per file.

    Returns ``{file name: Path}``. Raises `DatasetError` naming every file
    that could not be had, the folder to put it in and a URL to get it from.
    """
    timeout = _positive_number(timeout, "timeout")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidArgumentError(f"retries must be a non-negative integer, got retries={retries!r}")
    expected = _expected_checksums(dataset, files, checksums)
    bases = _mirrors(dataset, mirrors, user_mirrors)
    folder = cache_dir() / dataset
    folder.mkdir(parents=True, exist_ok=True)
    paths, failures = {}, {}
    for name, digests in expected.items():
        path = folder / name
        if path.exists():
            found = _digests(path, digests)
            if found == digests:
                paths[name] = path  # cached and verified: no request
                continue
            warnings.warn(f"{path} does not match its checksum ({_mismatch(digests, found)}); downloading it again")
            path.unlink()
        error = _download_from_mirrors(name, bases, folder, digests, timeout, retries, progress)
        if error is None:
            paths[name] = path
        else:
            failures[name] = error
    if failures:
        raise DatasetError(_missing_message(dataset, folder, bases, failures))
    return paths


def _positive_number(value, argument):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidArgumentError(f"{argument} must be a positive number of seconds, got {argument}={value!r}")
    return float(value)


def _expected_checksums(dataset, files, checksums):
    """Per file, the digests to check: the published ones unless replaced."""
    replaced = {}
    env_file = os.environ.get(ENV_CHECKSUMS)
    if env_file:
        for key, digest in read_checksums_file(env_file).items():
            owner, _, name = key.rpartition("/")
            if owner in ("", dataset):
                replaced[name] = digest
    if checksums is not None:
        if not isinstance(checksums, dict):
            raise InvalidArgumentError(f"checksums must be a dict {{file name: sha256}}, got {type(checksums).__name__}")
        for name, digest in checksums.items():
            if name not in files:
                raise InvalidArgumentError(f"checksums names {name!r}, not a file of {dataset!r}: {sorted(files)}")
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
                raise InvalidArgumentError(f"checksums[{name!r}] must be a sha256 in hex (64 digits), got {digest!r}")
            replaced[name] = digest.lower()
    return {name: ({"sha256": replaced[name]} if name in replaced else dict(published))
            for name, published in files.items()}


def _mirrors(dataset, mirrors, user_mirrors):
    if user_mirrors is not None:
        if isinstance(user_mirrors, str) or not user_mirrors or not all(isinstance(m, str) for m in user_mirrors):
            raise InvalidArgumentError(f"mirrors must be a non-empty list of base URLs, got mirrors={user_mirrors!r}")
        return [m.rstrip("/") for m in user_mirrors]
    root = os.environ.get(ENV_URL)
    if root:
        return [f"{root.rstrip('/')}/{dataset}"]
    return [m.rstrip("/") for m in mirrors]


def _digests(path, wanted):
    hashers = {algorithm: hashlib.new(algorithm) for algorithm in wanted}
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            for hasher in hashers.values():
                hasher.update(chunk)
    return {algorithm: hasher.hexdigest() for algorithm, hasher in hashers.items()}


def _mismatch(expected, found):
    return "; ".join(f"{a} {found[a]}, expected {expected[a]}" for a in expected if found[a] != expected[a])


class _Failed(Exception):
    """One attempt failed; `retry` says whether the same URL may succeed later."""

    def __init__(self, message, retry=True):
        super().__init__(message)
        self.retry = retry


def _download_from_mirrors(name, bases, folder, digests, timeout, retries, progress):
    """None when `name` is in place and verified, else the last error as text."""
    errors = []
    for base in bases:
        url = f"{base}/{name}"
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(min(0.5 * 2 ** (attempt - 1), 4.0))  # back off: a busy server may recover
            try:
                _download(url, folder, name, digests, timeout, progress)
                _remove_stale_parts(folder, name, timeout)
                return None
            except _Failed as exc:
                message = f"{url}: {exc}"
                if not exc.retry:
                    break
        errors.append(message)
    return "; ".join(errors)


def _download(url, folder, name, digests, timeout, progress):
    """Stream `url` into a temporary file beside the target; rename it into place once verified."""
    request = urllib.request.Request(url, headers={"User-Agent": "dlfs-framework"})
    part = None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            descriptor, part = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
            hashers = {algorithm: hashlib.new(algorithm) for algorithm in digests}
            size = 0
            with os.fdopen(descriptor, "wb") as out, _bar(total, name, progress) as bar:
                while chunk := response.read1(_CHUNK):  # what has arrived, up to _CHUNK
                    out.write(chunk)
                    for hasher in hashers.values():
                        hasher.update(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
                out.flush()
                os.fsync(out.fileno())
        if total is not None and size != total:
            raise _Failed(f"truncated: received {size} of {total} bytes")
        found = {algorithm: hasher.hexdigest() for algorithm, hasher in hashers.items()}
        if found != digests:
            raise _Failed(f"checksum mismatch: {_mismatch(digests, found)}", retry=False)
        os.replace(part, folder / name)
        part = None
        _fsync_folder(folder)
    except urllib.error.HTTPError as exc:
        raise _Failed(f"HTTP {exc.code} {exc.reason}", retry=exc.code >= 500 or exc.code == 429) from None
    except urllib.error.URLError as exc:
        raise _Failed(f"{exc.reason}") from None
    except (http.client.HTTPException, OSError) as exc:  # TimeoutError, ConnectionResetError, IncompleteRead
        raise _Failed(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from None
    finally:
        if part is not None:
            Path(part).unlink(missing_ok=True)


def _bar(total, name, progress):
    from tqdm.auto import tqdm  # imported on use: keeps `import framework` light

    # unit="B" with unit_scale shows the size and the speed in kB/s, MB/s
    return tqdm(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
                file=sys.stderr, leave=False, dynamic_ncols=True)


def _fsync_folder(folder):
    if hasattr(os, "O_DIRECTORY"):  # POSIX: make the rename itself durable
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _remove_stale_parts(folder, name, timeout):
    """Delete temporary files of `name` left by killed downloads.

    A live download writes at least once per `timeout` seconds (else its own
    read times out), so a file untouched for longer is abandoned.
    """
    now = time.time()
    for part in folder.glob(f".{name}.*.part"):
        try:
            if now - part.stat().st_mtime > timeout:
                part.unlink()
        except FileNotFoundError:
            pass


def _missing_message(dataset, folder, bases, failures):
    lines = [f"could not get {len(failures)} file(s) of the data set {dataset!r}:"]
    for name, error in failures.items():
        lines.append(f"  {name}: download it from {bases[0]}/{name} and put it in {folder}{os.sep} ({error})")
    lines.append(
        f"Put the files in {folder} by hand (they are checked against their sha256), pass mirrors=[...], "
        f"or set {ENV_URL} to a mirror."
    )
    return "\n".join(lines)
