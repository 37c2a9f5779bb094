"""The one report layer: every result object renders through :func:`render`.

A result object (a digest, an index plan, a hygiene report, a bench result, a partition
plan, a proposal, the nightly report) exposes three views of itself:

- ``to_document() -> dict``: everything, JSON-ready (the ``json`` format);
- ``rows() -> list[dict]``: one flat row per item (the ``csv`` format);
- ``sections() -> list[Section]``: titled tables and text blocks (``table``, ``markdown``
  and ``html``).

:func:`render` picks the view for the format, renders it, and redacts credentials in the
output once, for library and CLI alike.

>>> class Tiny:
...     def to_document(self): return {"n": 1}
...     def rows(self): return [{"n": 1}]
...     def sections(self): return [Section("Tiny", rows=[{"n": 1}]),
...                                 Section("Apply", text="SELECT 1;", language="sql")]
>>> print(render(Tiny(), "markdown"))
## Tiny
<BLANKLINE>
|   n |
|-----|
|   1 |
<BLANKLINE>
## Apply
<BLANKLINE>
```sql
SELECT 1;
```
<BLANKLINE>
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dbtune.report.formats import FORMATS, printable, redact_secrets, render_rows, to_json

#: A text table is never squeezed below this many columns for its shrinking column.
MIN_SHRINK = 20


@dataclass
class Section:
    """A titled part of a report: a table (``rows``), lines, a text block, or several."""

    title: str | None = None
    rows: list[dict[str, Any]] | None = None
    text: str | None = None
    #: fence language of ``text`` in Markdown ("sql", or "" for plain text)
    language: str = ""
    #: rows hold numbers already written as text (right-aligned as they are)
    preformatted: bool = False
    floatfmt: str = ",.2f"
    #: inline HTML (a chart, say) shown only in the ``html`` format; a callable is called
    #: only then (a chart costs time the other formats need not spend)
    html: str | Callable[[], str] | None = None
    #: short lines (a header, notes): plain in ``table``, a bullet list in Markdown
    lines: list[str] | None = None
    #: the column cut (with "...") so that a ``table`` fits the width; it goes last
    shrink: str | None = None
    #: columns left out, in this order, when cutting ``shrink`` is not enough
    droppable: tuple[str, ...] = ()
    #: then columns cut to a few characters (an id to its first 16), in this order
    narrow: tuple[tuple[str, int], ...] = ()
    #: what an empty ``rows`` says instead of "(no rows)"
    empty: str | None = None


class Reportable(Protocol):
    """What :func:`render` needs of a result object."""

    def to_document(self) -> Any: ...

    def rows(self) -> list[dict[str, Any]]: ...

    def sections(self) -> list[Section]: ...


@dataclass
class Table:
    """A result that is one table of flat rows (index usage, plan problems, ...)."""

    table: list[dict[str, Any]]
    title: str | None = None
    notes: list[str] = field(default_factory=list)
    #: the column cut to fit the width (see :class:`Section`)
    shrink: str | None = None
    #: columns of the JSON and CSV left out of the text formats (long samples, say)
    hidden: tuple[str, ...] = ()

    def to_document(self) -> list[dict[str, Any]]:
        return self.table

    def rows(self) -> list[dict[str, Any]]:
        return self.table

    def sections(self) -> list[Section]:
        shown = [{k: v for k, v in r.items() if k not in self.hidden} for r in self.table]
        parts = [Section(self.title, rows=shown, shrink=self.shrink)]
        return parts + ([Section(lines=self.notes)] if self.notes else [])


def render(result: Reportable, fmt: str, *, title: str = "dbtune",
           width: int | None = None) -> str:
    """``result`` in ``fmt`` (one of :data:`FORMATS`), credentials redacted.

    ``width``: the ``table`` format fits this many columns (each section's ``shrink``
    column is cut, then its ``droppable`` columns left out).
    """
    if fmt == "json":
        return redact(to_json(result.to_document()))
    if fmt == "csv":
        text = render_rows(result.rows(), "csv")
    elif fmt == "html":
        text = _html(result.sections(), title)
    elif fmt in ("table", "markdown"):
        text = "\n".join(_text(s, fmt, width) for s in result.sections())
    else:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return redact(printable(text))


def redact(text: str) -> str:
    """Credentials out of rendered text: passwords in logged statements (``IDENTIFIED BY``,
    ``PASSWORD(...)``, ...) and in DSNs (``mysql://user:***@host``)."""
    return redact_dsn_passwords(redact_secrets(text))


def redact_dsn_passwords(text: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:***@host`` (the last ``@`` before
    the host ends the password, so a password holding ``@`` is masked whole).

    >>> redact_dsn_passwords("cannot connect to mysql://root:p@ss/w0rd@127.0.0.1:3306/")
    'cannot connect to mysql://root:***@127.0.0.1:3306/'
    """
    out, pos = [], 0
    for start in _dsn_starts(text):
        colon = text.find(":", start, _word_end(text, start))
        at = text.rfind("@", start, _word_end(text, start))
        if colon == -1 or at == -1 or at < colon:
            continue
        out += [text[pos:colon + 1], "***"]
        pos = at
    return "".join(out) + text[pos:]


def _dsn_starts(text: str) -> list[int]:
    starts, i = [], text.find("://")
    while i != -1:
        starts.append(i + 3)
        i = text.find("://", i + 3)
    return starts


def _word_end(text: str, start: int) -> int:
    ends = [e for e in (text.find(c, start) for c in " \t\n'\"") if e != -1]
    return min(ends, default=len(text))


def _text(section: Section, fmt: str, width: int | None) -> str:
    md = fmt == "markdown"
    parts = []
    if section.title:
        parts.append(f"## {section.title}\n\n" if md else f"{section.title}\n\n")
    if section.rows is not None:
        if not section.rows and section.empty:
            parts.append(section.empty + "\n")
        else:
            rows = section.rows
            if width and not md and section.shrink:
                rows = fit(rows, width, section.shrink, section.droppable, section.narrow,
                           section)
            parts.append(render_rows(rows, fmt, floatfmt=section.floatfmt,
                                     preformatted=section.preformatted))
    if section.lines:
        if md:
            parts.append(("\n" if section.rows else "")
                         + "".join(f"- {markdown_text(redact(line))}\n"
                                   for line in section.lines))
        else:
            parts.append("".join(f"{line}\n" for line in section.lines))
    if section.text:
        body = section.text if section.text.endswith("\n") else section.text + "\n"
        parts.append(f"```{section.language}\n{body}```\n" if md else body)
    return "".join(parts)


def markdown_text(line: str) -> str:
    """A line as Markdown shows it literally (``|``, ``*``, ``_``, backticks escaped).

    >>> print(markdown_text("files: a_b.log | 2 *events*"))
    files: a\\_b.log \\| 2 \\*events\\*
    """
    for char in "\\`*_|<>[]":
        line = line.replace(char, "\\" + char)
    return line


def fit(rows: Sequence[dict[str, Any]], width: int, shrink: str,
        droppable: Sequence[str] = (), narrow: Sequence[tuple[str, int]] = (),
        section: Section | None = None) -> list[dict[str, Any]]:
    """``rows`` cut to fit a ``width``-column text table: the ``shrink`` column goes last
    and is cut with "..." (to no less than MIN_SHRINK), then ``droppable`` columns go,
    then ``narrow`` columns are cut to their widths.

    >>> rows = [{"fingerprint": "select * from t where a = ?", "n": 1}]
    >>> fit(rows, 24, "fingerprint")
    [{'n': 1, 'fingerprint': 'select * from t w...'}]
    """
    floatfmt = section.floatfmt if section else ",.2f"
    preformatted = section.preformatted if section else False
    rows = [{**{k: v for k, v in r.items() if k != shrink}, shrink: r.get(shrink)} for r in rows]
    steps = [("drop", name, 0) for name in droppable] + [("cut", n, w) for n, w in narrow]
    while True:
        others = [{k: v for k, v in r.items() if k != shrink} for r in rows]
        used = max(len(line) for line in render_rows(
            others, "table", floatfmt=floatfmt, preformatted=preformatted).splitlines())
        room = width - used - 2
        if room >= MIN_SHRINK or not steps:
            break
        step, name, size = steps.pop(0)
        if step == "drop":
            rows = [{k: v for k, v in r.items() if k != name} for r in rows]
        else:
            rows = [{**r, name: _cut(r[name], size, "")} if name in r else r for r in rows]
    room = max(room, MIN_SHRINK)
    return [{**r, shrink: _cut(r[shrink], room)} for r in rows]


def _cut(value: Any, room: int, mark: str = "...") -> Any:
    if not isinstance(value, str):
        return value
    value = " ".join(value.split())
    return value if len(value) <= room else value[: room - len(mark)] + mark


def _escape(value: Any) -> str:
    """Text for HTML: redacted first (escaping would hide a quoted secret from redact)."""
    return html.escape(redact(printable(value if isinstance(value, str) else _cell(value))))


def _html(sections: list[Section], title: str) -> str:
    body = []
    for s in sections:
        if s.title:
            body.append(f"<h2>{_escape(s.title)}</h2>")
        if s.html:
            body.append(s.html() if callable(s.html) else s.html)
        if s.rows:
            head = "".join(f"<th>{_escape(str(k))}</th>" for k in s.rows[0])
            rows = "".join("<tr>" + "".join(f"<td>{_escape(v)}</td>"
                                            for v in r.values()) + "</tr>" for r in s.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        if s.lines:
            body.append("<ul>" + "".join(f"<li>{_escape(line)}</li>" for line in s.lines)
                        + "</ul>")
        if s.text:
            body.append(f"<pre>{_escape(s.text)}</pre>")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
            "collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
            "pre{background:#f6f6f6;padding:1em}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{''.join(body)}</body></html>\n")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    return "-" if value is None else str(value)
