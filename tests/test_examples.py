"""The README's main job: the digits example trains to at least 95% test accuracy."""

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train_digits.py"


def test_train_digits_reaches_95_percent():
    result = subprocess.run([sys.executable, str(EXAMPLE), "--epochs", "40"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", result.stdout).group(1))
    assert accuracy >= 0.95, result.stdout[-2000:]
    assert "Total params" in result.stdout  # the summary
    assert "Epoch 1/40" in result.stdout + result.stderr  # the progress bar
