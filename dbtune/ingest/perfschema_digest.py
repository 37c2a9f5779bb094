"""Query classes from performance_schema: one snapshot (since the counters started) or a window.

Each digest row (schema, digest) becomes a :class:`_Row` of counters; a window is the
difference of two snapshots' rows. Rows whose statements share a dbtune fingerprint
(the same digest in several schemas, or digests pt-query-digest groups together) form
one :class:`~dbtune.model.QueryClass`, so reports, ranking and the slow-log join work
as for slow logs. Statistics performance_schema does not keep are None (n/a).

Metrics: ``query_time`` (SUM/MIN/MAX_TIMER_WAIT; mean = sum / count), ``lock_time``, ``rows_sent``,
``rows_examined``, ``rows_affected``, ``errors``, ``warnings``, ``created_tmp_tables``,
``created_tmp_disk_tables``, ``select_full_join``, ``select_full_range_join``,
``select_range``, ``select_range_check``, ``select_scan``, ``sort_merge_passes``,
``sort_range``, ``sort_rows``, ``sort_scan``, ``no_index_used``, ``no_good_index_used``
(and ``cpu_time`` on MySQL 8.0.28+): every ``SUM_*`` column, times in seconds.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from dbtune.ingest.perfschema import (
    OWN_STATEMENTS,
    Snapshot,
    digest_sql,
    is_truncated,
    join_key,
    read_snapshot,
    row_key,
)
from dbtune.model import ClassSet, InputError, QueryClass

PICO = 1e12
#: History latencies give quantiles when they hold every execution or at least this many.
MIN_HISTORY_SAMPLE = 100
QUANTILES = ((0.5, "p50"), (0.95, "p95"), (0.99, "p99"))


@dataclass
class _Row:
    """The counters of one (schema, digest) row, or their change over a window."""

    key: str
    schema: str | None
    digest: str | None
    text: str
    count: int
    sums: dict[str, float]
    first_seen: datetime | None
    last_seen: datetime | None
    min_time: float | None = None
    max_time: float | None = None
    quantile_columns: dict[str, float] = field(default_factory=dict)
    buckets: dict[int, int] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)  # history latencies (s)
    sample: tuple[float, str, str] | None = None  # (seconds, sql, source)


def _rows(snapshot: Snapshot) -> dict[str, _Row]:
    """The rows of one snapshot, with histogram buckets, history latencies and samples."""
    history: dict[str, list[tuple[float, str]]] = {}
    for event in snapshot.history:
        history.setdefault(row_key(event["CURRENT_SCHEMA"], event["DIGEST"]), []).append(
            (event["TIMER_WAIT"] / PICO, event["SQL_TEXT"] or ""))
    # DIGEST NULL: statements counted while the digest table was full (digest_lost)
    return {row.key: row for row in (_row(raw, snapshot, history)
                                     for raw in snapshot.digest_rows if raw.get("DIGEST"))}


def _row(raw: dict[str, Any], snapshot: Snapshot,
         history: dict[str, list[tuple[float, str]]]) -> _Row:
    key = row_key(raw.get("SCHEMA_NAME"), raw.get("DIGEST"))
    sums = {}
    for column, value in raw.items():
        if column == "SUM_TIMER_WAIT":
            sums["query_time"] = value / PICO
        elif column.startswith("SUM_") and value is not None:
            name = column[4:].lower()
            sums[name] = value / PICO if name.endswith("_time") else float(value)
    quantiles = {label: raw[column] / PICO
                 for column, label in (("QUANTILE_95", "p95"), ("QUANTILE_99", "p99"))
                 if raw.get(column) is not None}
    events = history.get(key, [])
    sample = None
    if raw.get("QUERY_SAMPLE_TEXT"):
        sample = ((raw.get("QUERY_SAMPLE_TIMER_WAIT") or 0) / PICO, raw["QUERY_SAMPLE_TEXT"],
                  "QUERY_SAMPLE_TEXT")
    elif events:
        seconds, sql = max(events, key=lambda e: e[0])
        sample = (seconds, sql, "events_statements_history_long")
    return _Row(
        key=key, schema=raw.get("SCHEMA_NAME"), digest=raw.get("DIGEST"),
        text=raw.get("DIGEST_TEXT") or "", count=int(raw["COUNT_STAR"]), sums=sums,
        first_seen=raw.get("FIRST_SEEN"), last_seen=raw.get("LAST_SEEN"),
        min_time=raw["MIN_TIMER_WAIT"] / PICO, max_time=raw["MAX_TIMER_WAIT"] / PICO,
        quantile_columns=quantiles,
        buckets={n: c for n, c in snapshot.histograms.get(key, [])},
        times=[e[0] for e in events], sample=sample,
    )


def _window(before: Snapshot, after: Snapshot) -> tuple[list[_Row], list[str]]:
    """Rows of what ran between two snapshots, and notes on resets and vanished digests."""
    if before.server != after.server:
        raise InputError(f"the baseline is from {before.server}, this snapshot from "
                         f"{after.server}: compare snapshots of one server")
    if after.taken_at < before.taken_at:
        raise InputError(f"the baseline ({before.taken_at}) is newer than the snapshot "
                         f"({after.taken_at})")
    old, new = _rows(before), _rows(after)
    restarted = after.uptime < before.uptime
    seen: dict[int, int] = {}  # thread -> last event id the baseline's history held
    for event in [] if restarted else before.history:
        seen[event["THREAD_ID"]] = max(seen.get(event["THREAD_ID"], 0), event["EVENT_ID"])
    fresh: dict[str, list[float]] = {}
    for event in after.history:
        if event["EVENT_ID"] > seen.get(event["THREAD_ID"], 0):
            fresh.setdefault(row_key(event["CURRENT_SCHEMA"], event["DIGEST"]), []).append(
                event["TIMER_WAIT"] / PICO)
    notes: list[str] = []
    gone = len(old.keys() - new.keys())
    if restarted or gone:  # digest rows are never evicted, only reset all at once
        why = (f"the server restarted between the snapshots (uptime {after.uptime}s)"
               if restarted else
               f"the digest table was truncated between the snapshots ({gone} digests gone)")
        notes.append(f"{why}: the window holds only what ran since then")
        return [replace(row, times=fresh.get(key, [])) for key, row in new.items()], notes
    rows, reset = [], 0
    for key, row in new.items():
        prior = old.get(key)
        if prior is not None and (row.count < prior.count or row.first_seen != prior.first_seen):
            reset += 1
            prior = None
        if prior is None:  # new in the window (or reset): all of it ran in the window
            rows.append(replace(row, times=fresh.get(key, [])))
            continue
        if row.count == prior.count:
            continue
        rows.append(_Row(
            key=key, schema=row.schema, digest=row.digest, text=row.text,
            count=row.count - prior.count,
            sums={m: v - prior.sums.get(m, 0.0) for m, v in row.sums.items()},
            first_seen=None, last_seen=row.last_seen,
            buckets={n: c - prior.buckets.get(n, 0) for n, c in row.buckets.items()
                     if c > prior.buckets.get(n, 0)},
            times=fresh.get(key, []), sample=row.sample,
        ))
    if reset:
        notes.append(f"the counters of {reset} digests were reset between the snapshots: "
                     f"the window holds what they counted since then")
    return rows, notes


def _fingerprints(rows: list[_Row]) -> dict[str | None, str]:
    """digest -> fingerprint: of a real sample when it agrees with the digest text, else
    of the digest text with its placeholders read as literals."""
    from dbtune.fingerprint import fingerprint

    out: dict[str | None, str] = {}
    for row in rows:
        from_text = fingerprint(digest_sql(row.text))
        if row.sample is not None and not is_truncated(row.text):
            from_sample = fingerprint(row.sample[1])
            if join_key(from_sample) == join_key(from_text):
                out[row.digest] = from_sample
                continue
        out.setdefault(row.digest, from_text)
    return out


@functools.cache
def _own_keys() -> frozenset[str]:
    """Join keys of the statements a snapshot runs: not the server's workload."""
    from dbtune.fingerprint import fingerprint

    return frozenset(join_key(fingerprint(sql)) for sql in OWN_STATEMENTS)


def _quantiles(group: list[_Row], bucket_high: dict[int, int], window: bool,
               low: float | None, high: float | None) -> dict[str, float | None]:
    """p50/p95/p99 of query_time: histogram buckets, QUANTILE_* columns, or history."""
    buckets: dict[int, int] = {}
    for row in group:
        for number, count in row.buckets.items():
            buckets[number] = buckets.get(number, 0) + count
    values: dict[str, float | None] = {label: None for _, label in QUANTILES}
    if buckets and bucket_high:
        numbers = sorted(buckets)
        cumulative = np.cumsum([buckets[n] for n in numbers])
        for q, label in QUANTILES:  # MySQL's rule: first bucket reaching q of the count
            at = int(np.searchsorted(cumulative, q * cumulative[-1], side="left"))
            values[label] = bucket_high[numbers[min(at, len(numbers) - 1)]] / PICO
    elif len(group) == 1 and not window and group[0].quantile_columns:
        values.update(group[0].quantile_columns)
    else:
        times = [t for row in group for t in row.times]
        count = sum(row.count for row in group)
        if times and (len(times) >= count or len(times) >= MIN_HISTORY_SAMPLE):
            for q, label in QUANTILES:
                values[label] = float(np.quantile(times, q, method="inverted_cdf"))
    for label, value in values.items():  # a bucket's upper bound can pass the max
        if value is not None and low is not None:
            value = max(value, low)
        if value is not None and high is not None:
            value = min(value, high)
        values[label] = value
    return values


def _metrics(group: list[_Row], count: int, bucket_high: dict[int, int],
             window: bool) -> dict[str, dict[str, float | None]]:
    names: list[str] = []
    for row in group:
        names += [m for m in row.sums if m not in names]
    metrics: dict[str, dict[str, float | None]] = {}
    for name in names:
        total = sum(row.sums.get(name, 0.0) for row in group)
        metrics[name] = {"sum": total, "min": None, "max": None, "mean": total / count,
                         "p50": None, "p95": None, "p99": None}
    lows = [row.min_time for row in group]
    highs = [row.max_time for row in group]
    low = min(lows) if None not in lows else None
    high = max(highs) if None not in highs else None
    if "query_time" in metrics:
        metrics["query_time"].update(min=low, max=high)
        metrics["query_time"].update(_quantiles(group, bucket_high, window, low, high))
    return metrics


def _classes(rows: list[_Row], fingerprint_of: dict[str | None, str],
             bucket_high: dict[int, int], window: bool) -> list[QueryClass]:
    from dbtune.fingerprint import class_id

    groups: dict[str, list[_Row]] = {}
    for row in rows:
        groups.setdefault(fingerprint_of[row.digest], []).append(row)
    total = sum(row.sums.get("query_time", 0.0) for row in rows)
    out = []
    for fp, group in groups.items():
        count = sum(row.count for row in group)
        metrics = _metrics(group, count, bucket_high, window)
        dbs: dict[str, int] = {}
        for row in sorted(group, key=lambda r: -r.count):
            if row.schema is not None:
                dbs[row.schema] = dbs.get(row.schema, 0) + row.count
        sampled = [row for row in group if row.sample is not None]
        best = max(sampled or group, key=lambda r: r.sample[0] if r.sample else r.count)
        sample, source = (best.sample[1], best.sample[2]) if best.sample else \
            (best.text, "DIGEST_TEXT")
        qt = metrics.get("query_time", {}).get("sum") or 0.0
        sent = metrics.get("rows_sent", {}).get("sum")
        examined = metrics.get("rows_examined", {}).get("sum")
        firsts = [row.first_seen for row in group if row.first_seen is not None]
        lasts = [row.last_seen for row in group if row.last_seen is not None]
        out.append(PerfSchemaClass(
            id=class_id(fp), fingerprint=fp, count=count, share=qt / total if total else 0.0,
            metrics=metrics, first_seen=min(firsts) if firsts else None,
            last_seen=max(lasts) if lasts else None, dbs=dbs, users={}, hosts={},
            db=next(iter(dbs), None), sample=sample, sample_db=best.schema,
            sample_source=source,
            rows_examined_per_sent=examined / sent if sent and examined is not None else None,
            parse_sql=best.sample[1] if best.sample else digest_sql(best.text),
            digests=sorted({row.digest for row in group if row.digest}),
            truncated=any(is_truncated(row.text) for row in group),
        ))
    out.sort(key=lambda c: (-(c.metrics.get("query_time", {}).get("sum") or 0.0), -c.count,
                            c.id))
    return out


@dataclass
class PerfSchemaClass(QueryClass):
    """A QueryClass from performance_schema: also its digest hashes and truncation."""

    digests: list[str] = field(default_factory=list)
    #: the server cut the digest text (max_digest_length): slow-log joins may miss it
    truncated: bool = False
    #: what ``tables`` parses: the sample, or the digest text as SQL
    parse_sql: str = field(default="", repr=False)

    @property
    def tables(self) -> list[str]:
        """Tables the statement touches (sqlglot, parsed once on first use)."""
        if self._tables is None:
            from dbtune.parsing import tables_in

            self._tables = tables_in(self.parse_sql or self.sample)
        return self._tables

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "digests": self.digests, "truncated": self.truncated}


class PerfSchemaDigest(ClassSet):
    """Query classes of one snapshot (since counters started) or of the window between two.

    The statements dbtune itself runs to take snapshots are left out.
    """

    def __init__(self, after: Snapshot, before: Snapshot | None = None) -> None:
        self.after = after
        self.before = before
        if before is None:
            rows, self.notes = list(_rows(after).values()), []
        else:
            rows, self.notes = _window(before, after)
        self._fingerprint_of = _fingerprints(rows)
        own = _own_keys()
        self._rows = [r for r in rows if join_key(self._fingerprint_of[r.digest]) not in own]
        restarted = before is not None and after.uptime < before.uptime
        lost = after.digest_lost - (before.digest_lost if before and not restarted else 0)
        if lost > 0:
            self.notes.append(f"{lost} statements found the digest table full and are not "
                              f"in any class (Performance_schema_digest_lost): raise "
                              f"performance_schema_digests_size")
        self._classes: list[QueryClass] | None = None

    @property
    def window(self) -> bool:
        return self.before is not None

    @property
    def classes(self) -> list[QueryClass]:
        """All classes, ranked by total query time (then count, then id)."""
        if self._classes is None:
            self._classes = _classes(self._rows, self._fingerprint_of, self.after.bucket_high,
                                     self.window)
        return self._classes

    @property
    def summary(self) -> dict[str, Any]:
        after, before = self.after, self.before
        if before is not None:
            first, last = before.taken_at, after.taken_at
        else:
            firsts = [r.first_seen for r in self._rows if r.first_seen is not None]
            lasts = [r.last_seen for r in self._rows if r.last_seen is not None]
            first, last = (min(firsts) if firsts else None), (max(lasts) if lasts else None)
        span = (last - first).total_seconds() if first and last else 0.0
        events = sum(r.count for r in self._rows)
        return {
            "source": "performance_schema",
            "events": events,
            "classes": len(self.classes),
            "skipped": 0,
            "warnings": list(self.notes),
            "warnings_total": len(self.notes),
            "files": [f"performance_schema@{after.server}"],
            "server": after.server,
            "flavour": after.flavour,
            "version": after.server_version,
            "uptime_seconds": after.uptime,
            "window": before is not None,
            "first_seen": first,
            "last_seen": last,
            "span_seconds": span,
            "total_query_time": sum(r.sums.get("query_time", 0.0) for r in self._rows),
            "qps": events / span if span > 0 else None,
            "quantiles": self.quantile_source,
        }

    @property
    def quantile_source(self) -> str:
        """Where p50/p95/p99 of query_time come from (or why they are n/a)."""
        if self.after.bucket_high:
            return "events_statements_histogram_by_digest"
        if any(r.quantile_columns for r in self._rows) and not self.window:
            return "QUANTILE_95/QUANTILE_99 columns (p50 n/a)"
        if self.after.history_enabled:
            return (f"events_statements_history_long: a sample of the last "
                    f"{len(self.after.history)} statements")
        return ("n/a: enable the events_statements_current and events_statements_history_long "
                "consumers for sampled quantiles")


def digest_perfschema(connection, baseline: Snapshot | None = None) -> PerfSchemaDigest:
    """Query classes of a server now: since its counters started, or since ``baseline``."""
    return PerfSchemaDigest(read_snapshot(connection), baseline)


def watch(connection, seconds: float,
          sleep: Callable[[float], None] = time.sleep) -> PerfSchemaDigest:
    """Query classes of what ran during the next ``seconds`` (two snapshots and their delta)."""
    if not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"interval {seconds}: must be a positive number of seconds")
    before = read_snapshot(connection)
    sleep(seconds)
    return PerfSchemaDigest(read_snapshot(connection), before)
