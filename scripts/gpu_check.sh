#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one run, for a machine whose Python
# already has CuPy and PyTorch (CI has no GPU, so these run by hand):
#   1. install the framework and the example plugin, editable, without
#      touching the machine's packages (--no-deps);
#   2. every test that runs on the CuPy backend (marked `gpu`), and the
#      backend tests;
#   3. benchmarks/gpu.py --lines: the benchmark rows on CuPy against PyTorch
#      on CUDA, and against our own lines (the backend's kernels switched off);
#   4. benchmarks/breakdown.py on CuPy: where the MLP's and the SimpleConvNet's
#      steps go, layer by layer, each part's device work included
#      (BREAKDOWN_ROWS to choose).
# Logs go to $OUT (default /tmp/gpu-check).
#
#     bash scripts/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
OUT=${OUT:-/tmp/gpu-check}
PY=${PYTHON:-python3}
mkdir -p "$OUT"

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
$PY -c "import sys, numpy, cupy; print(sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__)"
if ! $PY -m pip install -q --no-deps --no-build-isolation -e . -e examples/plugin_example >"$OUT/install.log" 2>&1; then
    tail -5 "$OUT/install.log"
    # an install made another way (an older setuptools cannot build this project) will do
    $PY -c "import importlib.metadata as m; m.distribution('dlfs-framework')" || exit 1
    echo "pip failed; using the dlfs-framework already installed"
fi
$PY -c "import framework as fw; print('backend:', fw.set_backend('cupy'))" || exit 1

per_test=$($PY -c "import pytest_timeout" 2>/dev/null && echo --timeout=120)  # one hung test ends alone
timeout "${TEST_SECONDS:-360}" $PY -m pytest -q -p no:cacheprovider -rfE --tb=short --durations=15 $per_test \
    -m gpu tests/ 2>&1 | tee "$OUT/gpu-tests.log" | tail -80
timeout "${TEST_SECONDS:-360}" $PY -m pytest -q -p no:cacheprovider -rfEs --tb=short \
    tests/test_backends.py 2>&1 | tee "$OUT/backend-tests.log" | tail -30
timeout "${BENCH_SECONDS:-240}" $PY benchmarks/gpu.py --lines "$@" 2>&1 | tee "$OUT/gpu-bench.log"
for row in ${BREAKDOWN_ROWS:-mlp-sgd-128 simple-conv-net-100}; do
    FRAMEWORK_BACKEND=cupy timeout "${BENCH_SECONDS:-240}" $PY benchmarks/breakdown.py "$row" --repeats 1 \
        2>&1 | tee -a "$OUT/gpu-breakdown.log"
done
