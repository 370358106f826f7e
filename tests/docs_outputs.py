"""What a docs code block claims to print, and whether it does.

A page shows a block's output as comments: the comment at the end of a line
that calls ``print``, and the run of whole-line comments right after a
statement that prints (calls ``print``, ``summary`` or ``fit``). ``expected_output(code)`` collects them, in order; ``compare(expected,
actual)`` checks them against what the block printed. Numbers compare at the
precision they are written with (``1.42`` matches ``1.41996``, not ``1.43``),
signs compare as written (``0.`` does not match ``-0.``), runs of spaces
compare loosely, and ``...`` stands for any text (timings, paths).
"""

import io
import re
import tokenize

_NUMBER = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
# A number not glued to a name: the 1 of ``affine_1`` is part of a name.
_NUMBER_TOKEN = re.compile(rf"(?<![\w.]){_NUMBER}(?![\w.])")
# Calls that print: whole-line comments right after them are their output.
_PRINTING = {"print", "summary", "fit"}


def _prints(tokens):
    """Whether a logical line prints: calls print or summary, or fit not
    silenced with ``verbose=0``."""
    words = [t.string for t in tokens]
    silent = any(words[i:i + 3] == ["verbose", "=", "0"] for i in range(len(words)))
    return any(w in _PRINTING for w in words) and not (silent and "print" not in words
                                                      and "summary" not in words)


def expected_output(code):
    """The output lines a block's comments claim, in order, as one string.

    A printing statement with no output comment claims nothing: it stands
    for ``...`` (any lines).
    """
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    source = code.splitlines()
    lines = []
    logical = []  # the tokens of the current logical line
    after_print = None  # the line number an output comment may start at
    unclaimed = False  # a printing statement whose output no comment shows
    claimed = False  # the current line's print has its output at its end
    for token in tokens:
        kind, text, (row, column) = token.type, token.string, token.start
        if kind == tokenize.COMMENT:
            whole_line = not source[row - 1][:column].strip()
            prints = any(t.string == "print" for t in logical)
            if (not whole_line and prints) or (whole_line and row == after_print):
                lines.append(text[1:].strip())
                after_print, unclaimed, claimed = row + 1, False, not whole_line
            continue
        if kind in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT) and not logical:
            continue  # a blank or comment-only line ends nothing
        if not logical and unclaimed:
            lines.append("...")
            unclaimed = False
        logical.append(token)
        if kind == tokenize.NEWLINE:
            words = {t.string for t in logical}
            if words & _PRINTING:  # may print (a callback can, in a silent fit)
                unclaimed = not claimed
            if _prints(logical):  # comments right after it are its output
                after_print = row + 1
            logical, claimed = [], False
        elif kind not in (tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.ENDMARKER):
            if after_print is not None and row >= after_print:
                after_print = None
    if unclaimed:
        lines.append("...")
    return "\n".join(lines)


def _pattern(expected):
    """A regex for ``expected``: numbers captured, spaces loose, ``...`` any."""
    parts = []
    pieces = re.split(rf"({_NUMBER_TOKEN.pattern}|\.\.\.|\s+)", expected)
    for index, piece in enumerate(pieces):
        if not piece:
            continue
        before = expected_piece(pieces, index, -1)
        after = expected_piece(pieces, index, +1)
        if piece == "...":
            alone = all(not p or "\n" in p for p in (before, after))
            # a line of its own stands for any lines; inside a line, any text
            parts.append(r".*?" if alone else r"[^\n]*?")
        elif piece.isspace():
            # A comment may wrap a long printed line: a line break in the
            # comments matches any space; a space does not match a line break.
            glued = before[-1:].isalnum() and after[:1].isalnum()
            space = r"\s" if "\n" in piece else r"[ \t]"
            parts.append(space + ("+" if glued else "*"))
        elif _NUMBER_TOKEN.fullmatch(piece):
            parts.append(rf"({_NUMBER_TOKEN.pattern})")
        else:
            parts.append(re.escape(piece))
    return re.compile(r"\s*" + "".join(parts) + r"\s*", re.DOTALL)


def expected_piece(pieces, index, step):
    index += step
    while 0 <= index < len(pieces) and not pieces[index]:
        index += step
    return pieces[index] if 0 <= index < len(pieces) else ""


def _same_at_printed_precision(written, printed):
    if written.lstrip("+").startswith("-") != printed.startswith("-"):
        return False  # 0. is not -0.
    mantissa, _, exponent = written.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    scale = 10.0 ** int(exponent) if exponent else 1.0
    tolerance = 0.5 * 10.0**-decimals * scale * (1 + 1e-9)
    return abs(float(written) - float(printed)) <= tolerance


def compare(expected, actual):
    """None when ``actual`` prints what ``expected`` claims, else the reason."""
    match = _pattern(expected).fullmatch(actual)
    if match is None:
        return f"the block printed\n{actual}\nbut its comments say\n{expected}"
    written = _NUMBER_TOKEN.findall(expected.replace("...", " "))
    for want, got in zip(written, match.groups()):
        if not _same_at_printed_precision(want, got):
            return (f"printed {got} where the comments say {want}:\n"
                    f"the block printed\n{actual}\nbut its comments say\n{expected}")
    return None
