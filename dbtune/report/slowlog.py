"""Reports of a slow-log (or performance_schema) digest: :class:`DigestReport` wraps a
ClassSet with the report's options (ranking, --top, details) for :func:`dbtune.report.render`.

The JSON layout is documented in docs/json-report.md; tests check it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from dbtune import __version__
from dbtune.model import CORE_METRICS, STATS
from dbtune.report.document import Section
from dbtune.report.formats import redact_secrets

SCHEMA_VERSION = 1
FINGERPRINT_WIDTH = 70


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 1:
        return f"{value:.2f}s"
    return f"{value * 1000:.1f}ms"


def plural(count: int, noun: str) -> str:
    """``1 call``, ``2 calls``, ``1,024 classes``.

    >>> plural(1, "call"), plural(2, "class")
    ('1 call', '2 classes')
    """
    suffix = "" if count == 1 else "es" if noun.endswith(("s", "sh", "ch", "x")) else "s"
    return f"{count:,} {noun}{suffix}"


def summary_lines(summary: dict[str, Any], server: str | None = None) -> list[str]:
    """The header a DBA reads first: where from, volume, span, total time, rate, skips."""
    first, last = summary.get("first_seen"), summary.get("last_seen")
    span = f"{first:%Y-%m-%d %H:%M:%S} .. {last:%Y-%m-%d %H:%M:%S}" if first and last else "n/a"
    qps = summary.get("qps")
    events = f"events: {summary['events']:,}"
    read = summary.get("events_read")
    if read is not None and read != summary["events"]:
        events = f"events: {read:,} read, {summary['events']:,} matched the filters"
    total = _seconds(summary.get("total_query_time", 0.0))
    lines = [f"server: {server}"] if server else []
    lines += [
        f"files: {', '.join(summary.get('files', [])) or '-'}",
        f"{events}  classes: {summary['classes']:,}  skipped entries: {summary['skipped']:,}",
        f"time span: {span} ({summary.get('span_seconds') or 0:,.0f}s)" if qps else
        f"time span: {span}",
        f"total query time: {total}  qps: {qps:,.2f}" if qps else f"total query time: {total}",
    ]
    lines += [f"not read: {failed['path']}: {failed['reason']}"
              for failed in summary.get("inputs_failed") or []]
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
    """The whole JSON report: summary, ordering, and the ranked classes.

    ``summary.classes_listed`` says how many of ``summary.classes`` the report lists (a
    report cut by --top or --min-count is not the whole); ``dbtune_version`` which dbtune
    wrote it.
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "dbtune",
        "dbtune_version": __version__,
        "order_by": order_by,
        "summary": {**digest.summary, "classes_listed": len(classes)},
        "classes": [class_document(c, rank) for rank, c in enumerate(classes, 1)],
    }


def _ms(stats: dict[str, float] | None, stat: str) -> float | None:
    value = (stats or {}).get(stat)
    return None if value is None else value * 1000


def profile_rows(classes: Sequence[Any], width: int | None = FINGERPRINT_WIDTH
                 ) -> list[dict[str, Any]]:
    """pt-query-digest's "Profile": one short line per class, ranked (fingerprints cut to
    ``width`` characters; None: whole)."""
    rows = []
    for rank, query_class in enumerate(classes, 1):
        query_time = query_class.metrics.get("query_time")
        fingerprint = " ".join(query_class.fingerprint.split())
        if width is not None and len(fingerprint) > width:
            fingerprint = fingerprint[: width - 3] + "..."
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


def detail_section(query_class: Any, rank: int) -> Section:
    """Per-class statistics of every metric, and the worst sample, as pt-query-digest shows."""
    rows = [{"metric": name, **{stat: metric_text(name, stats.get(stat)) for stat in STATS}}
            for name, stats in sorted(query_class.metrics.items(),
                                      key=lambda item: (item[0] not in CORE_METRICS, item[0]))]
    title = (f"Query {rank}: {query_class.id}  {plural(query_class.count, 'call')}, "
             f"{query_class.share:.1%} of total time, db {query_class.db or '-'}")
    sample = redact_secrets(query_class.sample)
    sample = sample if len(sample) < 2000 else sample[:2000] + " /* ... truncated */"
    where = f"-- worst sample ({query_class.sample_source}, db {query_class.sample_db or '-'}):"
    return Section(title, rows=rows, preformatted=True,
                   lines=[f"tables: {', '.join(query_class.tables) or '-'}"],
                   text=f"{where}\n{sample}", language="sql")


#: Profile columns left out, in this order, when the terminal is too narrow.
DROPPABLE = ("exam/sent", "max ms", "db", "mean ms", "share %")


@dataclass
class DigestReport:
    """A ClassSet (slow-log digest, performance_schema digest) as a report: the classes
    ranked by ``order_by``, the first ``top`` (None: all) seen ``min_count`` times or more,
    ``details`` detail blocks, and the ``server`` it came from for the header."""

    classset: Any
    order_by: str = "query_time:sum"
    top: int | None = 20
    min_count: int = 1
    details: int = 5
    server: str | None = None
    notes: list[str] = field(default_factory=list)

    @cached_property
    def classes(self) -> list[Any]:
        """The classes listed, ranked."""
        return self.classset.ranked(order_by=self.order_by, top=self.top,
                                    min_count=self.min_count)

    @property
    def not_listed(self) -> int:
        """Classes of the input the report leaves out (--top, --min-count)."""
        return self.classset.summary["classes"] - len(self.classes)

    def to_document(self) -> dict[str, Any]:
        return digest_document(self.classset, self.classes, order_by=self.order_by)

    def rows(self) -> list[dict[str, Any]]:
        return flat_rows(self.classes)

    def sections(self) -> list[Section]:
        summary = self.classset.summary
        empty = "(no classes)"
        if summary.get("events_read") and not summary["events"]:
            empty = f"(no classes: {summary['events_read']:,} events read, 0 matched the filters)"
        more = []
        if self.not_listed > 0:
            more = [f"{plural(self.not_listed, 'more class')} not shown "
                    f"(--top 0 --min-count 1 for all)"]
        return [
            Section("dbtune query digest", lines=summary_lines(summary, self.server)
                    + self.notes),
            Section(f"Profile, ranked by {self.order_by}", rows=profile_rows(self.classes),
                    shrink="fingerprint", droppable=DROPPABLE, narrow=(("id", 16),),
                    empty=empty, lines=more),
            *(detail_section(c, rank) for rank, c in enumerate(self.classes[:self.details], 1)),
        ]
