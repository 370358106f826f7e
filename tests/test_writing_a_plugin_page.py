"""docs/writing-a-plugin.md shows the example plugin's files as they are, not a drifting copy."""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "plugin_example"
SHOWN = [
    "pyproject.toml",
    "src/framework_swish_lion/swish.py",
    "src/framework_swish_lion/lion.py",
    "src/framework_swish_lion/plugin.py",
    "tests/test_swish_lion.py",
]


@pytest.mark.parametrize("path", SHOWN)
def test_the_page_shows_the_file_verbatim(path):
    page = (ROOT / "docs" / "writing-a-plugin.md").read_text()
    text = (EXAMPLE / path).read_text().rstrip("\n")
    assert f"\n{text}\n```\n" in page, f"docs/writing-a-plugin.md no longer shows {path} as it is; copy it again"
