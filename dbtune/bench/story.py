"""Preparing a bench server: fixture or SQL data, and the ``--advise`` migration.

The marketplace story in one call (what ``dbtune bench --fixture marketplace --advise``
runs): a sandbox, the fixture at ``scale``, a baseline round whose slow log is digested,
index advice from that digest and the live catalog, then interleaved rounds.

>>> with start_server("auto") as server:                                    # doctest: +SKIP
...     result = bench_on(server, "marketplace", fixture="marketplace", scale=0.05,
...                       advise=True, targets=parse_targets(MARKETPLACE_TARGET))
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pymysql

from dbtune.bench.result import Round
from dbtune.bench.rounds import Migration, Replay, run_bench
from dbtune.bench.verdict import MAX_REGRESSION, Alert, Target
from dbtune.bench.workloads import spec_workload
from dbtune.catalog import split_statements
from dbtune.model import InputError
from dbtune.sandbox.server import Server, require_disposable

#: the marketplace team's goal (docs/design.md): average query time under 30 ms
MARKETPLACE_TARGET = "mean<30ms"
#: index budget of the ``--advise`` story: room for what an expert writes for the fixture
#: (18 indexes, at most 4 on a table - docs/marketplace.md), so that the advisor's own
#: stopping rule (``min_gain``), not a count, decides how many indexes the workload needs
ADVISE_BUDGET = {"max_indexes": 24, "max_per_table": 6}


def advice_migration(server: Server, database: str, max_regression: float = MAX_REGRESSION,
                     **advise_options) -> Callable[[Round], Migration]:
    """A migration computed after the first round: its slow log span digested, index advice
    from that digest and ``Catalog.from_server`` (budget :data:`ADVISE_BUDGET` unless
    ``advise_options`` say otherwise), verified on ``server`` (EXPLAIN before/after, unused or
    harmful indexes rejected) and guarded at the bench's own ``max_regression`` (no read or
    write class measured slower than that with the advice); the advice's DDL up, its
    rollback down."""

    def plan(first: Round) -> Migration:
        from dbtune.advise.guard import with_bound
        from dbtune.advise.indexes import STAGES, advise_indexes
        from dbtune.catalog import Catalog
        from dbtune.digest import digest_slowlog

        if server.slow_log_path is None or first.slowlog_span is None:
            raise InputError(f"{server.dsn()}: no readable slow log, so no advice "
                             "(use a local sandbox, or give --migration)")
        with tempfile.TemporaryDirectory(prefix="dbtune-bench-") as tmp:
            part = Path(tmp) / "baseline-slow.log"
            _copy_span(server.slow_log_path, first.slowlog_span, part)
            digest = digest_slowlog(part, database=database)
        with server.connect(database) as connection:
            catalog = Catalog.from_server(connection, database)
        advice = advise_indexes(digest, catalog, verify_on=server,
                                stages=with_bound(STAGES, max_regression),
                                **{**ADVISE_BUDGET, **advise_options})
        return Migration(
            up=advice.statements(), down=advice.rollback(),
            source=f"index advice from the baseline's slow log ({len(digest.classes)} classes)",
            advice=[{"table": a.table, "index": a.name, "columns": list(a.columns),
                     "ddl": a.ddl, "rollback_ddl": a.rollback_ddl,
                     "saved_share": a.saved_share, "verified": a.verified,
                     "regresses": a.regresses, "reason": a.reason}
                    for a in advice.advice],
            measured=[*advice.measured, *(f"left out {a.table} ({', '.join(a.columns)}): {why}"
                                          for a, why in advice.rejected)])

    return plan


def _copy_span(path: str, span: tuple[int, int], into: Path) -> None:
    start, end = span
    with open(path, "rb") as source, open(into, "wb") as target:
        source.seek(start)
        remaining = end - start
        while remaining > 0:
            block = source.read(min(remaining, 1 << 20))
            if not block:
                break
            target.write(block)
            remaining -= len(block)


def load_sql(server: Server, database: str, path: str | Path) -> int:
    """Run a schema/data SQL script in ``database`` (created if missing); statements run."""
    require_disposable(server, f"load {path}")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the SQL to load ({exc})") from None
    statements = split_statements(text)
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{_name(database)}`")
        cursor.execute(f"USE `{_name(database)}`")
        cursor.execute("SET SESSION long_query_time = 3600")
        for line, sql in statements:
            try:
                cursor.execute(sql)
            except pymysql.err.MySQLError as exc:
                first = str(exc.args[-1] if exc.args else exc).splitlines()[0]
                raise InputError(f"{path}:{line}: {first}") from None
    return len(statements)


def _name(database: str) -> str:
    if not database or "`" in database or len(database) > 64:
        raise InputError(f"database name {database!r}: not usable")
    return database


def load_fixture(server: Server, database: str, scale: float, seed: int = 42,
                 on_progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """The marketplace fixture in ``database``; an already loaded copy is reused (empty
    counts) when every fixture table is there."""
    from dbtune.workload.marketplace import TABLES, load_marketplace

    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = %s", (database,))
        present = {row[0] for row in cursor.fetchall()}
    if present >= set(TABLES):
        return {}
    return load_marketplace(server, database, scale=scale, seed=seed, on_progress=on_progress)


def bench_on(server: Server, database: str | None, *, fixture: str | None = None,
             scale: float = 1.0, load: str | Path | None = None,
             slowlog: str | Path | None = None, sql: str | Path | None = None,
             migration: str | Path | None = None, rollback: str | Path | None = None,
             advise: bool = False, targets: list[Target] | None = None, rounds: int = 2,
             max_regression: float = MAX_REGRESSION, alert: Alert | None = None,
             replay: Replay | None = None, max_write_slowdown: float | None = None,
             on_load: Callable[[str, int], None] | None = None, **bench_options):
    """Everything ``dbtune bench`` does once it has a server: data, workload, change, rounds.

    Data: the ``fixture`` and/or a ``load`` script. Workload: ``slowlog`` or ``sql`` file,
    else the fixture's spec. Change: ``migration`` (+ ``rollback``) files, or ``advise``.
    ``database`` None: ``marketplace`` for the fixture, else the slow log's database, else
    ``bench``. ``max_write_slowdown``: with ``advise``, the advisor's ``max_slowdown`` (no
    write class made slower than that by the advice's measured upkeep; None: no cap);
    ``max_regression`` is the advisor's per-class guard bound too.
    ``on_load(table, rows)`` follows
    the fixture load; ``bench_options`` go to :func:`~dbtune.bench.rounds.run_bench`
    (``on_round``, ``on_progress``).
    """
    from dbtune.bench.workloads import slowlog_workload, sql_file_workload
    from dbtune.workload.spec import marketplace_spec

    require_disposable(server, "run a before/after bench")
    if advise == (migration is not None):
        raise InputError("give either --migration FILE (with optional --rollback) or --advise")
    if slowlog is not None:
        workload = slowlog_workload(slowlog, database=None)
    elif sql is not None:
        workload = sql_file_workload(sql)
    elif fixture == "marketplace":
        workload = spec_workload(marketplace_spec(scale))
    else:
        raise InputError("no workload: give --fixture, --slowlog FILE or --sql FILE")
    database = database or ("marketplace" if fixture else workload.database or "bench")
    change = (advice_migration(server, database, max_regression,
                               max_slowdown=max_write_slowdown) if advise
              else Migration.from_files(migration, rollback))  # type: ignore[arg-type]
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{_name(database)}`")
    if fixture == "marketplace":
        load_fixture(server, database, scale, on_progress=on_load)
    if load is not None:
        load_sql(server, database, load)
    result = run_bench(server, workload, database, change, rounds=rounds, replay=replay,
                       **bench_options)
    result.targets = targets or []
    result.max_regression = max_regression
    result.alert = alert
    if workload.database and workload.database != database:
        result.notes.append(f"statements logged in database {workload.database} were "
                            f"replayed in {database}")
    if advise and not result.migration.up:
        result.notes.append("the advice found no index worth adding: before and after are "
                            "the same schema")
    if not result.interleaved and result.migration.up:
        result.notes.append("no rollback: all before rounds ran first, then all after rounds, "
                            "so drift on the machine is not cancelled out")
    return result
