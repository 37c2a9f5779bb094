"""Splitting a SQL script (a schema dump, a workload file) into statements.

A fast scan with one regex: quotes and comments are respected, a dump's INSERT data is never
tokenised, and versioned comments (``/*!50100 ... */``) are opened as the server would.
"""

from __future__ import annotations

import re

_VERSIONED_COMMENT = re.compile(r"/\*M?!\d*(.*?)\*/", re.S)
#: what a semicolon can hide in: quoted strings and identifiers, comments
_SKIP_OR_SEMICOLON = re.compile(
    r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|--(?=\s|$)[^\n]*|#[^\n]*|/\*.*?\*/|;""",
    re.S | re.M,
)
_LEADING_NOISE = re.compile(r"(?:\s+|--(?=\s|$)[^\n]*|#[^\n]*|/\*.*?\*/)*", re.S | re.M)


def _statement_spans(text: str) -> list[tuple[int, str]]:
    """(line, text) of each statement, leading comments stripped; a fast scan with one regex
    (a dump's INSERT data is never tokenised)."""
    out, start, line = [], 0, 1
    bounds = [m.start() for m in _SKIP_OR_SEMICOLON.finditer(text) if m.group() == ";"]
    for stop in [*bounds, len(text)]:
        begin = _LEADING_NOISE.match(text, start, stop).end()
        if begin < stop:
            line += text.count("\n", start, begin)
            out.append((line, text[begin:stop].rstrip()))
            line += text.count("\n", begin, stop)
        else:
            line += text.count("\n", start, stop)
        start = stop + 1
    return out


def _open_versioned_comments(text: str) -> str:
    """``/*!50100 PARTITION BY ... */`` -> its content (the server runs it), offsets kept."""

    def opened(m: re.Match) -> str:
        if m.group(1).startswith("\\"):  # /*M!999999\- enable the sandbox mode */
            return re.sub(r"[^\n]", " ", m.group())
        return " " * (m.start(1) - m.start()) + m.group(1) + "  "

    return _VERSIONED_COMMENT.sub(opened, text)


def split_statements(text: str) -> list[tuple[int, str]]:
    """(line, statement) for each statement of a script; quotes and comments respected."""
    return _statement_spans(_open_versioned_comments(text))
