"""The download path against a real HTTP server on 127.0.0.1 (never any other address).

The server serves small IDX files made here; the tests pass their own
checksums, as a private mirror's user does.
"""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import framework as fw
from framework.datasets import download
from framework.errors import DatasetError, InvalidArgumentError

from .dataset_server import FILES, DataServer, fake_mnist, sha256

NAME = "train-labels-idx1-ubyte.gz"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(download.ENV_DATA_DIR, str(folder))
    monkeypatch.delenv(download.ENV_URL, raising=False)
    monkeypatch.delenv(download.ENV_CHECKSUMS, raising=False)
    return folder


@pytest.fixture
def files():
    return fake_mnist()


@pytest.fixture
def server():
    with DataServer() as running:
        yield running


def fetch_one(server, body, *, mirrors=None, **options):
    """Fetch NAME of data set "demo" from `mirrors` (default: the server's /a)."""
    options = {"timeout": 5, "retries": 0, "progress": False, **options}
    mirrors = mirrors or [f"{server.url}/a"]
    return download.fetch("demo", {NAME: {"sha256": sha256(body)}}, ["http://192.0.2.1/never-used"],
                          user_mirrors=mirrors, **options)[NAME]


def test_good_download_lands_verified_in_the_cache(cache, server, files):
    body = files[NAME]
    server.serve(f"/a/{NAME}", body)
    path = fetch_one(server, body)
    assert path == cache / "demo" / NAME
    assert path.read_bytes() == body
    assert server.requests(f"/a/{NAME}") == [f"/a/{NAME}"]
    assert [p.name for p in path.parent.iterdir()] == [NAME]  # no temporary file left


def test_a_404_on_the_first_mirror_falls_through_to_the_second(cache, server, files):
    body = files[NAME]
    server.fail(f"/a/{NAME}", 404)
    server.serve(f"/b/{NAME}", body)
    path = fetch_one(server, body, mirrors=[f"{server.url}/a", f"{server.url}/b"], retries=3)
    assert path.read_bytes() == body
    assert len(server.requests(f"/a/{NAME}")) == 1  # a 404 is not retried
    assert len(server.requests(f"/b/{NAME}")) == 1


def test_a_truncated_body_is_retried_and_never_kept(cache, server, files):
    body = files[NAME]
    server.truncate(f"/a/{NAME}", body, keep=len(body) // 2)
    with pytest.raises(DatasetError, match=r"truncated|IncompleteRead") as info:
        fetch_one(server, body, retries=1)
    assert len(server.requests(f"/a/{NAME}")) == 2  # one retry
    assert NAME in str(info.value)
    assert list((cache / "demo").iterdir()) == []  # neither the file nor a temporary one


def test_a_wrong_checksum_is_refused_and_not_kept(cache, server, files):
    body = files[NAME]
    server.serve(f"/a/{NAME}", body[:-1] + bytes([body[-1] ^ 1]))  # one bit flipped
    with pytest.raises(DatasetError, match=rf"checksum mismatch: sha256 [0-9a-f]{{64}}, expected {sha256(body)}"):
        fetch_one(server, body, retries=2)
    assert len(server.requests(f"/a/{NAME}")) == 1  # the same bytes again would not help
    assert list((cache / "demo").iterdir()) == []


def test_a_server_stalling_past_the_timeout_fails_in_time(cache, server, files):
    body = files[NAME]
    server.stall(f"/a/{NAME}", body, after=10)
    with pytest.raises(DatasetError, match=r"timed out") as info:
        fetch_one(server, body, timeout=0.5)
    assert str(cache / "demo") in str(info.value)
    assert list((cache / "demo").iterdir()) == []


def test_a_verified_cached_file_is_used_without_any_request(cache, server, files):
    body = files[NAME]
    server.serve(f"/a/{NAME}", body)
    fetch_one(server, body)
    server.log.clear()
    path = fetch_one(server, body)
    assert server.log == []
    assert path.read_bytes() == body


def test_a_corrupt_cached_file_is_detected_and_replaced(cache, server, files):
    body = files[NAME]
    server.serve(f"/a/{NAME}", body)
    (cache / "demo").mkdir(parents=True)
    (cache / "demo" / NAME).write_bytes(body[:10])
    with pytest.warns(UserWarning, match="does not match its checksum"):
        path = fetch_one(server, body)
    assert path.read_bytes() == body
    assert len(server.requests(f"/a/{NAME}")) == 1


def test_an_interrupted_download_leaves_nothing_valid_and_a_later_one_succeeds(cache, server, files):
    name = "train-images-idx3-ubyte.gz"  # large enough that half of it reaches the disk
    body = files[name]
    server.stall(f"/a/{name}", body, after=len(body) // 2)
    code = textwrap.dedent(f"""
        from framework.datasets import download
        download.fetch("demo", {{{name!r}: {{"sha256": {sha256(body)!r}}}}}, [],
                       user_mirrors=[{server.url + '/a'!r}], timeout=60, retries=0, progress=False)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy())
    folder = cache / "demo"
    deadline = time.monotonic() + 60
    while not (folder.exists() and any(p.stat().st_size > 0 for p in folder.glob("*.part"))):
        assert time.monotonic() < deadline and child.poll() is None, "the download never started"
        time.sleep(0.05)
    child.kill()  # SIGKILL mid-download: no cleanup code runs
    child.wait()
    (part,) = folder.glob("*.part")
    assert not (folder / name).exists()
    old = time.time() - 3600
    os.utime(part, (old, old))  # abandoned long ago
    server.serve(f"/a/{name}", body)
    path = download.fetch("demo", {name: {"sha256": sha256(body)}}, [], user_mirrors=[f"{server.url}/a"],
                          retries=0, progress=False)[name]
    assert path.read_bytes() == body
    assert [p.name for p in folder.iterdir()] == [name]  # the abandoned temporary file is gone


def test_without_network_the_error_names_each_file_the_folder_and_a_url(cache):
    import socket

    with socket.socket() as probe:  # a port on 127.0.0.1 that nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    wanted = {name: {"sha256": "0" * 64} for name in FILES}
    with pytest.raises(DatasetError) as info:
        download.fetch("mnist", wanted, [], user_mirrors=[dead], retries=0, timeout=5, progress=False)
    message = str(info.value)
    for name in FILES:
        assert f"{name}: download it from {dead}/{name} and put it in {cache / 'mnist'}" in message


def test_the_url_root_from_the_environment_replaces_the_mirrors(cache, server, files, monkeypatch):
    body = files[NAME]
    server.serve(f"/root/fashion_mnist/{NAME}", body)
    monkeypatch.setenv(download.ENV_URL, f"{server.url}/root/")
    path = download.fetch("fashion_mnist", {NAME: {"sha256": sha256(body)}}, ["http://192.0.2.1/unused"],
                          retries=0, timeout=5, progress=False)[NAME]
    assert path.read_bytes() == body
    assert server.log == [f"/root/fashion_mnist/{NAME}"]


def test_checksums_from_the_environment_and_the_argument_replace_the_published_ones(cache, server, files,
                                                                                   monkeypatch, tmp_path):
    body = files[NAME]
    server.serve(f"/a/{NAME}", body)
    published = {NAME: {"sha256": "f" * 64, "md5": "0" * 32}}
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{'e' * 64}  other/{NAME}\n{sha256(body)} *demo/{NAME}\n")
    monkeypatch.setenv(download.ENV_CHECKSUMS, str(sums))
    path = download.fetch("demo", published, [], user_mirrors=[f"{server.url}/a"], retries=0, progress=False)[NAME]
    assert path.read_bytes() == body
    path.unlink()
    monkeypatch.delenv(download.ENV_CHECKSUMS)
    with pytest.raises(DatasetError, match="checksum mismatch"):  # the published value applies again
        download.fetch("demo", published, [], user_mirrors=[f"{server.url}/a"], retries=0, progress=False)
    download.fetch("demo", published, [], user_mirrors=[f"{server.url}/a"], retries=0, progress=False,
                   checksums={NAME: sha256(body)})
    assert (cache / "demo" / NAME).read_bytes() == body


def test_load_mnist_from_a_mirror_gives_the_books_options(cache, server, files):
    for name, body in files.items():
        server.serve(f"/m/{name}", body)
    options = dict(mirrors=[f"{server.url}/m"], checksums={n: sha256(b) for n, b in files.items()}, progress=False)
    (x, t), (x_test, t_test) = fw.datasets.load("mnist", **options)
    assert x.shape == (120, 784) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert t.shape == (120,) and t.dtype == np.int64 and x_test.shape == (40, 784) and t_test.shape == (40,)
    (x, t), _ = fw.datasets.load("mnist", normalize=False, flatten=False, one_hot_label=True, **options)
    assert x.shape == (120, 1, 28, 28) and x.dtype == np.uint8
    assert t.shape == (120, 10) and t.dtype == np.float32 and (t.sum(axis=1) == 1).all()
    raw = __import__("gzip").decompress(files["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(x.reshape(-1), np.frombuffer(raw, np.uint8, offset=16))
    assert len(server.log) == 4  # the second load came from the cache


def test_published_checksums_are_well_formed_and_distinct():
    from framework.datasets import mnist

    for table in (mnist.MNIST_FILES, mnist.FASHION_MNIST_FILES):
        assert set(table) == set(FILES)
        for digests in table.values():
            assert len(digests["sha256"]) == 64 and len(digests["md5"]) == 32
            int(digests["sha256"], 16), int(digests["md5"], 16)
    every = [d[a] for t in (mnist.MNIST_FILES, mnist.FASHION_MNIST_FILES) for d in t.values() for a in d]
    assert len(set(every)) == len(every)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"timeout": 0}, r"timeout must be a positive number.*timeout=0"),
        ({"retries": -1}, r"retries must be a non-negative integer.*retries=-1"),
        ({"mirrors": "http://127.0.0.1/x"}, r"mirrors must be a non-empty list"),
        ({"checksums": {"nope.gz": "0" * 64}}, r"checksums names 'nope.gz'"),
        ({"checksums": {NAME: "abc"}}, r"must be a sha256 in hex"),
        ({"normalize": 1}, r"normalize must be True or False"),
        ({"colour": True}, r"unknown option\(s\) \['colour'\]"),
    ],
)
def test_bad_options_fail_before_any_request(cache, options, match):
    with pytest.raises(InvalidArgumentError, match=match):
        fw.datasets.load("mnist", **options)
    assert not (cache / "mnist").exists() or not any((cache / "mnist").iterdir())


def test_the_cache_folder_defaults_to_the_platform_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(download.ENV_DATA_DIR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    if sys.platform.startswith("linux"):
        assert download.cache_dir() == tmp_path / ".cache" / "dlfs-framework" / "datasets"
    monkeypatch.setenv(download.ENV_DATA_DIR, str(tmp_path / "mine"))
    assert download.cache_dir() == tmp_path / "mine"


def test_the_progress_bar_shows_the_size_and_the_speed(cache, server, files, capsys):
    name = "train-images-idx3-ubyte.gz"
    body = files[name]
    server.serve(f"/a/{name}", body)
    download.fetch("demo", {name: {"sha256": sha256(body)}}, [], user_mirrors=[f"{server.url}/a"], progress=True)
    err = capsys.readouterr().err
    assert name in err
    assert f"/{len(body) / 1024:.1f}k" in err  # the total size, in KiB
    assert "B/s" in err  # the speed
