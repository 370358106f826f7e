"""Fixtures for running the docs' code blocks as tests (pytest-markdown-docs).

Every block runs in a temporary working directory, so that files a page saves
(``run.h5``) land there, and whatever backend or float type a block sets is
put back afterwards, so that one page cannot change the next one's results.

A block's output comments are checked against what it prints
(tests/docs_outputs.py says how the comments are read and compared).
"""

import contextlib
import io
import pathlib
import sys

import pytest

import framework as fw

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # compgraph, as a reader would
from tests import docs_outputs  # noqa: E402  (the repository root, just added)

# Outputs a page shows correctly but the code does not print yet, each with the
# reason. The comparison is expected to fail; once it passes, remove the entry.
KNOWN_WRONG_OUTPUTS = {
    # ("page.md", "a line of the claimed output"): "why, and which issue fixes it",
}


@pytest.fixture(autouse=True)
def _docs_block_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    backend, floatx = fw.get_backend(), fw.floatx()
    yield
    fw.set_backend(backend)
    fw.set_floatx(floatx)


class _Tee(io.StringIO):
    """Keeps what a block prints, and writes it on to ``stream`` as well."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream

    def write(self, text):
        self.stream.write(text)
        return super().write(text)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    code = getattr(item, "code", None)
    if code is None or not item.path.suffix == ".md":
        return (yield)
    # The plugin gives the block pytest's own stdout while it runs, so catch
    # what it prints inside the plugin's runner, and still pass it on.
    printed = _Tee(sys.stdout)
    runtest = item.runner.runtest

    def runtest_printing_to_tee(*args, **kwargs):
        printed.stream = sys.stdout
        with contextlib.redirect_stdout(printed):
            return runtest(*args, **kwargs)

    item.runner.runtest = runtest_printing_to_tee
    try:
        result = yield
    finally:
        item.runner.runtest = runtest
    expected = docs_outputs.expected_output(code)
    # A block (with the blocks it continues) that shows no output claims none.
    problem = expected and docs_outputs.compare(expected, printed.getvalue())
    known = [reason for (page, text), reason in KNOWN_WRONG_OUTPUTS.items()
             if page == item.path.name.split(".")[0] + ".md"
             and text in expected]
    if known and problem:
        pytest.xfail(f"known wrong output: {known[0]}")
    if known:
        raise AssertionError(f"{item.path.name}: the output is right now; "
                             "remove its KNOWN_WRONG_OUTPUTS entry")
    assert not problem, f"{item.path.name}:{item.start_line}: {problem}"
    return result
