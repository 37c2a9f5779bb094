"""Replay statements against a server: closed-loop threads, one connection each.

>>> result = run_workload(server, marketplace_spec(1.0), count=2000)   # doctest: +SKIP
>>> result.mean_ms, result.to_frame().head()                           # doctest: +SKIP

The same engine drives ``dbtune workload run`` and ``dbtune bench``: it takes a workload
spec or any iterable of (name, sql) pairs, and reports per-name latencies in milliseconds.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dbtune.sandbox.errors import NotDisposableError
from dbtune.workload.drivers import DriverName, driver_of, get_driver
from dbtune.workload.spec import WorkloadSpec

_READ = re.compile(r"^\s*(?:/\*.*?\*/\s*|\(\s*)*(SELECT|WITH|SHOW|EXPLAIN|DESCRIBE|DESC)\b",
                   re.IGNORECASE | re.DOTALL)
_LOCKING = re.compile(r"\bFOR\s+UPDATE\b|\bINTO\s+(OUTFILE|DUMPFILE)\b", re.IGNORECASE)
#: WITH ... UPDATE/DELETE (MySQL 8) and EXPLAIN ANALYZE UPDATE/DELETE run the change (an
#: EXPLAIN without ANALYZE, or a literal 'update' in a CTE, is refused too: the safe side)
_HIDDEN_WRITE = re.compile(r"^\s*(?:/\*.*?\*/\s*|\(\s*)*(?:WITH|EXPLAIN|DESC|DESCRIBE)\b.*?"
                           r"\b(?:UPDATE|DELETE|INSERT|REPLACE)\b", re.IGNORECASE | re.DOTALL)
_LOST = (2006, 2013, 2055, 1927)  # gone away, lost (reading, SSL), killed (MariaDB)


def is_write(sql: str) -> bool:
    """True unless the statement is a plain read (SELECT/WITH/SHOW/EXPLAIN/DESCRIBE)."""
    return not _READ.match(sql) or bool(_LOCKING.search(sql) or _HIDDEN_WRITE.match(sql))


@dataclass
class WorkloadResult:
    """What a replay measured: per-name latencies (ms), errors and rows, and the wall time."""

    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    #: name -> the first statement handed out under that name (warm-up included)
    samples: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0
    concurrency: int = 1
    #: the client library the connections used: "pymysql" or "mysqlclient"
    driver: str = ""

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
    """The shared statement stream: hands out (measured?, name, sql) under a lock.

    Statements are classified (is_write) only where it matters: to skip or refuse writes
    when ``check_writes``, and once per name for ``kinds`` (the first measured statement of
    a name decides its kind, unless ``kinds`` already has it). The first statement of each
    name goes into ``samples``.
    """

    def __init__(self, statements: Iterator[tuple[str, str]], count: int | None,
                 duration: float | None, warmup: int, *, check_writes: bool, read_only: bool,
                 target: str, kinds: dict[str, str], samples: dict[str, str]) -> None:
        self._it = statements
        self._lock = threading.Lock()
        self._limit = None if count is None else warmup + count
        self._duration, self._warmup = duration, warmup
        self._check_writes, self._read_only, self._target = check_writes, read_only, target
        self._kinds, self._samples = kinds, samples
        self.handed = 0
        #: when the first measured statement was handed out (the clock of duration/elapsed)
        self.started: float | None = None
        self.deadline: float | None = None
        self.stopped = False

    def next(self) -> tuple[bool, str, str] | None:
        with self._lock:
            while not self.stopped:
                if self._limit is not None and self.handed >= self._limit:
                    break
                if self.deadline is not None and time.perf_counter() >= self.deadline:
                    break
                item = next(self._it, None)
                if item is None:
                    break
                name, sql = item
                if self._check_writes and is_write(sql):
                    if self._read_only:
                        continue
                    self.stopped = True
                    raise NotDisposableError(
                        f"refusing to replay write {name!r} on {self._target}: not marked "
                        "disposable (replay read-only, or use a disposable server)")
                if name not in self._samples:
                    self._samples[name] = sql
                measured = self.handed >= self._warmup
                if measured:
                    if name not in self._kinds:
                        self._kinds[name] = "write" if is_write(sql) else "read"
                    if self.handed == self._warmup:
                        self.started = time.perf_counter()
                        if self._duration is not None:
                            self.deadline = self.started + self._duration
                self.handed += 1
                return measured, name, sql
            self.stopped = True
            return None


@dataclass
class _Tally:
    """One worker's measurements, merged into the result after the run (no shared lock)."""

    latencies_ms: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rows: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: dict[str, str] = field(default_factory=dict)

    def merge_into(self, result: WorkloadResult) -> None:
        for name, values in self.latencies_ms.items():
            result.latencies_ms.setdefault(name, []).extend(values)
        for name, rows in self.rows.items():
            result.rows[name] = result.rows.get(name, 0) + rows
        for name, errors in self.errors.items():
            result.errors[name] = result.errors.get(name, 0) + errors
        for name, sample in self.error_samples.items():
            result.error_samples.setdefault(name, sample)


def run_workload(connect: Any, workload: WorkloadSpec | Iterable[tuple[str, str]], *,
                 count: int | None = None, duration: float | None = None, concurrency: int = 4,
                 warmup: int = 0, read_only: bool = False, seed: int = 0,
                 disposable: bool = False, database: str | None = None,
                 on_progress: Callable[[int], None] | None = None,
                 driver: DriverName = "auto") -> WorkloadResult:
    """Replay ``workload`` with ``concurrency`` closed-loop threads and measure it.

    ``connect`` is a dbtune.sandbox Server (connections go to ``database``, opened with
    ``driver``: "mysqlclient", "pymysql", or "auto" = mysqlclient when installed, else
    pymysql) or a callable returning a new pymysql or MySQLdb connection (then
    ``disposable`` says whether it may be written to, and ``driver`` is not used). A spec
    needs ``count`` or ``duration``; an iterable runs until it is exhausted or
    ``count``/``duration`` is reached. The first ``warmup`` statements run unmeasured.
    Writes are skipped with ``read_only``, and refused (NotDisposableError) on a target not
    marked disposable. ``on_progress(n)`` is called after each measured statement with the
    number done so far. Lost connections are reopened; other errors are counted per name.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency {concurrency}: must be at least 1")
    chosen = get_driver(driver)
    if hasattr(connect, "disposable") and hasattr(connect, "spec"):
        server = connect
        disposable, target = server.disposable, server.dsn()

        def connect() -> Any:
            return chosen.connect(server.spec, database)
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
        check_writes = False  # the spec's kinds were checked above, read_only filters them
    else:
        statements = iter(workload)
        check_writes = read_only or not disposable
    source = _Source(statements, count, duration, warmup, check_writes=check_writes,
                     read_only=read_only, target=target, kinds=result.kinds,
                     samples=result.samples)
    failures: list[BaseException] = []
    tallies = [_Tally() for _ in range(concurrency)]
    progress = _progress(on_progress)

    def worker(tally: _Tally) -> None:
        connection = None
        try:
            connection = _open(connect)
            used = driver_of(connection)
            result.driver = used.name
            errors, execute = used.errors, used.executor(connection)
            latencies, rows_by_name = tally.latencies_ms, tally.rows
            next_item, clock = source.next, time.perf_counter
            while (item := next_item()) is not None:
                measured, name, sql = item
                start = clock()
                try:
                    rows = execute(sql)
                except errors as exc:
                    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
                    if measured:
                        tally.errors[name] += 1
                        if name not in tally.error_samples:
                            tally.error_samples[name] = (
                                str(exc.args[1]) if len(exc.args) > 1 else str(exc))
                        progress()
                    if code in _LOST:
                        _close(connection, errors)
                        connection = _open(connect)
                        execute = used.executor(connection)
                    continue
                if measured:
                    latencies[name].append((clock() - start) * 1000.0)
                    rows_by_name[name] += rows
                    progress()
        except BaseException as exc:  # surfaced to the caller after join
            source.stopped = True
            failures.append(exc)
        finally:
            if connection is not None:
                _close(connection, driver_of(connection).errors)

    threads = [threading.Thread(target=worker, args=(tally,), name=f"dbtune-workload-{i}",
                                daemon=True) for i, tally in enumerate(tallies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed_s = time.perf_counter() - source.started if source.started else 0.0
    if failures:
        raise failures[0]
    for tally in tallies:
        tally.merge_into(result)
    return result


def _progress(on_progress: Callable[[int], None] | None) -> Callable[[], None]:
    """A thread-safe "one more statement done" that reports the running total."""
    if on_progress is None:
        return lambda: None
    lock = threading.Lock()
    done = 0

    def step() -> None:
        nonlocal done
        with lock:
            done += 1
            on_progress(done)

    return step


def _open(connect: Callable[[], Any]) -> Any:
    connection = connect()
    if callable(connection.autocommit):  # pymysql, MySQLdb
        connection.autocommit(True)
    else:  # mysql-connector: a property
        connection.autocommit = True
    return connection


def _close(connection: Any, errors: tuple[type[Exception], ...]) -> None:
    """Close, ignoring the errors of a connection the server already dropped."""
    with contextlib.suppress(*errors):
        connection.close()
