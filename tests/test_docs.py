"""The docs are tests: every Python block in docs/ must run and its asserts hold.

The blocks are collected by pytest-markdown-docs (in the ``docs`` extra),
exactly as ``pytest --markdown-docs --markdown-docs-syntax=superfences docs/``
does. They run in a subprocess: the plugin's options apply to a whole pytest
session, and the repository's ``testpaths`` does not include docs/.
"""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_every_docs_code_block_runs():
    pytest.importorskip("pytest_markdown_docs", reason="pytest-markdown-docs is in the 'docs' extra: pip install -e '.[docs]'")
    pytest.importorskip("sklearn")  # the digits data set
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "--markdown-docs", "--markdown-docs-syntax=superfences", str(DOCS),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    tail = "\n".join(result.stdout.splitlines()[-60:])
    assert result.returncode == 0, f"docs code blocks failed ({' '.join(command[3:])}):\n{tail}\n{result.stderr[-2000:]}"
    assert " passed" in result.stdout, tail
