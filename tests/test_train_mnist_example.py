"""examples/train_mnist.py runs end to end against the local test server (CI never downloads)."""

import os
import re
import subprocess
import sys
from pathlib import Path

from .dataset_server import DataServer, fake_mnist, sha256

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train_mnist.py"


def test_train_mnist_downloads_from_the_mirror_then_uses_the_cache(tmp_path):
    files = fake_mnist(n_train=600, n_test=200)
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("".join(f"{sha256(body)}  mnist/{name}\n" for name, body in files.items()))
    with DataServer() as server:
        for name, body in files.items():
            server.serve(f"/mnist/{name}", body)
        env = {**os.environ, "FRAMEWORK_DATASETS_URL": server.url, "FRAMEWORK_DATASETS_CHECKSUMS": str(sums),
               "FRAMEWORK_DATA_DIR": str(tmp_path / "cache")}
        for run in range(2):
            result = subprocess.run([sys.executable, str(EXAMPLE), "--epochs", "5"], capture_output=True, text=True,
                                    env=env, timeout=600)
            assert result.returncode == 0, result.stderr[-3000:]
            last = result.stdout.strip().splitlines()[-1]
            assert re.fullmatch(r"test accuracy \d\.\d{4}", last), result.stdout[-2000:]
            assert "MNIST: 600 training and 200 test images" in result.stdout
            assert len(server.log) == 4  # the second run made no request: the cache served it
    assert sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir()) == sorted(files)
    # the fake digits are learnable (a bright band per class): the net learns them
    assert float(last.split()[-1]) >= 0.9, result.stdout[-2000:]
