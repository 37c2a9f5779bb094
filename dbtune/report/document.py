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
from dataclasses import dataclass
from typing import Any, Protocol

from dbtune.report.formats import redact_secrets, render_rows, to_json

#: Every format every result renders in.
FORMATS = ("table", "markdown", "json", "csv", "html")


@dataclass
class Section:
    """A titled part of a report: a table (``rows``), a text block (``text``), or both."""

    title: str | None = None
    rows: list[dict[str, Any]] | None = None
    text: str | None = None
    #: fence language of ``text`` in Markdown ("sql", or "" for plain text)
    language: str = ""
    #: rows hold numbers already written as text (right-aligned as they are)
    preformatted: bool = False
    floatfmt: str = ",.2f"
    #: inline HTML (an SVG chart, say) shown only in the ``html`` format
    html: str | None = None


class Reportable(Protocol):
    """What :func:`render` needs of a result object."""

    def to_document(self) -> dict[str, Any]: ...

    def rows(self) -> list[dict[str, Any]]: ...

    def sections(self) -> list[Section]: ...


def render(result: Reportable, fmt: str, *, title: str = "dbtune") -> str:
    """``result`` in ``fmt`` (one of :data:`FORMATS`), credentials redacted."""
    if fmt == "json":
        text = to_json(result.to_document())
    elif fmt == "csv":
        text = render_rows(result.rows(), "csv")
    elif fmt == "html":
        text = _html(result.sections(), title)
    elif fmt in ("table", "markdown"):
        text = "\n".join(_text(s, fmt) for s in result.sections())
    else:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return redact(text)


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


def _text(section: Section, fmt: str) -> str:
    md = fmt == "markdown"
    parts = []
    if section.title:
        parts.append(f"## {section.title}\n\n" if md else f"{section.title}\n\n")
    if section.rows is not None:
        parts.append(render_rows(section.rows, fmt, floatfmt=section.floatfmt,
                                 preformatted=section.preformatted))
    if section.text:
        body = section.text if section.text.endswith("\n") else section.text + "\n"
        parts.append(f"```{section.language}\n{body}```\n" if md else body)
    return "".join(parts)


def _html(sections: list[Section], title: str) -> str:
    body = []
    for s in sections:
        if s.title:
            body.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.html:
            body.append(s.html)
        if s.rows:
            head = "".join(f"<th>{html.escape(str(k))}</th>" for k in s.rows[0])
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>"
                                            for v in r.values()) + "</tr>" for r in s.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        if s.text:
            body.append(f"<pre>{html.escape(s.text)}</pre>")
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
            "collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
            "pre{background:#f6f6f6;padding:1em}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{''.join(body)}</body></html>\n")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    return "-" if value is None else str(value)
