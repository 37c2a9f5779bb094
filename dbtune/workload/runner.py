"""Replay statements against a server: closed-loop threads, one connection each.

>>> result = run_workload(server, marketplace_spec(1.0), count=2000)   # doctest: +SKIP
>>> result.mean_ms, result.to_frame().head()                           # doctest: +SKIP

The same engine drives ``dbtune workload run`` and ``dbtune bench``: it takes a workload
spec or any iterable of (name, sql) pairs, and reports per-name latencies in milliseconds.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pymysql

from dbtune.sandbox.errors import NotDisposableError
from dbtune.workload.spec import WorkloadSpec

_READ = re.compile(r"^\s*(?:/\*.*?\*/\s*|\(\s*)*(SELECT|WITH|SHOW|EXPLAIN|DESCRIBE|DESC)\b",
                   re.IGNORECASE | re.DOTALL)
_LOCKING = re.compile(r"\bFOR\s+UPDATE\b|\bINTO\s+(OUTFILE|DUMPFILE)\b", re.IGNORECASE)
_LOST = (2006, 2013, 2055)


def is_write(sql: str) -> bool:
    """True unless the statement is a plain read (SELECT/WITH/SHOW/EXPLAIN/DESCRIBE)."""
    return not _READ.match(sql) or bool(_LOCKING.search(sql))


@dataclass
class WorkloadResult:
    """What a replay measured: per-name latencies (ms), errors and rows, and the wall time."""

    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0
    concurrency: int = 1

    @property
    def statements(self) -> int:
        """Statements measured (errors included)."""
        return sum(map(len, self.latencies_ms.values())) + sum(self.errors.values())

    @property
    def throughput(self) -> float:
        """Statements per second over the measured wall time."""
        return self.statements / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def mean_ms(self) -> float:
        """Mean latency of all successful statements, in milliseconds."""
        values = [v for lat in self.latencies_ms.values() for v in lat]
        return float(np.mean(values)) if values else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """One row per name: count, errors, rows, total/mean/p50/p95/p99/max ms and share of
        total time, heaviest first."""
        names = sorted(set(self.latencies_ms) | set(self.errors))
        total = sum(sum(v) for v in self.latencies_ms.values()) or 1.0
        records = []
        for name in names:
            lat = np.asarray(self.latencies_ms.get(name, []), dtype=float)
            p50, p95, p99 = np.percentile(lat, [50, 95, 99]) if lat.size else (np.nan,) * 3
            records.append({
                "name": name, "kind": self.kinds.get(name, ""), "count": int(lat.size),
                "errors": self.errors.get(name, 0), "rows": self.rows.get(name, 0),
                "total_ms": float(lat.sum()), "mean_ms": float(lat.mean()) if lat.size else np.nan,
                "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
                "max_ms": float(lat.max()) if lat.size else np.nan,
                "share": float(lat.sum()) / total,
            })
        frame = pd.DataFrame.from_records(records, columns=[
            "name", "kind", "count", "errors", "rows", "total_ms", "mean_ms", "p50_ms", "p95_ms",
            "p99_ms", "max_ms", "share"])
        return frame.sort_values("total_ms", ascending=False, ignore_index=True)


class _Source:
    """The shared statement stream: hands out (measured?, name, sql) under a lock."""

    def __init__(self, statements: Iterator[tuple[str, str]], count: int | None,
                 duration: float | None, warmup: int, read_only: bool, may_write: bool,
                 target: str) -> None:
        self._it = statements
        self._lock = threading.Lock()
        self._count, self._duration, self._warmup = count, duration, warmup
        self._read_only, self._may_write, self._target = read_only, may_write, target
        self.handed = 0
        #: when the first measured statement was handed out (the clock of duration/elapsed)
        self.started: float | None = None
        self.deadline: float | None = None
        self.stopped = False

    def next(self) -> tuple[bool, str, str] | None:
        with self._lock:
            while not self.stopped:
                if self._count is not None and self.handed >= self._warmup + self._count:
                    break
                if self.deadline is not None and time.perf_counter() >= self.deadline:
                    break
                item = next(self._it, None)
                if item is None:
                    break
                name, sql = item
                if is_write(sql):
                    if self._read_only:
                        continue
                    if not self._may_write:
                        self.stopped = True
                        raise NotDisposableError(
                            f"refusing to replay write {name!r} on {self._target}: not marked "
                            "disposable (replay read-only, or use a disposable server)")
                measured = self.handed >= self._warmup
                if self.handed == self._warmup:
                    self.started = time.perf_counter()
                    if self._duration is not None:
                        self.deadline = self.started + self._duration
                self.handed += 1
                return measured, name, sql
            self.stopped = True
            return None


def run_workload(connect: Any, workload: WorkloadSpec | Iterable[tuple[str, str]], *,
                 count: int | None = None, duration: float | None = None, concurrency: int = 4,
                 warmup: int = 0, read_only: bool = False, seed: int = 0,
                 disposable: bool = False, database: str | None = None,
                 on_progress: Callable[[int], None] | None = None) -> WorkloadResult:
    """Replay ``workload`` with ``concurrency`` closed-loop threads and measure it.

    ``connect`` is a dbtune.sandbox Server (connections go to ``database``) or a callable
    returning a new pymysql connection (then ``disposable`` says whether it may be
    written to). A spec needs ``count`` or ``duration``; an iterable runs until it is
    exhausted or ``count``/``duration`` is reached. The first ``warmup`` statements run
    unmeasured. Writes are skipped with ``read_only``, and refused (NotDisposableError)
    on a target not marked disposable. ``on_progress(n)`` is called after each measured
    statement with the number done so far.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency {concurrency}: must be at least 1")
    if hasattr(connect, "disposable") and hasattr(connect, "connect"):
        server = connect
        disposable, target = server.disposable, server.dsn()

        def connect() -> pymysql.connections.Connection:
            return server.connect(database)
    else:
        target = "this connection"
    result = WorkloadResult(concurrency=concurrency)
    if isinstance(workload, WorkloadSpec):
        if count is None and duration is None:
            raise ValueError("a workload spec needs count or duration")
        result.kinds = dict(workload.kinds)
        writes = [name for name, kind in result.kinds.items() if kind == "write"]
        if writes and not (read_only or disposable):
            raise NotDisposableError(
                f"refusing to replay {len(writes)} write templates ({writes[0]}, ...) on "
                f"{target}: not marked disposable (replay read-only, or use a disposable server)")
        total = None if count is None else count + warmup
        statements = workload.statements(total, seed, read_only=read_only)
    else:
        statements = iter(workload)
    source = _Source(statements, count, duration, warmup, read_only, disposable, target)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def record(name: str, sql: str, latency: float | None, rows: int, error: str | None) -> None:
        with lock:
            result.kinds.setdefault(name, "write" if is_write(sql) else "read")
            if error is None:
                result.latencies_ms.setdefault(name, []).append(latency)
                result.rows[name] = result.rows.get(name, 0) + rows
            else:
                result.errors[name] = result.errors.get(name, 0) + 1
                result.error_samples.setdefault(name, error)
            if on_progress:
                on_progress(result.statements)

    def worker() -> None:
        connection = None
        try:
            connection = _open(connect)
            while (item := source.next()) is not None:
                measured, name, sql = item
                latency, rows, error = _execute(connection, sql)
                if error is not None and error[0] in _LOST:
                    connection.close()
                    connection = _open(connect)
                if measured:
                    record(name, sql, latency, rows, None if error is None else error[1])
        except BaseException as exc:  # surfaced to the caller after join
            source.stopped = True
            failures.append(exc)
        finally:
            if connection is not None:
                connection.close()

    threads = [threading.Thread(target=worker, name=f"dbtune-workload-{i}", daemon=True)
               for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed_s = time.perf_counter() - source.started if source.started else 0.0
    if failures:
        raise failures[0]
    return result


def _open(connect: Callable[[], pymysql.connections.Connection]):
    connection = connect()
    connection.autocommit(True)
    return connection


def _execute(connection, sql: str) -> tuple[float, int, tuple[int, str] | None]:
    """(latency ms, rows returned or affected, (errno, message) or None)."""
    start = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            affected = cursor.execute(sql)
            rows = len(cursor.fetchall()) if cursor.description else affected
    except pymysql.err.MySQLError as exc:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        return (time.perf_counter() - start) * 1000.0, 0, (code, message)
    return (time.perf_counter() - start) * 1000.0, rows, None
