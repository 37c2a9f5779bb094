"""The one mergeable aggregate of query events: add a block, merge, build classes.

Events are grouped by pt-query-digest's fingerprint. Per class and numeric metric the
aggregate keeps count, sum, min and max as integers (times in microseconds, counts as
they are), and a DDSketch store (``ddsketch``'s LogarithmicMapping, relative accuracy
0.01, as sorted ``bucket key -> count`` arrays) for p50/p95/p99. Integer state merges
exactly, so the aggregate of several files or byte ranges equals that of one log.

Blocks of entries are aggregated column-wise with numpy; the statement text is only
fingerprinted, through :class:`dbtune.fingerprint.FingerprintCache`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from ddsketch.mapping import LogarithmicMapping

from dbtune.fingerprint import FingerprintCache, class_id
from dbtune.ingest.slowlog import (
    NO_TIME,
    NOT_METRICS,
    Block,
    ScanStats,
    metric_value,
    us_to_datetime,
)
from dbtune.model import CORE_METRICS, QueryClass

RELATIVE_ACCURACY = 0.01
#: The error code attribute (MySQL 8's log_slow_extra): counted per code, not summed.
ERRNO = "errno"
#: Quantile bucket keys live in the low bits of a composite ``class << 24 | key``.
KEY_BITS = 24
_KEY_OFFSET = 1 << (KEY_BITS - 1)
KEY_MASK = (1 << KEY_BITS) - 1
_ZERO_KEY = 0  # values <= 0 (DDSketch's zero bucket); positive keys are >= 1 after offset
_I64_MAX = np.iinfo(np.int64).max
_I64_MIN = np.iinfo(np.int64).min
_MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)
# LogarithmicMapping.key(v) = ceil(log2(v) * multiplier) (offset 0), vectorised below.
_MULTIPLIER = _MAPPING._multiplier
_COMPACT_AT = 1 << 14


def metric_scale(name: str) -> int:
    """Integer units per metric unit: microseconds for times and waits, else 1."""
    return 1_000_000 if name.endswith(("_time", "_wait")) else 1


@dataclass(slots=True)
class Metric:
    """Per-class arrays of one metric, indexed like ``Aggregate.fingerprints``."""

    count: np.ndarray
    total: np.ndarray
    low: np.ndarray
    high: np.ndarray
    keys: list[np.ndarray] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)
    pending: int = 0  # bucket entries added since the last compaction

    @classmethod
    def empty(cls, size: int) -> Metric:
        return cls(
            np.zeros(size, np.int64),
            np.zeros(size, np.int64),
            np.full(size, _I64_MAX, np.int64),
            np.full(size, _I64_MIN, np.int64),
        )

    def grow(self, size: int) -> None:
        extra = size - len(self.count)
        if extra > 0:
            self.count = np.concatenate([self.count, np.zeros(extra, np.int64)])
            self.total = np.concatenate([self.total, np.zeros(extra, np.int64)])
            self.low = np.concatenate([self.low, np.full(extra, _I64_MAX, np.int64)])
            self.high = np.concatenate([self.high, np.full(extra, _I64_MIN, np.int64)])

    def add_buckets(self, keys: np.ndarray, weights: np.ndarray) -> None:
        self.keys.append(keys)
        self.weights.append(weights)
        self.pending += len(keys)
        # compact when what came since the last compaction outgrows what it left, so
        # each bucket is sorted O(log n) times, not once per block
        if self.pending > max(_COMPACT_AT, len(self.keys[0])) and len(self.keys) > 1:
            self.compact()

    def compact(self) -> tuple[np.ndarray, np.ndarray]:
        """Merge the bucket arrays into one sorted (keys, counts) pair and return it."""
        if not self.keys:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if len(self.keys) > 1:
            keys = np.concatenate(self.keys)
            weights = np.concatenate(self.weights)
            order = np.argsort(keys, kind="stable")
            keys, weights = keys[order], weights[order]
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            self.keys, self.weights = [keys[starts]], [np.add.reduceat(weights, starts)]
        self.pending = 0
        return self.keys[0], self.weights[0]


def _numbers(column: np.ndarray) -> np.ndarray:
    """Float values of a column of attribute strings: Yes/No = 1/0, anything else NaN."""
    if column[0] not in ("Yes", "No"):
        try:
            return column.astype(np.float64)
        except ValueError:
            pass
    yes, no = column == "Yes", column == "No"
    out = np.where(yes, 1.0, np.where(no, 0.0, np.nan))
    for i in np.flatnonzero(~(yes | no)).tolist():
        value = metric_value(column[i])
        if value is not None:
            out[i] = value
    return out


def _columns(block: Block) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """metric name -> (event indexes, float values) of a block."""
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for names, at, table in block.layouts:
        for j, name in enumerate(names):
            metric = name.lower()
            if metric in NOT_METRICS:
                continue
            values = _numbers(table[:, j])
            keep = np.isfinite(values)
            parts.setdefault(metric, []).append((at[keep], values[keep]))
    return {name: (np.concatenate([p[0] for p in chunks]), np.concatenate([p[1] for p in chunks]))
            for name, chunks in parts.items()}


def _bucket_keys(values: np.ndarray) -> np.ndarray:
    """DDSketch LogarithmicMapping keys (offset into the low bits; 0 = zero bucket)."""
    keys = np.full(values.shape, _ZERO_KEY, np.int64)
    positive = values > _MAPPING.min_possible
    keys[positive] = np.ceil(np.log2(values[positive]) * _MULTIPLIER).astype(np.int64)
    keys[positive] += _KEY_OFFSET
    return keys


@dataclass
class Aggregate:
    """The mergeable aggregate of a stream of entries (picklable, no pandas)."""

    fingerprints: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    first: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    metrics: dict[str, Metric] = field(default_factory=dict)
    dims: Counter = field(default_factory=Counter)  # (class, db, user, host) -> events
    # per class: [query_time µs, sql, db, source, line] of the slowest event, first wins ties
    samples: list[list[Any]] = field(default_factory=list)
    stats: ScanStats = field(default_factory=ScanStats)
    files: list[str] = field(default_factory=list)
    lines: int = 0  # lines of the range this aggregate read (to renumber ranges on merge)
    #: inputs that could not be read: {"path": ..., "reason": ...}
    failed: list[dict[str, str]] = field(default_factory=list)
    filtered: bool = False  # whether a filter chose the events
    read: int = 0  # events read before the filter (when filtered)
    errors: Counter = field(default_factory=Counter)  # (class, errno) -> events, errno != 0
    labels: Counter = field(default_factory=Counter)  # (class, host label) -> events

    def label(self, name: str) -> None:
        """Count every event so far under the label ``name`` (the server's host)."""
        self.labels = Counter({(c, name): int(n) for c, n in enumerate(self.count.tolist())
                               if n})

    def class_ids(self, fingerprints: Iterable[str]) -> np.ndarray:
        """The class index of each fingerprint (new classes are added)."""
        index = self.index
        out = []
        for fp in fingerprints:
            i = index.get(fp)
            if i is None:
                i = index[fp] = len(self.fingerprints)
                self.fingerprints.append(fp)
                self.samples.append([-1, "", None, "", 0])
            out.append(i)
        self._grow()
        return np.array(out, dtype=np.int64)

    def _grow(self) -> None:
        size = len(self.fingerprints)
        extra = size - len(self.count)
        if extra > 0:
            self.count = np.concatenate([self.count, np.zeros(extra, np.int64)])
            self.first = np.concatenate([self.first, np.full(extra, _I64_MAX, np.int64)])
            self.last = np.concatenate([self.last, np.full(extra, _I64_MIN, np.int64)])
        for metric in self.metrics.values():
            metric.grow(size)

    def metric(self, name: str) -> Metric:
        """The arrays of one metric (created empty)."""
        found = self.metrics.get(name)
        if found is None:
            found = self.metrics[name] = Metric.empty(len(self.fingerprints))
        return found

    def add_block(self, block: Block, fingerprints: FingerprintCache, source: str) -> None:
        """Add one block of entries read from ``source``."""
        n = len(block)
        if not n:
            return
        distinct, at = fingerprints(block.sqls)
        cls = self.class_ids(distinct)[at]
        uniq, inv = np.unique(cls, return_inverse=True)
        # per-class reductions over the entries sorted by class (every class of uniq occurs)
        order = np.argsort(inv, kind="stable")
        starts = np.flatnonzero(np.r_[True, inv[order][1:] != inv[order][:-1]])
        self.count[uniq] += np.diff(np.r_[starts, n])

        times = block.times[order]
        timed = times != NO_TIME
        low = np.minimum.reduceat(times, starts)  # NO_TIME is the int64 maximum
        high = np.maximum.reduceat(np.where(timed, times, _I64_MIN), starts)
        self.first[uniq] = np.minimum(self.first[uniq], low)
        self.last[uniq] = np.maximum(self.last[uniq], high)

        users, hosts = zip(*map(block.who.__getitem__, block.people), strict=True)
        self.dims.update(zip(cls.tolist(), block.dbs, users, hosts, strict=True))

        columns = {k: v for k, v in _columns(block).items() if len(v[0])}
        errno = columns.pop(ERRNO, None)
        if errno is not None:
            failing = errno[1] != 0
            self.errors.update(zip(cls[errno[0][failing]].tolist(),
                                    errno[1][failing].astype(np.int64).tolist(), strict=True))
        if not columns:
            return
        names = sorted(columns)
        values = np.full((n, len(names)), np.nan)
        for j, name in enumerate(names):
            rows, found = columns[name]
            values[rows, j] = found
        valid = ~np.isnan(values)
        scales = np.array([metric_scale(name) for name in names], np.float64)
        scaled = np.where(valid, np.rint(values * scales), 0).astype(np.int64)
        ok, by_class = valid[order], scaled[order]
        counts = np.add.reduceat(ok.astype(np.int64), starts, axis=0)
        totals = np.add.reduceat(by_class, starts, axis=0)
        lows = np.minimum.reduceat(np.where(ok, by_class, _I64_MAX), starts, axis=0)
        highs = np.maximum.reduceat(np.where(ok, by_class, _I64_MIN), starts, axis=0)
        keys = (uniq[inv] << KEY_BITS)[:, None] | _bucket_keys(values)
        for j, name in enumerate(names):
            metric = self.metric(name)
            metric.count[uniq] += counts[:, j]
            metric.total[uniq] += totals[:, j]
            metric.low[uniq] = np.minimum(metric.low[uniq], lows[:, j])
            metric.high[uniq] = np.maximum(metric.high[uniq], highs[:, j])
            bucket, weights = np.unique(keys[valid[:, j], j], return_counts=True)
            metric.add_buckets(bucket, weights.astype(np.int64))

        if "query_time" in columns:
            j = names.index("query_time")
            qt_scaled = np.where(valid[:, j], scaled[:, j], -1)
            best = np.maximum.reduceat(qt_scaled[order], starts)
            winners = np.flatnonzero(qt_scaled == best[inv])
            _, first = np.unique(inv[winners], return_index=True)
            for i in np.sort(winners[first]).tolist():
                sample = self.samples[cls[i]]
                if qt_scaled[i] > sample[0]:
                    self.samples[cls[i]] = [int(qt_scaled[i]), block.sqls[i], block.dbs[i], source,
                                             block.line(i)]

    def merge(self, other: Aggregate, line_shift: int = 0) -> None:
        """Add ``other`` (read after this one); shift its line numbers of its first file."""
        remap = self.class_ids(other.fingerprints)
        if len(remap):
            self.count[remap] += other.count
            self.first[remap] = np.minimum(self.first[remap], other.first)
            self.last[remap] = np.maximum(self.last[remap], other.last)
        for name, metric in other.metrics.items():
            mine = self.metric(name)
            mine.count[remap] += metric.count
            mine.total[remap] += metric.total
            mine.low[remap] = np.minimum(mine.low[remap], metric.low)
            mine.high[remap] = np.maximum(mine.high[remap], metric.high)
            keys, weights = metric.compact()
            if len(keys):
                mine.add_buckets((remap[keys >> KEY_BITS] << KEY_BITS) | (keys & KEY_MASK),
                                 weights)
        for (c, db, user, host), n in other.dims.items():
            self.dims[(int(remap[c]), db, user, host)] += n
        for (c, code), n in other.errors.items():
            self.errors[(int(remap[c]), code)] += n
        for (c, name), n in other.labels.items():
            self.labels[(int(remap[c]), name)] += n
        for c, sample in enumerate(other.samples):
            mine = self.samples[remap[c]]
            if sample[0] > mine[0]:
                shifted = list(sample)
                if shifted[3] == other.files[0]:
                    shifted[4] += line_shift
                self.samples[remap[c]] = shifted
        stats = other.stats
        if line_shift:
            stats.warnings = [(s, n + line_shift if s == other.files[0] else n, r)
                              for s, n, r in stats.warnings]
        self.stats.merge(stats)
        self.files.extend(f for f in other.files if not self.files or self.files[-1] != f)
        self.failed.extend(other.failed)
        self.filtered |= other.filtered
        self.read += other.read
        self.lines += other.lines

    def summary(self) -> dict[str, Any]:
        """Events, classes, lines, files, time span and what was skipped."""
        stats = self.stats
        timed_first = self.first[self.first != _I64_MAX]
        timed_last = self.last[self.last != _I64_MIN]
        first = us_to_datetime(int(timed_first.min())) if len(timed_first) else None
        last = us_to_datetime(int(timed_last.max())) if len(timed_last) else None
        span = (last - first).total_seconds() if first and last else 0.0
        events = int(self.count.sum())
        qt = self.metrics.get("query_time")
        total = int(qt.total.sum()) / 1e6 if qt is not None else 0.0
        return {
            "events": events,
            "classes": len(self.fingerprints),
            "skipped": stats.skipped,
            "warnings": [f"{s}:{n}: {r}" for s, n, r in stats.warnings],
            "warnings_total": stats.warnings_total,
            "lines": {"total": stats.lines, "events": stats.event_lines,
                      "banners_and_blank": stats.banner_lines, "skipped": stats.skipped_lines},
            "files": list(self.files),
            "first_seen": first,
            "last_seen": last,
            "span_seconds": span,
            "total_query_time": total,
            "qps": events / span if span > 0 else None,
            "bytes_read": stats.bytes_read,
            "inputs_failed": [dict(f) for f in self.failed],
        } | ({"events_read": self.read} if self.filtered else {})

    def build(self) -> list[QueryClass]:
        """All classes, ranked by total query time (then count, then id)."""
        n = len(self.fingerprints)
        stats_of: list[dict[str, dict[str, float]]] = [{} for _ in range(n)]
        for name in sorted(self.metrics, key=_metric_order):
            metric = self.metrics[name]
            scale = metric_scale(name)
            present = np.flatnonzero(metric.count)
            counts = metric.count[present]
            for c, count, total, low, high, p50, p95, p99 in zip(
                    present.tolist(), counts.tolist(), metric.total[present].tolist(),
                    metric.low[present].tolist(), metric.high[present].tolist(),
                    *_percentile_keys(metric, present, counts), strict=True):
                lo, hi = low / scale, high / scale
                entry = {"sum": total / scale, "min": lo, "max": hi,
                         "mean": total / scale / count}
                for label, key in (("p50", p50), ("p95", p95), ("p99", p99)):
                    v = 0.0 if key == _ZERO_KEY else _MAPPING.value(key - _KEY_OFFSET)
                    entry[label] = min(max(v, lo), hi)
                stats_of[c][name] = entry
        dims: list[tuple[Counter, Counter, Counter]] = [
            (Counter(), Counter(), Counter()) for _ in range(n)]
        for (c, db, user, host), k in self.dims.items():
            d = dims[c]
            if db is not None:
                d[0][db] += k
            if user is not None:
                d[1][user] += k
            if host is not None:
                d[2][host] += k
        errors: list[Counter] = [Counter() for _ in range(n)]
        for (c, code), k in self.errors.items():
            errors[c][str(code)] = k
        labels: list[Counter] = [Counter() for _ in range(n)]
        for (c, name), k in self.labels.items():
            labels[c][name] = k
        qt = self.metrics.get("query_time")
        total = int(qt.total.sum()) if qt is not None else 0
        out = []
        for c, fp in enumerate(self.fingerprints):
            m = stats_of[c]
            dbs, users, hosts = (_ranked_counts(x) for x in dims[c])
            sent = m.get("rows_sent", {}).get("sum")
            examined = m.get("rows_examined", {}).get("sum")
            qt_us, sql, sample_db, source, line = self.samples[c]
            out.append(QueryClass(
                id=class_id(fp),
                fingerprint=fp,
                count=int(self.count[c]),
                share=(int(qt.total[c]) / total) if qt is not None and total else 0.0,
                metrics=m,
                first_seen=_time_or_none(self.first[c], _I64_MAX),
                last_seen=_time_or_none(self.last[c], _I64_MIN),
                dbs=dbs, users=users, hosts=hosts,
                db=next(iter(dbs), None),
                sample=sql,
                sample_db=sample_db,
                sample_source=f"{source}:{line}" if source else "",
                rows_examined_per_sent=(examined / sent) if sent and examined is not None
                else None,
                errors=_ranked_counts(errors[c]),
                labels=_ranked_counts(labels[c]),
            ))
        out.sort(key=lambda q: (-q.metrics.get("query_time", {}).get("sum", 0.0), -q.count,
                                q.id))
        return out


def _percentile_keys(metric: Metric, present: np.ndarray, counts: np.ndarray
                     ) -> list[list[int]]:
    """The bucket keys (low bits) of the p50, p95 and p99 of each class in ``present``.

    Nearest rank (ceil(q x n), 1-based) over the class's buckets, found for every class
    at once: the classes' buckets are consecutive in the sorted store, so a search of the
    running total of all weights for (weights before the class + rank) lands in the
    class's buckets, on the one a search of the class's own running total finds.
    """
    keys, weights = metric.compact()
    starts = np.searchsorted(keys >> KEY_BITS, present)
    running = np.cumsum(weights)
    before = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0)
    return [(keys[np.searchsorted(running, before - (-percent * counts // 100), side="left")]
             & KEY_MASK).tolist() for percent in (50, 95, 99)]


def _metric_order(name: str) -> tuple[int, str]:
    return (CORE_METRICS.index(name) if name in CORE_METRICS else len(CORE_METRICS), name)


def _ranked_counts(counter: Counter) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _time_or_none(value: np.int64, sentinel: int) -> datetime | None:
    return None if value == sentinel else us_to_datetime(int(value))


