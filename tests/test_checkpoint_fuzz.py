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

MUTATIONS = 400  # about 20-30 s on a 2-core machine: two worker processes of 200 files
SEED = 20261203


def test_seeded_mutations_are_refused_or_load_identically():
    findings = fuzz_checkpoints.fuzz(count=MUTATIONS, seed=SEED, batch=200, log=lambda message: None)
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
    first, second = sorted(seeds)
    assert fuzz_checkpoints.acceptable(results[first], seeds[first])
    assert not fuzz_checkpoints.acceptable(results[first], seeds[second])  # a different model loaded
    assert not fuzz_checkpoints.acceptable({"outcome": "crash", "error": "signal 11"}, seeds[first])
