"""Before/after rounds on one server: A B A B when the change can be rolled back, else A A B B.

The result-equivalence check runs at the first switch from before to after, right around
the migration, so writes replayed by earlier rounds affect both sides alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from dbtune.bench.equivalence import Equivalence, compare, run_checks
from dbtune.bench.result import BenchResult, Round
from dbtune.bench.workloads import Workload
from dbtune.catalog import split_statements
from dbtune.model import InputError
from dbtune.sandbox.server import Server, require_disposable
from dbtune.workload.runner import run_workload

BEFORE, AFTER = "before", "after"


@dataclass
class Migration:
    """The change under test: up statements, and down statements when it can be undone."""

    up: list[str]
    down: list[str] | None = None
    source: str = ""
    #: advice behind the change (when computed by ``--advise``), for the report
    advice: list[dict[str, Any]] = field(default_factory=list)
    #: what the advisor measured on the server (``--advise``): its "Measured on the server"
    #: lines and each index it left out, with why
    measured: list[str] = field(default_factory=list)

    @classmethod
    def from_files(cls, up: str | Path, down: str | Path | None = None) -> Migration:
        """Read ``up.sql`` (and ``down.sql``); InputError names an unreadable or empty file."""
        return cls(_statements(up), _statements(down) if down else None,
                   source=str(up) + (f" (rollback {down})" if down else ""))


def _statements(path: str | Path) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the migration ({exc})") from None
    statements = [sql.rstrip(";").strip() for _, sql in split_statements(text)]
    statements = [s for s in statements if s]
    if not statements:
        raise InputError(f"{path}: no SQL statement in the migration file")
    return statements


def phase_order(rounds: int, interleave: bool) -> list[str]:
    """``rounds`` before and ``rounds`` after: alternating, or all before then all after."""
    if interleave:
        return [BEFORE, AFTER] * rounds
    return [BEFORE] * rounds + [AFTER] * rounds


@dataclass
class Replay:
    """How each round replays: statements per round (or seconds), threads, warm-up."""

    count: int | None = 2000
    duration: float | None = None
    concurrency: int = 4
    warmup: int = 200
    read_only: bool = False
    seed: int = 0
    checks_per_class: int = 5


def run_bench(server: Server, workload: Workload, database: str,
              migration: Migration | Callable[[Round], Migration], *, rounds: int = 2,
              replay: Replay | None = None,
              on_round: Callable[[int, str], None] | None = None,
              on_progress: Callable[[int], None] | None = None) -> BenchResult:
    """Measure ``workload`` before and after ``migration`` on ``server`` (must be disposable).

    ``migration`` may be a callable: it then receives the first (before) round, whose slow
    log span it can digest, and returns the change. ``on_round(i, phase)`` is called just
    before round ``i`` is replayed (after any apply/rollback), ``on_progress(n)`` with the
    statements measured so far.
    """
    require_disposable(server, "apply a migration for a before/after bench")
    replay = replay or Replay()
    if rounds < 1:
        raise ValueError(f"rounds {rounds}: must be at least 1")
    checks = workload.check_statements(replay.checks_per_class, replay.seed)
    done: list[Round] = []
    state = BEFORE
    resolved = migration if isinstance(migration, Migration) else None
    order = phase_order(rounds, interleave=bool(resolved and resolved.down))
    equivalence: Equivalence | None = None
    measured = 0

    def progress(n: int) -> None:
        if on_progress:
            on_progress(measured + n)

    with server.connect(database) as connection:
        for i in range(2 * rounds):
            if resolved is None and i > 0:
                resolved = migration(done[0])  # type: ignore[operator]
                order = phase_order(rounds, interleave=bool(resolved.down))
            phase = order[i]
            if phase != state:
                up = f"migration {resolved.source}".rstrip()
                if equivalence is None:
                    before_outcomes = run_checks(connection, checks)
                    _apply(connection, resolved.up, up)
                    equivalence = compare(checks, before_outcomes,
                                          run_checks(connection, checks), workload.labels)
                elif phase == AFTER:
                    _apply(connection, resolved.up, up)
                else:
                    _apply(connection, resolved.down or [], f"rollback ({resolved.source})")
                state = phase
            if on_round:
                on_round(i, phase)
            number = sum(1 for r in done if r.phase == phase)
            done.append(_round(server, workload, database, phase, i, number, replay, progress))
            measured += done[-1].result.statements
    return BenchResult(workload=workload, database=database, server=str(server),
                       rounds=done, migration=resolved, equivalence=equivalence or Equivalence(),
                       interleaved=bool(resolved.down), replay=replay)


def _apply(connection: Any, statements: list[str], what: str) -> None:
    """Run the statements of a migration or rollback; InputError names the one that fails."""
    with connection.cursor() as cursor:
        for number, sql in enumerate(statements, 1):
            try:
                cursor.execute(sql)
            except pymysql.err.MySQLError as exc:
                message = " ".join(str(exc.args[-1] if exc.args else exc).split())
                message = message if len(message) <= 200 else message[:197] + "..."
                flat = " ".join(sql.split())  # one line, whatever the file's layout
                short = flat if len(flat) <= 60 else flat[:57] + "..."
                raise InputError(f"{what}, statement {number} ({short}): {message}") from None
            if cursor.description:
                cursor.fetchall()


def _round(server: Server, workload: Workload, database: str, phase: str, index: int,
           number: int, replay: Replay, progress: Callable[[int], None]) -> Round:
    """Replay one round; rounds with the same ``number`` replay the same statements."""
    path = server.slow_log_path
    start = _size(path)
    began = time.time()
    server_before = _server_digests(server, database)
    result = run_workload(
        server, workload.spec or workload.stream(number, replay.seed, replay.read_only),
        count=replay.count, duration=replay.duration, concurrency=replay.concurrency,
        warmup=replay.warmup, read_only=replay.read_only, seed=replay.seed + number,
        database=database, on_progress=progress)
    server_after = _server_digests(server, database)
    server_time = server_classes = None
    if server_before is not None and server_after is not None:
        delta = {digest: (count - server_before.get(digest, (0, 0.0, ""))[0],
                          seconds - server_before.get(digest, (0, 0.0, ""))[1], text)
                 for digest, (count, seconds, text) in server_after.items()}
        delta = {digest: row for digest, row in delta.items() if row[0] > 0}
        if delta:
            server_time = (sum(r[0] for r in delta.values()), sum(r[1] for r in delta.values()))
            server_classes = server_time_by_class(result.samples, delta.values())
    return Round(phase, index, result, began, (start, _size(path)) if path else None,
                 server_time, server_classes)


def _server_digests(server: Server, database: str) -> dict[str, tuple[int, float, str]] | None:
    """digest -> (statements, seconds, digest text) performance_schema has counted in
    ``database`` so far; None when it is off or unreadable. One query per round."""
    try:
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT DIGEST, COUNT_STAR, SUM_TIMER_WAIT, DIGEST_TEXT "
                "FROM performance_schema.events_statements_summary_by_digest "
                "WHERE SCHEMA_NAME = %s", (database,))
            rows = cursor.fetchall()
    except pymysql.err.MySQLError:
        return None
    return {digest: (int(count), float(picoseconds) / 1e12, text or "")
            for digest, count, picoseconds, text in rows}


def server_time_by_class(samples: dict[str, str], digests: Iterable[tuple[int, float, str]]
                         ) -> dict[str, tuple[int, float]]:
    """Class name -> (statements, seconds) of the performance_schema digests whose text
    joins the fingerprint of the class's sample (``dbtune.ingest.perfschema.join_key``).
    Digests of no class, or of a fingerprint several classes share, are left out."""
    from dbtune.fingerprint import fingerprint
    from dbtune.ingest.perfschema import digest_sql, join_key

    names: dict[str, str | None] = {}
    for name, sql in samples.items():
        key = join_key(fingerprint(sql))
        names[key] = None if key in names else name
    out: dict[str, tuple[int, float]] = {}
    for count, seconds, text in digests:
        name = names.get(join_key(fingerprint(digest_sql(text))))
        if name is not None:
            had = out.get(name, (0, 0.0))
            out[name] = (had[0] + count, had[1] + seconds)
    return out


def _size(path: str | None) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0
