"""The nightly history: one SQLite file, one row per (day, query class), one state per day.

Tables (schema version :data:`SCHEMA_VERSION`, kept in ``meta``):

- ``days``: one row per reported day: source, events, classes, total query time, the
  advice of that night (JSON, the shared Advice shape) and the day's **mergeable state**
  (``state_format`` + ``state``, an opaque blob; NULL for performance_schema days);
- ``classes``: one row per (day, class id): count, sums, min/max, p50/p95/p99 of
  query_time, the sample. Trends and findings read these plain columns.

Re-aggregating any range of days merges the days' states (:meth:`History.digest`): counts
and sums exactly, quantiles from the merged sketch buckets (DDSketch, 1% relative error),
which is a percentile of the whole range, not an average of daily percentiles.

A file written by a newer schema is refused with a clear message and never written; a
day whose state this dbtune cannot read keeps its plain columns (see :meth:`History.digest`).

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "h.sqlite")
>>> with History(path) as h:
...     h.days()
[]
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from dbtune import __version__
from dbtune.model import InputError

SCHEMA_VERSION = 1
#: How a day's mergeable state is encoded: the digest object, pickled and zlib-compressed,
#: readable by the dbtune version that wrote it (the format carries the version).
STATE_FORMAT = f"dbtune-digest-pickle/{__version__}"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE days (
    day TEXT PRIMARY KEY, written_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    dbtune_version TEXT NOT NULL, source TEXT NOT NULL, events INTEGER NOT NULL,
    classes INTEGER NOT NULL, total_query_time REAL NOT NULL, advice TEXT NOT NULL,
    state_format TEXT, state BLOB);
CREATE TABLE classes (
    day TEXT NOT NULL REFERENCES days(day) ON DELETE CASCADE, class_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL, count INTEGER NOT NULL, total REAL NOT NULL,
    min REAL, max REAL, p50 REAL, p95 REAL, p99 REAL, lock_time REAL,
    rows_examined REAL, rows_sent REAL, sample TEXT, sample_db TEXT, sample_source TEXT,
    PRIMARY KEY (day, class_id));
CREATE INDEX classes_by_class ON classes (class_id, day);
"""


class HistoryError(InputError):
    """A history file that cannot be used (not a history, a newer schema, ...)."""


@dataclass
class ClassStats:
    """One class on one day: the plain columns of the history (times in seconds).

    >>> ClassStats("A1", "select ?", count=4, total=0.5).mean
    0.125
    """

    class_id: str
    fingerprint: str
    count: int
    total: float
    min: float | None = None
    max: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    lock_time: float | None = None
    rows_examined: float | None = None
    rows_sent: float | None = None
    sample: str = ""
    sample_db: str | None = None
    sample_source: str = ""
    day: date | None = None

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    @classmethod
    def of(cls, query_class: Any, day: date | None = None) -> ClassStats:
        """The plain columns of a QueryClass (slow log or performance_schema)."""
        qt = query_class.metrics.get("query_time", {})

        def total(name: str) -> float | None:
            return query_class.metrics.get(name, {}).get("sum")

        return cls(class_id=query_class.id, fingerprint=query_class.fingerprint,
                   count=query_class.count, total=qt.get("sum", 0.0), min=qt.get("min"),
                   max=qt.get("max"), p50=qt.get("p50"), p95=qt.get("p95"), p99=qt.get("p99"),
                   lock_time=total("lock_time"), rows_examined=total("rows_examined"),
                   rows_sent=total("rows_sent"), sample=query_class.sample or "",
                   sample_db=query_class.sample_db, sample_source=query_class.sample_source,
                   day=day)


_COLUMNS = [f.name for f in fields(ClassStats) if f.name != "day"]


@dataclass
class DayInfo:
    """One reported day of the history."""

    day: date
    source: str
    events: int
    classes: int
    total_query_time: float
    dbtune_version: str
    mergeable: bool


class History:
    """A nightly history in a SQLite file (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        exists = self.path.exists() and self.path.stat().st_size > 0
        try:
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA foreign_keys = ON")
            if exists:
                self._check()
            else:
                with self._db:
                    self._db.executescript(_SCHEMA)
                    self._db.executemany("INSERT INTO meta VALUES (?, ?)",
                                         [("schema_version", str(SCHEMA_VERSION)),
                                          ("created_by", f"dbtune {__version__}")])
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"{self.path}: not a dbtune history ({exc})") from None

    def _check(self) -> None:
        try:
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError:
            raise HistoryError(f"{self.path}: not a dbtune history (no meta table); give "
                               f"another --history file") from None
        version = int(meta.get("schema_version", 0))
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"{self.path}: history schema {version} was written by a newer dbtune "
                f"({meta.get('created_by', '?')}); this dbtune {__version__} reads schema "
                f"{SCHEMA_VERSION}: upgrade dbtune (the file is left as it is)")
        if version < 1:
            raise HistoryError(f"{self.path}: not a dbtune history (schema_version "
                               f"{meta.get('schema_version')!r})")

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ writing
    def write_day(self, day: date, classes: Any, *, advice: Sequence[Any] = (),
                  source: str = "slowlog") -> None:
        """Store (or replace) ``day``: every class of ``classes`` (a ClassSet), its advice
        (Advice objects) and, when ``classes`` can merge (a slow-log digest), its state.

        One transaction: a failed write leaves the previous contents as they were.
        """
        stats = [ClassStats.of(c, day) for c in classes.classes]
        summary = classes.summary
        state = (zlib.compress(pickle.dumps(classes, protocol=pickle.HIGHEST_PROTOCOL), 1)
                 if hasattr(classes, "merge") else None)
        advice_json = json.dumps([a.to_dict() if hasattr(a, "to_dict") else a for a in advice],
                                 default=str)
        with self._db:
            self._db.execute("DELETE FROM days WHERE day = ?", (day.isoformat(),))
            self._db.execute(
                "INSERT INTO days (day, dbtune_version, source, events, classes, "
                "total_query_time, advice, state_format, state) VALUES (?,?,?,?,?,?,?,?,?)",
                (day.isoformat(), __version__, source, int(summary.get("events", 0)),
                 len(stats), float(summary.get("total_query_time", 0.0)), advice_json,
                 STATE_FORMAT if state is not None else None, state))
            self._db.executemany(
                f"INSERT INTO classes (day, {', '.join(_COLUMNS)}) "
                f"VALUES (?, {', '.join('?' * len(_COLUMNS))})",
                [(day.isoformat(), *(getattr(s, c) for c in _COLUMNS)) for s in stats])

    def prune(self, keep_days: int, today: date) -> list[date]:
        """Drop days older than ``keep_days`` before ``today``; the days dropped."""
        cutoff = (today - timedelta(days=keep_days)).isoformat()
        gone = [date.fromisoformat(d) for (d,) in
                self._db.execute("SELECT day FROM days WHERE day <= ? ORDER BY day", (cutoff,))]
        with self._db:
            self._db.execute("DELETE FROM days WHERE day <= ?", (cutoff,))
        return gone

    # ------------------------------------------------------------------ reading
    def days(self) -> list[DayInfo]:
        """Every stored day, oldest first."""
        return [DayInfo(date.fromisoformat(d), source, events, classes, total, version,
                        fmt == STATE_FORMAT)
                for d, source, events, classes, total, version, fmt in self._db.execute(
                    "SELECT day, source, events, classes, total_query_time, dbtune_version, "
                    "state_format FROM days ORDER BY day")]

    def class_days(self, first: date | None = None, last: date | None = None,
                   class_ids: Iterable[str] | None = None) -> list[ClassStats]:
        """Plain per-class rows of the days in ``[first, last]``, oldest day first."""
        where, args = self._range(first, last)
        if class_ids is not None:
            ids = list(class_ids)
            where += f" AND class_id IN ({', '.join('?' * len(ids))})"
            args += ids
        rows = self._db.execute(f"SELECT day, {', '.join(_COLUMNS)} FROM classes "
                                f"WHERE {where} ORDER BY day, total DESC", args)
        return [ClassStats(**dict(zip(_COLUMNS, r[1:], strict=True)),
                           day=date.fromisoformat(r[0])) for r in rows]

    def advice(self, day: date) -> list[dict[str, Any]] | None:
        """The advice stored for ``day`` (dicts of the Advice shape), None if no such day."""
        row = self._db.execute("SELECT advice FROM days WHERE day = ?",
                               (day.isoformat(),)).fetchone()
        return None if row is None else json.loads(row[0])

    def digest(self, first: date | None = None, last: date | None = None):
        """The days in ``[first, last]`` re-aggregated: one digest merged from their states.

        Raises HistoryError naming the days whose state is missing or unreadable (days
        from performance_schema, or written by another dbtune version).
        """
        where, args = self._range(first, last)
        rows = self._db.execute(f"SELECT day, state_format, state FROM days WHERE {where} "
                                f"ORDER BY day", args).fetchall()
        if not rows:
            raise HistoryError(f"{self.path}: no day in the range {first} .. {last}")
        unreadable = [d for d, fmt, _ in rows if fmt != STATE_FORMAT]
        if unreadable:
            raise HistoryError(
                f"{self.path}: no mergeable state this dbtune {__version__} can read for "
                f"{', '.join(unreadable)} (performance_schema days, or written by another "
                f"version): only their plain columns can be used")
        merged = None
        for day, _, blob in rows:
            try:
                part = pickle.loads(zlib.decompress(blob))
            except Exception as exc:  # noqa: BLE001 - any undecodable state is the same case
                raise HistoryError(f"{self.path}: the mergeable state of {day} cannot be read "
                                   f"by this dbtune ({type(exc).__name__}: {exc}); only its "
                                   f"plain columns can be used") from None
            merged = part if merged is None else merged.merge(part)
        return merged

    def _range(self, first: date | None, last: date | None) -> tuple[str, list[Any]]:
        where, args = "1", []
        if first is not None:
            where += " AND day >= ?"
            args.append(first.isoformat())
        if last is not None:
            where += " AND day <= ?"
            args.append(last.isoformat())
        return where, args


def stats_dict(stats: ClassStats) -> dict[str, Any]:
    """A JSON-ready dict of one class-day."""
    out = asdict(stats)
    out["day"] = stats.day.isoformat() if stats.day else None
    return out
