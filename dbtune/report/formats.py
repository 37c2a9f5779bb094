"""Generic renderers shared by every report: a list of flat dict rows -> text."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

#: Every format every result renders in (the one list; :func:`render_rows` does all but html).
FORMATS = ("table", "markdown", "json", "csv", "html")

#: Bytes that were not UTF-8 in a log, kept by the readers as surrogate escapes.
UNDECODABLE = re.compile("[\udc80-\udcff]")


_STRING = r"""(?:'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")"""
#: Where a logged statement carries a credential: the text before it, then the literal.
_SECRET = re.compile(
    r"(\bIDENTIFIED\s+(?:(?:WITH|VIA)\s+[\w`'\"]+\s+)?(?:BY|AS|USING)\s+"
    r"(?:PASSWORD\s*\(?\s*)?"
    r"|\bPASSWORD\s*\(\s*"
    r"|\bSET\s+PASSWORD\b[^=;]*=\s*"
    r"|\b(?:MASTER|SOURCE)_PASSWORD\s*=\s*)" + _STRING,
    re.IGNORECASE,
)


def redact_secrets(sql: str) -> str:
    """A logged statement with its passwords as ``'***'``: ``IDENTIFIED BY '...'``,
    ``PASSWORD('...')``, ``SET PASSWORD ... = '...'``, ``MASTER_PASSWORD = '...'``.

    MariaDB writes such statements to its slow log as they were sent (MySQL 8 rewrites
    them); reports never show the literal.
    """
    return _SECRET.sub(lambda m: m.group(1) + "'***'", sql) if sql else sql


def json_default(value: Any) -> Any:
    """JSON encoder hook for the types dbtune's reports hold."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def to_json(document: Any) -> str:
    """Serialise a report document with stable key order and ISO datetimes.

    A byte that was not UTF-8 in the log becomes the JSON escape ``\\udcXX`` (Python's
    ``surrogateescape`` convention), so the output is valid UTF-8 and nothing is lost.
    """
    text = json.dumps(document, indent=2, default=json_default, ensure_ascii=False)
    return UNDECODABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def printable(text: str) -> str:
    """Text reports show a byte that was not UTF-8 in the log as ``\\xNN``."""
    return UNDECODABLE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


def render_rows(rows: Sequence[dict[str, Any]], fmt: str, *, floatfmt: str = ",.2f",
                preformatted: bool = False) -> str:
    """Render flat rows as a text table, a Markdown table, CSV or JSON.

    Text and Markdown tables print floats with ``floatfmt`` and integers with
    thousands separators; CSV and JSON keep full precision. ``preformatted`` rows hold
    numbers already written as text: printed as they are, right-aligned after the first column.
    """
    if fmt == "json":
        return to_json(list(rows))
    if fmt == "csv":
        out = io.StringIO()
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return out.getvalue()
    if fmt not in ("table", "markdown"):
        raise ValueError(f"unknown format {fmt!r} for rows; choose one of "
                         f"{', '.join(f for f in FORMATS if f != 'html')}")
    from tabulate import tabulate  # here, so `dbtune sandbox ...` does not import it

    tablefmt = "github" if fmt == "markdown" else "simple"
    if not rows:
        return "(no rows)\n"
    if fmt == "markdown":  # a | in a cell would end it
        rows = [{k: v.replace("|", "\\|") if isinstance(v, str) else v for k, v in r.items()}
                for r in rows]
    if preformatted:
        colalign = ("left",) + ("right",) * (len(rows[0]) - 1)
        return tabulate(rows, headers="keys", tablefmt=tablefmt, disable_numparse=True,
                        colalign=colalign) + "\n"
    return tabulate(rows, headers="keys", tablefmt=tablefmt, floatfmt=floatfmt,
                    intfmt=",", missingval="-") + "\n"
