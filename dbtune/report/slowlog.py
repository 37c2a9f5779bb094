"""Reports of a slow-log (or performance_schema) Digest.

The JSON layout is documented in docs/json-report.md; tests check it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dbtune.model import CORE_METRICS, STATS
from dbtune.report.formats import redact_secrets, render_rows, to_json

SCHEMA_VERSION = 1
FINGERPRINT_WIDTH = 70


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 1:
        return f"{value:.2f}s"
    return f"{value * 1000:.1f}ms"


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The header a DBA reads first: volume, span, total time, rate, what was skipped."""
    first, last = summary.get("first_seen"), summary.get("last_seen")
    span = f"{first:%Y-%m-%d %H:%M:%S} .. {last:%Y-%m-%d %H:%M:%S}" if first and last else "n/a"
    qps = summary.get("qps")
    lines = [
        f"# files: {', '.join(summary.get('files', [])) or '-'}",
        f"# events: {summary['events']:,}  classes: {summary['classes']:,}  "
        f"skipped entries: {summary['skipped']:,}",
        f"# time span: {span} ({summary.get('span_seconds') or 0:,.0f}s)  "
        f"total query time: {_seconds(summary.get('total_query_time', 0.0))}  "
        f"qps: {qps:,.2f}" if qps else
        f"# time span: {span}  total query time: {_seconds(summary.get('total_query_time', 0.0))}",
    ]
    return lines


def class_document(query_class: Any, rank: int) -> dict[str, Any]:
    """One class in the documented JSON layout."""
    metrics = dict(query_class.metrics)
    document: dict[str, Any] = {
        "rank": rank,
        "id": query_class.id,
        "fingerprint": query_class.fingerprint,
        "count": query_class.count,
        "share": query_class.share,
        "db": query_class.db,
        "dbs": dict(query_class.dbs),
        "users": dict(query_class.users),
        "hosts": dict(query_class.hosts),
        "first_seen": query_class.first_seen,
        "last_seen": query_class.last_seen,
        "sample": redact_secrets(query_class.sample),
        "sample_db": query_class.sample_db,
        "sample_source": query_class.sample_source,
        "tables": list(query_class.tables),
        "rows_examined_per_sent": query_class.rows_examined_per_sent,
    }
    for name in CORE_METRICS:
        document[name] = metrics.pop(name, None)
    document["metrics"] = metrics
    return document


def digest_document(digest: Any, classes: Sequence[Any], *, order_by: str) -> dict[str, Any]:
    """The whole JSON report: summary, ordering, and the ranked classes."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "dbtune",
        "order_by": order_by,
        "summary": dict(digest.summary),
        "classes": [class_document(c, rank) for rank, c in enumerate(classes, 1)],
    }


def _ms(stats: dict[str, float] | None, stat: str) -> float | None:
    value = (stats or {}).get(stat)
    return None if value is None else value * 1000


def profile_rows(classes: Sequence[Any]) -> list[dict[str, Any]]:
    """pt-query-digest's "Profile": one short line per class, ranked."""
    rows = []
    for rank, query_class in enumerate(classes, 1):
        query_time = query_class.metrics.get("query_time")
        fingerprint = " ".join(query_class.fingerprint.split())
        if len(fingerprint) > FINGERPRINT_WIDTH:
            fingerprint = fingerprint[: FINGERPRINT_WIDTH - 3] + "..."
        rows.append({
            "rank": rank,
            "id": query_class.id,
            "total s": query_time["sum"] if query_time else None,
            "share %": query_class.share * 100,
            "calls": query_class.count,
            "mean ms": _ms(query_time, "mean"),
            "p95 ms": _ms(query_time, "p95"),
            "max ms": _ms(query_time, "max"),
            "exam/sent": query_class.rows_examined_per_sent,
            "db": query_class.db or "",
            "fingerprint": fingerprint,
        })
    return rows


def flat_rows(classes: Sequence[Any]) -> list[dict[str, Any]]:
    """One wide row per class with every metric and statistic, for CSV."""
    metric_names = sorted({name for c in classes for name in c.metrics},
                          key=lambda n: (n not in CORE_METRICS, n))
    rows = []
    for rank, query_class in enumerate(classes, 1):
        row: dict[str, Any] = {
            "rank": rank, "id": query_class.id, "count": query_class.count,
            "share": query_class.share, "db": query_class.db or "",
            "first_seen": query_class.first_seen, "last_seen": query_class.last_seen,
            "rows_examined_per_sent": query_class.rows_examined_per_sent,
            "tables": " ".join(query_class.tables), "fingerprint": query_class.fingerprint,
            "sample": redact_secrets(query_class.sample),
        }
        for name in metric_names:
            stats = query_class.metrics.get(name) or {}
            for stat in STATS:
                row[f"{name}_{stat}"] = stats.get(stat)
        rows.append(row)
    return rows


def metric_text(name: str, value: float | None) -> str:
    """A metric value as a DBA reads it: seconds to the microsecond, counts whole."""
    if value is None:
        return "n/a"
    if name.endswith(("_time", "_wait")):
        return f"{value:,.6f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def detail_block(query_class: Any, rank: int, fmt: str) -> str:
    """Per-class statistics of every metric, and the worst sample, as pt-query-digest shows."""
    rows = [{"metric": name, **{stat: metric_text(name, stats.get(stat)) for stat in STATS}}
            for name, stats in sorted(query_class.metrics.items(),
                                      key=lambda item: (item[0] not in CORE_METRICS, item[0]))]
    title = f"Query {rank}: {query_class.id}  {query_class.count:,} calls, " \
            f"{query_class.share:.1%} of total time, db {query_class.db or '-'}"
    heading = f"### {title}" if fmt == "markdown" else f"# {title}"
    sample = redact_secrets(query_class.sample)
    sample = sample if len(sample) < 2000 else sample[:2000] + " /* ... truncated */"
    where = f"-- worst sample ({query_class.sample_source}, db {query_class.sample_db or '-'}):"
    body = f"```sql\n{where}\n{sample}\n```" if fmt == "markdown" else f"{where}\n{sample}"
    tables = f"tables: {', '.join(query_class.tables) or '-'}"
    return "\n".join([heading, render_rows(rows, fmt, preformatted=True).rstrip(), tables, body])


def render_digest(digest: Any, classes: Sequence[Any], fmt: str, *, order_by: str,
                  details: int = 5) -> str:
    """Render a ranked digest in one of the report formats."""
    if fmt == "json":
        return to_json(digest_document(digest, classes, order_by=order_by))
    if fmt == "csv":
        return render_rows(flat_rows(classes), "csv")
    header = summary_lines(digest.summary)
    if fmt == "markdown":
        header = ["## dbtune query digest", "", *(f"- {line[2:]}" for line in header)]
    parts = ["\n".join(header), f"Profile, ranked by {order_by}:",
             render_rows(profile_rows(classes), fmt).rstrip()]
    parts += [detail_block(c, rank, fmt) for rank, c in enumerate(classes[:details], 1)]
    return "\n\n".join(parts) + "\n"
