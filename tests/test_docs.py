"""The docs are tests: every Python block in docs/ must run and its asserts hold.

The blocks are collected by pytest-markdown-docs (in the ``docs`` extra),
exactly as ``pytest --markdown-docs --markdown-docs-syntax=superfences docs/``
does. They run in a subprocess: the plugin's options apply to a whole pytest
session, and the repository's ``testpaths`` does not include docs/.
"""

import pathlib
import re
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


def test_code_fences_use_the_attribute_syntax():
    """```` ```python continuation ```` runs under pytest-markdown-docs but silently breaks
    mkdocs-material's rendering; the docs must write ```` ```{.python continuation} ````."""
    bad = []
    for page in sorted(DOCS.rglob("*.md")):
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            info = line.strip()
            if info.startswith("```") and info[3:].split()[:1] in (["python"], ["py"]) and len(info[3:].split()) > 1:
                bad.append(f"{page.relative_to(ROOT)}:{number}: {info}")
    assert not bad, "use ```{.python continuation} / ```{.python notest}:\n" + "\n".join(bad)


def test_figures_exist_and_are_small():
    """Figures are committed PNGs made by scripts/make_doc_figures.py; each stays under 100 KB."""
    figures = sorted((DOCS / "figures").glob("*.png"))
    assert figures, "no figures in docs/figures: run python scripts/make_doc_figures.py"
    referenced = set()
    for page in DOCS.rglob("*.md"):
        referenced.update(re.findall(r"\(figures/([\w.-]+\.png)\)", page.read_text(encoding="utf-8")))
    assert referenced <= {f.name for f in figures}, f"missing figures: {referenced - {f.name for f in figures}}"
    for figure in figures:
        assert figure.stat().st_size < 100 * 1024, f"{figure.name} is {figure.stat().st_size // 1024} KB"


# The output check (docs/conftest.py runs it on every block): its reading of
# the comments and its comparison, on small cases whose answer is plain.
from tests import docs_outputs  # noqa: E402


def test_output_comments_are_read_in_order():
    code = (
        "x = 1  # not output: no print\n"
        "print(x)  # 1\n"
        "for i in range(2):\n"
        "    print(i)\n"
        "# 0\n"
        "# 1\n"
        "\n"
        "# a remark, after a blank line: not output\n"
        "print('a',\n"
        "      'b')  # a b\n"
    )
    assert docs_outputs.expected_output(code) == "1\n0\n1\na b"


def test_outputs_compare_at_printed_precision_and_sign():
    assert docs_outputs.compare("1.42\n[0.95 2.1 ]", "1.41996\n[0.95 2.1]\n") is None
    assert docs_outputs.compare("1.42", "1.43\n") is not None
    assert docs_outputs.compare("1.474e-11", "1.4738e-11\n") is None
    assert docs_outputs.compare("1.474e-11", "1.476e-11\n") is not None
    assert docs_outputs.compare("[[0.  0.5]]", "[[-0.  0.5]]\n") is not None
    assert docs_outputs.compare("epoch 1 took ... s", "epoch 1 took 0.31 s\n") is None
    assert docs_outputs.compare("1 2", "12\n") is not None
    assert docs_outputs.compare("affine_1/W", "affine_2/W\n") is not None
    # "..." inside a line stays in that line; on a line of its own, any lines
    lines = "Epoch 1/20 - 0.1s - loss: 1.9\nEpoch 2/20 - 0.1s - loss: 1.2\n"
    assert docs_outputs.compare("Epoch 1/20 - ...s - loss: 1.9\n...", lines) is None
    assert docs_outputs.compare("Epoch 1/20 - ... - loss: 1.2", lines) is not None


# The widest code line that fits the text column of a 1280x900 window with the
# site's monospace font, without a horizontal scroll bar: measured in Chromium
# by scripts/check_docs_browser.py (see docs/contributing.md).
CODE_LINE_LIMIT = 80


def _fenced_lines(page):
    """(line number, text) of every line inside a ``` fence, any language."""
    inside, fence = False, ""
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not inside and stripped.startswith("```"):
            inside, fence = True, line[: len(line) - len(line.lstrip())]
        elif inside and stripped == "```":
            inside = False
        elif inside:
            yield number, line[len(fence):]


def _columns(text):
    """Width in monospace columns: Hangul and other wide characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_no_code_or_output_line_is_wider_than_the_text_column():
    wide = [
        f"{page.relative_to(ROOT)}:{number}: {_columns(text)} columns"
        for page in sorted(DOCS.rglob("*.md"))
        for number, text in _fenced_lines(page)
        if _columns(text) > CODE_LINE_LIMIT
    ]
    assert not wide, f"code lines over {CODE_LINE_LIMIT} columns:\n" + "\n".join(wide)


def _solution_blocks(page):
    """Line numbers of the ```python fences inside /// details blocks."""
    inside, lines = False, []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("/// details"):
            inside = True
        elif line.strip() == "///":
            inside = False
        elif inside and line.strip() in ("```python", "```{.python continuation}"):
            lines.append(number)
    return lines


def test_the_docs_test_runs_the_code_in_collapsible_solutions():
    """Tools that read Markdown for tests can skip code indented inside a
    collapsible block: the solutions use pymdownx.blocks' ``/// details``,
    which needs no indent, and this checks each of them is collected."""
    pytest.importorskip("pytest_markdown_docs")
    command = [
        sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider",
        "--markdown-docs", "--markdown-docs-syntax=superfences", str(DOCS),
    ]
    listing = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300).stdout
    collected = set(re.findall(r"docs/([\w./-]+\.md)::\[CodeFence#\d+\]\[line:(\d+)\]", listing))
    solutions = {(str(page.relative_to(DOCS)), str(line))
                 for page in sorted(DOCS.rglob("*.md")) for line in _solution_blocks(page)}
    tutorial = [p for p in DOCS.glob("*.md") if p.read_text(encoding="utf-8").startswith("# ")
                and p.read_text(encoding="utf-8")[2:3].isdigit()]
    assert len(solutions) >= 2 * len(tutorial) > 0, (len(solutions), len(tutorial))
    missing = sorted(solutions - collected)
    assert not missing, f"solution code the docs test does not run: {missing}"


# The Korean edition: every tutorial page has a translation beside it, whose
# code is the English page's code (comments aside, which are translated).
def _tutorial_pages():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    section = nav.split("  - Tutorial:", 1)[1].split("\n  - ", 1)[0]
    return re.findall(r":\s*([\w-]+)\.md", section)


def _code_without_comments(page):
    import io
    import tokenize

    text = page.read_text(encoding="utf-8")
    blocks = re.findall(r"^```(?:python|\{\.python[^}]*\})\n(.*?)^```", text, re.S | re.M)
    code = []
    for block in blocks:
        tokens = tokenize.generate_tokens(io.StringIO(block).readline)
        code.append(tokenize.untokenize(
            (t.type, t.string) for t in tokens if t.type != tokenize.COMMENT))
    return code


def test_every_tutorial_page_has_a_korean_translation_with_the_same_code():
    pages = _tutorial_pages()
    assert "derivatives" in pages and "glossary" in pages, pages
    for name in pages + ["index"]:
        english, korean = DOCS / f"{name}.md", DOCS / f"{name}.ko.md"
        assert korean.exists(), f"{korean.relative_to(ROOT)} is missing"
        text = korean.read_text(encoding="utf-8")
        hangul = len(re.findall(r"[\uac00-\ud7a3]", text))
        assert hangul > 200, f"{korean.name}: {hangul} Hangul syllables: not translated?"
        assert _code_without_comments(korean) == _code_without_comments(english), (
            f"{korean.name}: its code differs from {english.name}'s")


def test_a_print_without_output_comments_claims_nothing():
    code = "model_summary = print('a table')\nprint(2)  # 2\n"
    assert docs_outputs.expected_output(code) == "...\n2"
    assert docs_outputs.compare("...\n2", "a table\nof lines\n2\n") is None
    assert docs_outputs.compare("...\n2", "a table\n3\n") is not None


def test_a_silent_fit_claims_no_output():
    # a callback may still print: "..." (any lines), but the remark is no claim
    code = "model.fit(x, y, verbose=0)\n# a remark, not output\nprint(1)  # 1\n"
    assert docs_outputs.expected_output(code) == "...\n1"
    assert docs_outputs.expected_output("model.fit(x, y)\n# Epoch 1/1\n") == "Epoch 1/1"
