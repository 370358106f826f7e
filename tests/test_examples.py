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


def _last_line(script):
    path = EXAMPLE.parent / script
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_regression_mlp_matches_linear_regression():
    match = re.fullmatch(r"test R2 (-?\d\.\d+) \(LinearRegression (-?\d\.\d+)\)", _last_line("regression.py"))
    assert match, "last line must be 'test R2 <mlp> (LinearRegression <lr>)'"
    mlp, linear = float(match.group(1)), float(match.group(2))
    assert linear > 0.3 and mlp >= linear - 0.02


def test_binary_moons_reaches_95_percent():
    match = re.fullmatch(r"test accuracy (\d\.\d+)", _last_line("binary_moons.py"))
    assert match and float(match.group(1)) >= 0.95


def test_digits_cnn_reaches_98_percent():
    example = EXAMPLE.parent / "digits_cnn.py"
    result = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    accuracy = float(re.fullmatch(r"test accuracy (\d\.\d+)", last).group(1))
    assert accuracy >= 0.98, result.stdout[-2000:]
    assert "(None, 32, 4, 4)" in result.stdout  # the summary shows the shapes before training
