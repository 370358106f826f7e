"""Fuzzing the loader (scripts/fuzz_checkpoints.py): a fixed, seeded set of mutated checkpoints,
and the regression corpus of files that once got past it.

Every file must be refused with `CheckpointError` or load as exactly the model it
was made from; each is loaded in a worker process with a memory limit, so a crash
or a hang is a finding too. A finding is copied to tests/data/fuzz_regressions/
(commit it with the fix). For longer runs: ``python scripts/fuzz_checkpoints.py --seconds 600``.
"""

import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("fuzz_checkpoints", ROOT / "scripts" / "fuzz_checkpoints.py")
fuzz_checkpoints = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz_checkpoints)

MUTATIONS = 1200  # about 25-35 s on a 2-core machine: three worker processes of 400 files
SEED = 20261203


def test_seeded_mutations_are_refused_or_load_identically():
    findings = fuzz_checkpoints.fuzz(count=MUTATIONS, seed=SEED, batch=400, log=lambda message: None)
    notes = [json.loads(path.with_suffix(".json").read_text()) for path in findings]
    assert findings == [], f"{len(findings)} mutated files were neither refused nor loaded identically: {notes}"


def corpus():
    return sorted(fuzz_checkpoints.CORPUS.glob("*.h5"))


def test_the_regression_corpus_is_there():
    assert len(corpus()) >= 3


@pytest.mark.parametrize("path", corpus(), ids=lambda path: path.stem)
def test_each_file_of_the_regression_corpus_is_refused_or_loads_identically(path):
    note = json.loads(path.with_suffix(".json").read_text())
    result = fuzz_checkpoints.load_batch([str(path)])[str(path)]
    assert fuzz_checkpoints.acceptable(result, note["expected_fingerprint"]), (note["mutation"], result)


def test_a_load_that_differs_from_the_seed_is_a_finding(tmp_path):
    seeds = fuzz_checkpoints.make_seeds(tmp_path)
    results = fuzz_checkpoints.load_batch(sorted(seeds))
    first, second = sorted(seeds)[:2]
    assert fuzz_checkpoints.acceptable(results[first], seeds[first])
    assert not fuzz_checkpoints.acceptable(results[first], seeds[second])  # a different model loaded
    assert not fuzz_checkpoints.acceptable({"outcome": "crash", "error": "signal 11"}, seeds[first])


# A stand-in worker: answers for every file, but dies on one named "crash" and hangs on "hang".
FAKE_WORKER = """
import json, os, pathlib, sys, time
for path in pathlib.Path(sys.argv[1]).read_text().splitlines():
    if "crash" in path:
        os.abort()
    if "hang" in path:
        time.sleep(600)
    print(json.dumps({"path": path, "outcome": "CheckpointError", "error": ""}), flush=True)
"""


def test_a_worker_that_crashes_or_hangs_blames_the_file_it_was_on_and_the_rest_are_still_loaded():
    import sys

    paths = ["a.h5", "crash.h5", "b.h5", "hang.h5", "c.h5"]
    results = fuzz_checkpoints.load_batch(paths, timeout=10, worker=[sys.executable, "-c", FAKE_WORKER])
    assert results["crash.h5"]["outcome"] == results["hang.h5"]["outcome"] == "crash"
    assert "exit status" in results["crash.h5"]["error"] and "no answer within 10 s" in results["hang.h5"]["error"]
    assert all(results[p]["outcome"] == "CheckpointError" for p in ("a.h5", "b.h5", "c.h5"))
