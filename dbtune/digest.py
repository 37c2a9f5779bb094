"""Aggregate slow-log events into query classes, with exact and mergeable state.

Events are grouped by pt-query-digest's fingerprint. Per class and numeric metric the
state keeps count, sum, min and max as integers (times in microseconds, counts as
they are), and a DDSketch store (``ddsketch``'s LogarithmicMapping, relative accuracy
0.01, as sorted ``bucket key -> count`` arrays) for p50/p95/p99. Integer state merges
exactly, so a digest of several files or byte ranges equals the digest of one log.

Blocks of entries are aggregated column-wise with numpy; the statement text is only
fingerprinted, through a cache keyed on the text with digits and simple quoted strings
replaced (the fingerprint replaces those anyway, see :func:`prekey`).
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from ddsketch.mapping import LogarithmicMapping

from dbtune.ingest.slowlog import (
    EPOCH,
    NO_TIME,
    NOT_METRICS,
    Block,
    Scanner,
    ScanStats,
    check_is_slowlog,
    expand_paths,
    iter_blocks,
    open_input,
    us_to_datetime,
)
from dbtune.model import CORE_METRICS, STATS

RELATIVE_ACCURACY = 0.01
#: Quantile bucket keys live in the low bits of a composite ``class << 24 | key``.
_KEY_BITS = 24
_KEY_OFFSET = 1 << (_KEY_BITS - 1)
_KEY_MASK = (1 << _KEY_BITS) - 1
_ZERO_KEY = 0  # values <= 0 (DDSketch's zero bucket); positive keys are >= 1 after offset
_I64_MAX = np.iinfo(np.int64).max
_I64_MIN = np.iinfo(np.int64).min
_MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)
# LogarithmicMapping.key(v) = ceil(log2(v) * multiplier) (offset 0), vectorised below.
_MULTIPLIER = _MAPPING._multiplier
_COMPACT_AT = 1 << 14
#: Inputs smaller than this are read by one process.
MIN_PARALLEL_BYTES = 16 << 20

_DIGITS = re.compile(r"[0-9]+")
_QUOTED = re.compile(r"'[^']*'")
_NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")
_PREKEY_UNSAFE = re.compile(r"\s*call\s|administrator command:", re.I)


def prekey(sql: str) -> str:
    """A cache key with ``fingerprint(prekey(s)) == fingerprint(s)``.

    Digit runs become ``0`` (the fingerprint makes any digit run ``?``). Single-quoted
    strings become ``''`` when the statement has no double quote or backslash (so
    quotes pair left to right exactly as the fingerprint pairs them) and the string
    holds no parenthesis (which the multi-row INSERT rule could see). Statements with
    comments, CALL or admin commands are keyed as written.
    """
    if "/*" in sql or _PREKEY_UNSAFE.match(sql):
        return sql
    key = _DIGITS.sub("0", sql)
    if "'" in key and '"' not in key and "\\" not in key:
        key = _QUOTED.sub(_empty_string, key)
    return key


def _empty_string(m: re.Match) -> str:
    token = m.group()
    return token if "(" in token or ")" in token else "''"


def metric_scale(name: str) -> int:
    """Integer units per metric unit: microseconds for times and waits, else 1."""
    return 1_000_000 if name.endswith(("_time", "_wait")) else 1


@dataclass(slots=True)
class _Metric:
    """Per-class arrays of one metric, indexed like ``_State.fingerprints``."""

    count: np.ndarray
    total: np.ndarray
    low: np.ndarray
    high: np.ndarray
    keys: list[np.ndarray] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)
    pending: int = 0

    @classmethod
    def empty(cls, size: int) -> _Metric:
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
        self.pending = len(self.keys[0])
        return self.keys[0], self.weights[0]


@dataclass
class _State:
    """The mergeable aggregate of a stream of entries (picklable, no pandas)."""

    fingerprints: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    first: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    metrics: dict[str, _Metric] = field(default_factory=dict)
    dims: Counter = field(default_factory=Counter)  # (class, db, user, host) -> events
    # per class: [query_time µs, sql, db, source, line] of the slowest event, first wins ties
    samples: list[list[Any]] = field(default_factory=list)
    stats: ScanStats = field(default_factory=ScanStats)
    files: list[str] = field(default_factory=list)
    lines: int = 0  # lines of the range this state read (to renumber ranges on merge)

    def class_ids(self, fingerprints: Iterable[str]) -> np.ndarray:
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

    def metric(self, name: str) -> _Metric:
        found = self.metrics.get(name)
        if found is None:
            found = self.metrics[name] = _Metric.empty(len(self.fingerprints))
        return found


class _Fingerprinter:
    """Class ids of a block's statements: fingerprints cached under their prekeys."""

    def __init__(self, limit: int = 20_000) -> None:
        from dbtune.fingerprint import fingerprint_many

        self._many = fingerprint_many
        self._cache: dict[str, str] = {}
        self._limit = limit

    def __call__(self, state: _State, sqls: list[str]) -> np.ndarray:
        """The class index in ``state`` of each statement (new classes are added)."""
        keys = _prekeys(sqls)
        distinct = list(dict.fromkeys(keys))
        cache = self._cache
        missing = [k for k in distinct if k not in cache]
        if missing:
            if len(cache) + len(missing) > self._limit:
                cache.clear()
            wanted = set(missing)
            first: dict[str, str] = {}
            for key, sql in zip(keys, sqls, strict=True):
                if key in wanted and key not in first:
                    first[key] = sql
            cache.update(zip(missing, self._many([first[k] for k in missing]), strict=True))
        ids = dict(zip(distinct, state.class_ids([cache[k] for k in distinct]).tolist(),
                       strict=True))
        return np.fromiter(map(ids.__getitem__, keys), np.int64, len(keys))


# Statements prekey keeps as written (CALL, admin commands with digits or quotes).
_CALL_IN_BLOCK = re.compile(r"\x00\s*call\s", re.I)
_ADMIN_IN_BLOCK = re.compile(r"\x00administrator command:[^\x00]*?[0-9']", re.I)
_QUOTED_BLOCK = re.compile(r"'[^'\x00]*'")
_ZERO_DIGITS = str.maketrans("123456789", "000000000")
_ZEROS = re.compile("00+")


def _prekeys(sqls: list[str]) -> list[str]:
    """``prekey`` of each statement, by two substitutions over the whole block."""
    joined = "\x00".join(sqls)
    if ('"' in joined or "\\" in joined or "/*" in joined
            or joined.count("\x00") != len(sqls) - 1):
        return [prekey(s) for s in sqls]
    digits = _ZEROS.sub("0", joined.translate(_ZERO_DIGITS))  # as _DIGITS.sub("0", joined)
    parts = digits.split("'")
    strings = "".join(parts[1::2])
    if len(parts) % 2 and "\x00" not in strings and "(" not in strings and ")" not in strings:
        blanked = "''".join(parts[::2])  # quotes pair within each statement
    else:
        blanked = _QUOTED_BLOCK.sub(_empty_string, digits)
    keys = blanked.split("\x00")
    if (_PREKEY_UNSAFE.match(joined) or _CALL_IN_BLOCK.search(joined)
            or _ADMIN_IN_BLOCK.search(joined)):
        for i, sql in enumerate(sqls):
            if _PREKEY_UNSAFE.match(sql):
                keys[i] = sql
    return keys


#: One fingerprint cache per process, shared by the inputs and ranges it reads.
_FINGERPRINTER: _Fingerprinter | None = None


@dataclass(frozen=True)
class Filters:
    """Which events to keep: a time window and exact db/user/host matches."""

    since: int | None = None
    until: int | None = None
    database: str | None = None
    user: str | None = None
    host: str | None = None

    def active(self) -> bool:
        return any(v is not None for v in (self.since, self.until, self.database, self.user,
                                           self.host))

    def mask(self, block: Block) -> np.ndarray:
        """Which entries of ``block`` to keep."""
        keep = np.ones(len(block), bool)
        times = block.times
        if self.since is not None:
            keep &= (times != NO_TIME) & (times >= self.since)
        if self.until is not None:
            keep &= (times != NO_TIME) & (times <= self.until)
        if self.database is not None:
            keep &= np.array([db == self.database for db in block.dbs], bool)
        if self.user is not None or self.host is not None:
            ok = {p for p, (user, host) in block.who.items()
                  if (self.user is None or user == self.user)
                  and (self.host is None or host == self.host)}
            keep &= np.array([p in ok for p in block.people], bool)
        return keep


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
        if _NUMBER.fullmatch(column[i]):
            out[i] = float(column[i])
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


def _aggregate(state: _State, block: Block, fingerprint: _Fingerprinter,
               source: str) -> None:
    """Add one block of entries to ``state``."""
    n = len(block)
    if not n:
        return
    cls = fingerprint(state, block.sqls)
    uniq, inv = np.unique(cls, return_inverse=True)
    # per-class reductions over the entries sorted by class (every class of uniq occurs)
    order = np.argsort(inv, kind="stable")
    starts = np.flatnonzero(np.r_[True, inv[order][1:] != inv[order][:-1]])
    state.count[uniq] += np.diff(np.r_[starts, n])

    times = block.times[order]
    timed = times != NO_TIME
    low = np.minimum.reduceat(times, starts)  # NO_TIME is the int64 maximum
    high = np.maximum.reduceat(np.where(timed, times, _I64_MIN), starts)
    state.first[uniq] = np.minimum(state.first[uniq], low)
    state.last[uniq] = np.maximum(state.last[uniq], high)

    who = block.who
    dims = state.dims
    for (c, db, person), k in Counter(zip(cls.tolist(), block.dbs, block.people,
                                          strict=True)).items():
        dims[(c, db, *who[person])] += k

    columns = {k: v for k, v in _columns(block).items() if len(v[0])}
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
    keys = (uniq[inv] << _KEY_BITS)[:, None] | _bucket_keys(values)
    for j, name in enumerate(names):
        metric = state.metric(name)
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
            sample = state.samples[cls[i]]
            if qt_scaled[i] > sample[0]:
                state.samples[cls[i]] = [int(qt_scaled[i]), block.sqls[i], block.dbs[i], source,
                                         block.line(i)]


def _read(name: str, start: int, limit: int | None, filters: Filters,
          progress: Any = None) -> _State:
    """The state of one input (or of the byte range [start, start+limit) of a file)."""
    global _FINGERPRINTER
    state = _State(files=[name])
    scanner = Scanner(name)
    if _FINGERPRINTER is None:
        _FINGERPRINTER = _Fingerprinter()
    fingerprint = _FINGERPRINTER
    with _Input(name) as stream, _gc_paused():
        if start:
            stream.seek(start)
        for text, raw in iter_blocks(stream, limit):
            scanner.stats.bytes_read += raw
            block = scanner.scan_block(text)
            if start == 0:
                check_is_slowlog(scanner)
            if filters.active():
                block = block.take(filters.mask(block))
            _aggregate(state, block, fingerprint, name)
            if progress is not None:
                progress.update(raw)
    if start == 0:
        check_is_slowlog(scanner, final=True)
    state.stats = scanner.stats
    state.lines = scanner.line - 1
    return state


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while reading: blocks make many short-lived, acyclic objects
    (freed by reference counting) and generation scans only cost time (~15% measured)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Input:
    """Context manager over open_input that leaves stdin open."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stream = open_input(name)

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc: object) -> None:
        if self.name != "-":
            self.stream.close()


def _merge(into: _State, other: _State, line_shift: int = 0) -> None:
    """Add ``other`` (read after ``into``) into ``into``; shift its line numbers."""
    remap = into.class_ids(other.fingerprints)
    if len(remap):
        into.count[remap] += other.count
        into.first[remap] = np.minimum(into.first[remap], other.first)
        into.last[remap] = np.maximum(into.last[remap], other.last)
    for name, metric in other.metrics.items():
        mine = into.metric(name)
        mine.count[remap] += metric.count
        mine.total[remap] += metric.total
        mine.low[remap] = np.minimum(mine.low[remap], metric.low)
        mine.high[remap] = np.maximum(mine.high[remap], metric.high)
        keys, weights = metric.compact()
        if len(keys):
            mine.add_buckets((remap[keys >> _KEY_BITS] << _KEY_BITS) | (keys & _KEY_MASK),
                             weights)
    for (c, db, user, host), n in other.dims.items():
        into.dims[(int(remap[c]), db, user, host)] += n
    for c, sample in enumerate(other.samples):
        mine = into.samples[remap[c]]
        if sample[0] > mine[0]:
            shifted = list(sample)
            if shifted[3] == other.files[0]:
                shifted[4] += line_shift
            into.samples[remap[c]] = shifted
    stats = other.stats
    if line_shift:
        stats.warnings = [(s, n + line_shift if s == other.files[0] else n, r)
                          for s, n, r in stats.warnings]
    into.stats.merge(stats)
    into.files.extend(f for f in other.files if not into.files or into.files[-1] != f)
    into.lines += other.lines


def _ranges(name: str, jobs: int) -> list[tuple[int, int | None]]:
    """Byte ranges of a plain file that start at entries with a ``# Time:`` line."""
    if name == "-" or jobs < 2:
        return [(0, None)]
    size = os.path.getsize(name)
    with open(name, "rb") as fh:
        if size < MIN_PARALLEL_BYTES or fh.read(2) == b"\x1f\x8b":
            return [(0, None)]
        parts = max(jobs * 4, 2)
        cuts = [0]
        for k in range(1, parts):
            cut = _next_time_entry(fh, size * k // parts)
            if cut is not None and cut > cuts[-1]:
                cuts.append(cut)
    cuts.append(size)
    return [(a, b - a) for a, b in zip(cuts, cuts[1:], strict=False)]


def _next_time_entry(fh, offset: int, window: int = 1 << 20) -> int | None:
    """Offset of the first ``# Time:`` entry start at or after ``offset``, else None."""
    fh.seek(offset)
    carry = b""
    base = offset
    while True:
        chunk = fh.read(window)
        if not chunk:
            return None
        data = carry + chunk
        hits = [i for i in (data.find(b";\n# Time:"), data.find(b";\r\n# Time:")) if i >= 0]
        if hits:
            i = min(hits)
            return base - len(carry) + i + (2 if data[i + 1] == 10 else 3)
        carry = data[-16:]
        base += len(chunk)


def _read_task(task: tuple[str, int, int | None, Filters]) -> _State:
    return _read(*task)


@dataclass
class QueryClass:
    """One query class: events with the same fingerprint, and their statistics."""

    id: str
    fingerprint: str
    count: int
    share: float
    metrics: dict[str, dict[str, float]]
    first_seen: datetime | None
    last_seen: datetime | None
    dbs: dict[str, int]
    users: dict[str, int]
    hosts: dict[str, int]
    db: str | None
    sample: str
    sample_db: str | None
    sample_source: str
    rows_examined_per_sent: float | None
    _tables: list[str] | None = field(default=None, repr=False)

    @property
    def tables(self) -> list[str]:
        """Tables the sample touches (sqlglot, parsed once per class on first use)."""
        if self._tables is None:
            from dbtune.parsing import tables_in

            self._tables = tables_in(self.sample)
        return self._tables

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO strings)."""
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "count": self.count,
            "share": self.share,
            "db": self.db,
            "dbs": self.dbs,
            "users": self.users,
            "hosts": self.hosts,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "sample": self.sample,
            "sample_db": self.sample_db,
            "sample_source": self.sample_source,
            "tables": self.tables,
            "rows_examined_per_sent": self.rows_examined_per_sent,
            "metrics": self.metrics,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class ClassSet:
    """Ranked query classes and a summary: what every source of classes reports.

    Slow-log digests and performance_schema snapshots both are ClassSets, so they rank,
    tabulate and render the same way.
    """

    @property
    def classes(self) -> list[QueryClass]:
        raise NotImplementedError

    @property
    def summary(self) -> dict[str, Any]:
        raise NotImplementedError

    def ranked(self, order_by: str = "query_time:sum", top: int | None = None,
               min_count: int = 1) -> list[QueryClass]:
        """Classes sorted by ``metric:stat`` (or ``count``) descending, at least min_count."""
        if order_by == "count":
            def value(c: QueryClass) -> float:
                return c.count
        else:
            metric, _, stat = order_by.partition(":")
            stat = stat or "sum"
            if stat not in STATS:
                raise ValueError(f"unknown statistic {stat!r} in {order_by!r}")

            def value(c: QueryClass) -> float:
                found = c.metrics.get(metric, {}).get(stat)
                return -math.inf if found is None else found
        chosen = [c for c in self.classes if c.count >= min_count]
        chosen.sort(key=lambda c: (-value(c), -c.count, c.id))
        return chosen if top is None else chosen[:top]

    def to_frame(self):
        """One row per class ranked by query time: the columns documented in the module."""
        import pandas as pd

        rows = []
        for c in self.classes:
            row = {k: v for k, v in c.to_dict().items() if k != "metrics"}
            row["first_seen"], row["last_seen"] = c.first_seen, c.last_seen
            for metric, stats in c.metrics.items():
                for stat in STATS:
                    row[f"{metric}_{stat}"] = stats.get(stat)
            rows.append(row)
        return pd.DataFrame(rows)


class Digest(ClassSet):
    """The digest of one or more slow logs: summary, classes, merge, DataFrame."""

    def __init__(self, state: _State) -> None:
        self._state = state
        self._classes: list[QueryClass] | None = None

    @property
    def classes(self) -> list[QueryClass]:
        """All classes, ranked by total query time (then count, then id)."""
        if self._classes is None:
            self._classes = self._build()
        return self._classes

    @property
    def summary(self) -> dict[str, Any]:
        state = self._state
        stats = state.stats
        timed_first = state.first[state.first != _I64_MAX]
        timed_last = state.last[state.last != _I64_MIN]
        first = us_to_datetime(int(timed_first.min())) if len(timed_first) else None
        last = us_to_datetime(int(timed_last.max())) if len(timed_last) else None
        span = (last - first).total_seconds() if first and last else 0.0
        events = int(state.count.sum())
        qt = state.metrics.get("query_time")
        total = int(qt.total.sum()) / 1e6 if qt is not None else 0.0
        return {
            "events": events,
            "classes": len(state.fingerprints),
            "skipped": stats.skipped,
            "warnings": [f"{s}:{n}: {r}" for s, n, r in stats.warnings],
            "warnings_total": stats.warnings_total,
            "lines": {"total": stats.lines, "events": stats.event_lines,
                      "banners_and_blank": stats.banner_lines, "skipped": stats.skipped_lines},
            "files": list(state.files),
            "first_seen": first,
            "last_seen": last,
            "span_seconds": span,
            "total_query_time": total,
            "qps": events / span if span > 0 else None,
            "bytes_read": stats.bytes_read,
        }

    def merge(self, other: Digest) -> Digest:
        """A new digest of this log followed by ``other``'s (exact)."""
        import copy

        state = copy.deepcopy(self._state)
        _merge(state, copy.deepcopy(other._state))
        return Digest(state)

    def _build(self) -> list[QueryClass]:
        from dbtune.fingerprint import class_id

        state = self._state
        n = len(state.fingerprints)
        stats_of: list[dict[str, dict[str, float]]] = [{} for _ in range(n)]
        for name in sorted(state.metrics, key=_metric_order):
            metric = state.metrics[name]
            keys, weights = metric.compact()
            owners = keys >> _KEY_BITS
            bounds = np.searchsorted(owners, np.arange(n + 1))
            scale = metric_scale(name)
            for c in np.flatnonzero(metric.count).tolist():
                count = int(metric.count[c])
                lo, hi = metric.low[c] / scale, metric.high[c] / scale
                entry = {"sum": int(metric.total[c]) / scale, "min": lo, "max": hi,
                         "mean": int(metric.total[c]) / scale / count}
                a, b = bounds[c], bounds[c + 1]
                cum = np.cumsum(weights[a:b])
                for percent, label in ((50, "p50"), (95, "p95"), (99, "p99")):
                    rank = -(-percent * count // 100)  # nearest rank: ceil(q x n), 1-based
                    key = int(keys[a + np.searchsorted(cum, rank, side="left")])
                    key &= _KEY_MASK
                    v = 0.0 if key == _ZERO_KEY else _MAPPING.value(key - _KEY_OFFSET)
                    entry[label] = min(max(v, lo), hi)
                stats_of[c][name] = entry
        dims: list[tuple[Counter, Counter, Counter]] = [
            (Counter(), Counter(), Counter()) for _ in range(n)]
        for (c, db, user, host), k in state.dims.items():
            d = dims[c]
            if db is not None:
                d[0][db] += k
            if user is not None:
                d[1][user] += k
            if host is not None:
                d[2][host] += k
        qt = state.metrics.get("query_time")
        total = int(qt.total.sum()) if qt is not None else 0
        out = []
        for c, fp in enumerate(state.fingerprints):
            m = stats_of[c]
            dbs, users, hosts = (_ranked_counts(x) for x in dims[c])
            sent = m.get("rows_sent", {}).get("sum")
            examined = m.get("rows_examined", {}).get("sum")
            qt_us, sql, sample_db, source, line = state.samples[c]
            out.append(QueryClass(
                id=class_id(fp),
                fingerprint=fp,
                count=int(state.count[c]),
                share=(int(qt.total[c]) / total) if qt is not None and total else 0.0,
                metrics=m,
                first_seen=_time_or_none(state.first[c], _I64_MAX),
                last_seen=_time_or_none(state.last[c], _I64_MIN),
                dbs=dbs, users=users, hosts=hosts,
                db=next(iter(dbs), None),
                sample=sql,
                sample_db=sample_db,
                sample_source=f"{source}:{line}" if source else "",
                rows_examined_per_sent=(examined / sent) if sent and examined is not None
                else None,
            ))
        out.sort(key=lambda q: (-q.metrics.get("query_time", {}).get("sum", 0.0), -q.count,
                                q.id))
        return out


def _metric_order(name: str) -> tuple[int, str]:
    return (CORE_METRICS.index(name) if name in CORE_METRICS else len(CORE_METRICS), name)


def _ranked_counts(counter: Counter) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _time_or_none(value: np.int64, sentinel: int) -> datetime | None:
    return None if value == sentinel else us_to_datetime(int(value))


def _to_us(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return (value - EPOCH) // timedelta(microseconds=1)


def digest_slowlog(
    paths: str | Path | list,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    database: str | None = None,
    user: str | None = None,
    host: str | None = None,
    jobs: int | None = None,
    progress: bool = False,
) -> Digest:
    """Digest slow logs (paths, globs, ``.gz``, ``-`` for stdin) into query classes.

    ``since``/``until`` compare with event times (naive = the log's clock; aware values
    are converted to UTC); events without any time are dropped by a time filter.
    ``jobs`` worker processes (default: 1 below 16 MB, else up to 4 by CPU count) read
    byte ranges of large plain files; the result does not depend on it.
    """
    names = expand_paths(paths)
    filters = Filters(_to_us(since), _to_us(until), database, user, host)
    if jobs is None:
        big = sum(os.path.getsize(n) for n in names if n != "-" and os.path.isfile(n))
        jobs = 1 if big < MIN_PARALLEL_BYTES else min(os.cpu_count() or 1, 4)
    jobs = max(1, jobs)
    tasks = [(name, start, limit, filters)
             for name in names for start, limit in _ranges(name, jobs)]
    bar = _progress_bar(names) if progress else None
    state = _State()
    try:
        if jobs == 1 or len(tasks) == 1:
            for task in tasks:
                _merge_ordered(state, _read(*task, progress=bar), task)
        else:
            context = multiprocessing.get_context("spawn")
            with context.Pool(min(jobs, len(tasks))) as pool:
                for task, part in zip(tasks, pool.imap(_read_task, tasks), strict=True):
                    if bar is not None:
                        bar.update(part.stats.bytes_read)
                    _merge_ordered(state, part, task)
    finally:
        if bar is not None:
            bar.close()
    return Digest(state)


def _merge_ordered(state: _State, part: _State, task: tuple) -> None:
    """Merge the state of a task; ranges after the first of a file continue its lines."""
    shift = state.lines if task[1] else 0
    if not task[1]:
        state.lines = 0
    _merge(state, part, shift)


def _progress_bar(names: list[str]):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    size = sum(os.path.getsize(n) for n in names if n != "-" and os.path.isfile(n))
    return tqdm(total=size or None, unit="B", unit_scale=True, file=sys.stderr,
                desc="slow log")
