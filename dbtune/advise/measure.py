"""Measured what-if, a stage of the index advisor (with a disposable server):
:func:`measure_whatif` builds each table's leading candidates on the server and measures
what they do for the workload's writes and reads, so that the selection chooses on measured
read gain minus measured write cost where it can.

Per table (one at a time, the schema left as it was found):

1. each write class's statement (INSERT, UPDATE, DELETE, REPLACE, INSERT ... ON DUPLICATE
   KEY UPDATE: the class's sample) is timed inside a transaction that is rolled back, and
   each read class's statement (SELECT) is timed with ``ANALYZE``;
2. the leading candidates (:func:`leading`: the best estimated read gains, at most
   :data:`LEADING`, and for each UPDATE / DELETE the candidate that serves its WHERE best)
   are built together, IGNORED (MariaDB 10.6+) or INVISIBLE (MySQL 8), and each in turn is
   made visible while the reads are ANALYZEd, alternating with it ignored again (a busy
   machine's drift falls on both sides): the measured time ratio and rows
   (:class:`~dbtune.advise.whatif.ReadMeasure`) replace the estimate for that (class,
   candidate) in the search (:meth:`TableState.estimate`);
3. the writes, AutoAdmin's way (a read part plus a maintenance part): each candidate is
   built alone, ignored, :data:`WRITE_PASSES` times, and each write that maintains it is
   timed with it and again once it is dropped: its own upkeep, relative to the bare time
   either side (:attr:`~dbtune.advise.writecost.Write.upkeep`: a narrow index and a wide
   one are priced apart). Where a write's WHERE is read through it once it is visible
   (EXPLAIN), the write is timed that way too: the read part it saves is a measured read of
   the write class's need, which the search counts as a gain.

A table of more than :data:`SAMPLE_ROWS` rows is measured on a sampled copy (its newest
rows, :func:`sampled_copy`, dropped afterwards): its writes only, each rewritten by sqlglot
to write the copy; its reads keep their estimates (times on a sample of another size are
not the workload's). Tables on a non-InnoDB engine (a write could not be rolled back), or
on a server without IGNORED / INVISIBLE indexes, keep their estimates; a write that fails
or changes no row (its sample's row is gone) is not measured. The run's notes say what was
measured (``run.measure_notes``, the plan's "Measured on the server" section).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import pymysql
from sqlglot import exp

from dbtune.advise.ddl import ONLINE_INDEX, add_index, alter_table, drop_index, table_sql
from dbtune.advise.run import Advising
from dbtune.advise.selection import class_cut, pays
from dbtune.advise.session import lost, one_line, open_session, revive
from dbtune.advise.tables import TableState
from dbtune.advise.whatif import ReadMeasure
from dbtune.advise.writecost import Write, maintaining
from dbtune.catalog import Table, quote
from dbtune.parsing import parse_statement
from dbtune.sandbox import Server, require_disposable

#: candidates measured per table (the best estimated read gains)
LEADING = 6
#: runs of each statement per phase (the fastest counts)
REPEATS = 5
#: each candidate is built alone this many times for the writes (the least upkeep counts:
#: one pass on a busy machine read +74% and +684% for two indexes of one DELETE)
WRITE_PASSES = 2
#: a statement slower than this (ms) runs once per phase
SLOW_MS = 250.0
#: a table with more rows is measured on a copy of this many of its rows (writes only)
SAMPLE_ROWS = 500_000
#: the sampled copy's name: this prefix and the table's name
COPY_PREFIX = "dbtune_whatif_"
#: the what-if indexes' names: this prefix and a number (``..._w`` for the writes' one)
WHATIF_PREFIX = "dbtune_whatif_"
#: seconds the stage may spend; checked before each table and, within one, before each
#: candidate: what is not reached by then keeps its estimates
TIME_BUDGET = 240.0
#: seconds one statement may run without a candidate (a read stopped there is timed
#: against the cap: a lower bound of its time; a write stopped there is not measured)
STATEMENT_CAP = 10.0
#: with a candidate visible a read is stopped at this many times its time without (it is
#: no faster, all the search counts), and never below :data:`MIN_CAP` seconds
CAP_MARGIN = 1.25
MIN_CAP = 0.5

_REPLACE = re.compile(r"\s*REPLACE\s", re.I)
_MYSQL_TIME = re.compile(r"actual time=[\d.]+\.\.([\d.]+)")


def measure_whatif(run: Advising) -> None:
    """Stage (with a disposable server, after pruning): measured write costs per index and
    measured read gains of the leading candidates, table by table, within
    :data:`TIME_BUDGET`. Raises NotDisposableError on a server not marked disposable."""
    if run.server is None:
        return
    require_disposable(run.server, "build what-if indexes")
    if not supports_ignored(run.server):
        run.measure_notes.append(f"not measured: {run.server.flavour} {run.server.version} "
                                 "has no IGNORED / INVISIBLE indexes (MariaDB 10.6+, MySQL 8)")
        return
    deadline = time.monotonic() + TIME_BUDGET
    about, shares = run.about(), run.share_of()
    with open_session(run.server) as connection:
        for key, state in run.tables.items():
            table = run.catalog_tables[key]
            chosen = leading(state, run.limits.min_gain)
            if not chosen:
                continue
            why = unmeasurable(table)
            if why is None and time.monotonic() > deadline:
                why = f"the stage's time budget ({TIME_BUDGET:.0f} s) was spent"
            if why:
                run.measure_notes.append(f"{table.name}: not measured ({why}); estimates kept")
                continue
            try:
                note = measure_table(connection, run.server, state, table, chosen, about,
                                     shares, deadline)
            except pymysql.MySQLError as exc:  # a candidate the server cannot build, ...
                note = f"{table.name}: not measured (server error: {one_line(exc)})"
                if lost(exc):
                    revive(connection)
                    note += "; reconnected, its statements stopped"
                    _drop_leftovers(connection, table)
                note += "; estimates kept"
            run.measure_notes.append(note)
            state.max_slowdown = run.limits.max_slowdown


def supports_ignored(server: Server) -> bool:
    """Does ``server`` build indexes the optimizer ignores but writes maintain?"""
    major_minor = tuple(int(p) for p in re.findall(r"\d+", server.version)[:2])
    return major_minor >= ((10, 6) if server.flavour == "mariadb" else (8, 0))


def unmeasurable(table: Table) -> str | None:
    """Why ``table`` cannot be measured here, or None."""
    if not table.is_innodb:
        return f"engine {table.engine}: its writes cannot be rolled back"
    return None


def leading(state: TableState, min_gain: float) -> list[tuple[str, ...]]:
    """The candidates of one table worth measuring: estimated read gain (alone, over how
    the table is served today) that pays as the selection judges it
    (:func:`~dbtune.advise.selection.pays`: ``min_gain``, or a tenth of it for an index
    that halves a class's cost on the table), best first, at most :data:`LEADING`;
    then, for each write class whose WHERE a candidate can serve, the one the model rates
    best for it (:func:`serving_writes`), whatever its estimated gain: the read part it
    saves that write is measured, not assumed."""
    today = [state.baseline(n)[0].cost for n in state.needs]
    current = state.relative(today)
    gains = []
    for columns in state.candidates:
        mine = [min(t, state.estimate(n, columns).cost)
                for n, t in zip(state.needs, today, strict=True)]
        gain = current - state.relative(mine)
        if pays(gain, class_cut(state.needs, mine, today), min_gain):
            gains.append((gain, columns))
    gains.sort(key=lambda g: -g[0])
    chosen = [columns for _, columns in gains[:LEADING]]
    return chosen + [c for c in serving_writes(state) if c not in chosen]


def serving_writes(state: TableState) -> list[tuple[str, ...]]:
    """Per write class with a WHERE on the table (UPDATE, DELETE), the candidate led by
    one of its equality or range columns that the model rates cheapest for it."""
    written = {w.class_id for w in state.writes}
    out: list[tuple[str, ...]] = []
    for need in state.needs:
        if need.kind == "select" or need.class_id not in written:
            continue
        serving = [c for c in state.candidates if c[0] in (*need.eq, *need.ranges)]
        if serving:
            best = min(serving, key=lambda c: (state.estimate(need, c).cost, len(c), c))
            if best not in out:
                out.append(best)
    return out


def measure_table(connection: Any, server: Server, state: TableState, table: Table,
                  candidates: Sequence[tuple[str, ...]],
                  about: dict[str, tuple[str, str | None, float | None]],
                  shares: dict[str, float], deadline: float = math.inf) -> str:
    """Build ``candidates`` on ``table`` (ignored), measure, drop; record the figures on
    ``state`` (its writes' ``per_index``, its measured reads). A table of more than
    :data:`SAMPLE_ROWS` rows is measured on a sampled copy instead (:func:`sampled_copy`):
    writes only. Past ``deadline`` (time.monotonic()) the candidates not reached keep their
    estimates. Returns a note in words."""
    writes = {w.class_id: about[w.class_id] for w in state.writes
              if is_write(about[w.class_id][0])}
    if state.info.rows <= SAMPLE_ROWS:
        reads = {n.class_id: about[n.class_id] for n in state.needs
                 if isinstance(parse_statement(about[n.class_id][0]), exp.Query)}
        return _measure(connection, server, state, table, table.name, candidates, writes,
                        reads, shares, deadline)
    copy = COPY_PREFIX + table.name[: 64 - len(COPY_PREFIX)]
    moved = {c: (on_copy(sql, table.name, copy), db, logged)
             for c, (sql, db, logged) in writes.items()}
    sampled_copy(connection, table, copy)
    try:
        note = _measure(connection, server, state, table, copy, candidates,
                        {c: w for c, w in moved.items() if w[0]}, {}, shares, deadline)
    finally:
        _execute(connection, f"DROP TABLE IF EXISTS {table_sql(copy, table.schema)}")
    return (f"{note} (on a copy of {SAMPLE_ROWS:,} of its {state.info.rows:,.0f} rows: "
            "writes only, reads estimated)")


def sampled_copy(connection: Any, table: Table, copy: str) -> None:
    """``copy`` (same schema): ``table``'s definition and its :data:`SAMPLE_ROWS` newest
    rows by primary key (where most writes land)."""
    source, target = table_sql(table.name, table.schema), table_sql(copy, table.schema)
    order = ", ".join(f"{quote(c)} DESC" for c in table.primary_key)
    _execute(connection, f"DROP TABLE IF EXISTS {target}")
    _execute(connection, f"CREATE TABLE {target} LIKE {source}")
    _execute(connection, f"INSERT INTO {target} SELECT * FROM {source}"
                         f"{' ORDER BY ' + order if order else ''} LIMIT {SAMPLE_ROWS}")


def on_copy(sql: str, table: str, copy: str) -> str | None:
    """``sql`` writing ``copy`` instead of ``table`` (None when sqlglot cannot rewrite it,
    e.g. a REPLACE).

    >>> on_copy("DELETE FROM s WHERE a < 3 LIMIT 10", "s", "c")
    'DELETE FROM c WHERE a < 3 LIMIT 10'
    """
    tree = parse_statement(sql)
    if tree is None:
        return None
    for node in tree.find_all(exp.Table):
        if node.name.lower() == table.lower():
            node.set("this", exp.to_identifier(copy, quoted=False))
    return tree.sql(dialect="mysql")


def _measure(connection: Any, server: Server, state: TableState, table: Table, on: str,
             candidates: Sequence[tuple[str, ...]],
             writes: dict[str, tuple[str, str | None, float | None]],
             reads: dict[str, tuple[str, str | None, float | None]],
             shares: dict[str, float], deadline: float = math.inf) -> str:
    """The measurement on table ``on`` (``table`` itself or its sampled copy): the reads
    with every candidate built ignored and each one visible in turn; then each candidate
    built alone (:func:`_write_costs`) for the writes; each step only while
    time.monotonic() is before ``deadline``."""
    mysql = server.flavour == "mysql"
    names = [f"{WHATIF_PREFIX}{i}" for i in range(len(candidates))]
    where = table_sql(on, table.schema)
    bare = {c: [time_write(connection, sql, db)] for c, (sql, db, _) in writes.items()}
    late: list[str] = []
    if reads:
        base = {c: analyze(connection, sql, db, mysql, cap_s=STATEMENT_CAP)
                for c, (sql, db, _) in reads.items()}
        clauses = [add_index(n, c, invisible=mysql) + ("" if mysql else " IGNORED")
                   for n, c in zip(names, candidates, strict=True)]
        _execute(connection, alter_table(where, clauses, **ONLINE_INDEX))
        try:
            for name, columns in zip(names, candidates, strict=True):
                if time.monotonic() > deadline:
                    late.append(f"reads with {'+'.join(columns)}")
                    continue
                for class_id, (sql, db, _) in reads.items():
                    measure = read_with(connection, where, name, sql, db, mysql,
                                        base[class_id])
                    if measure is not None:
                        state.record(class_id, columns, measure)
        finally:
            _execute(connection, alter_table(where, [drop_index(n) for n in names],
                                             **ONLINE_INDEX))
    costs = _write_costs(connection, state, where, mysql, candidates, writes, bare, shares,
                         deadline, late)
    measured = len({c for c, _ in state.measured if c in reads})
    return (f"{table.name}: {len(candidates)} candidates built ignored; writes: "
            f"{'; '.join(costs) or 'none replayed'}; {measured} read class"
            f"{'es' if measured != 1 else ''} ANALYZEd with each"
            + (f"; the stage's time budget ({TIME_BUDGET:.0f} s) was spent before: "
               f"{', '.join(late)} (estimates kept)" if late else ""))


def _write_costs(connection: Any, state: TableState, where: str, mysql: bool,
                 candidates: Sequence[tuple[str, ...]],
                 writes: dict[str, tuple[str, str | None, float | None]],
                 bare: dict[str, list[float | None]], shares: dict[str, float],
                 deadline: float = math.inf, late: list[str] | None = None) -> list[str]:
    """Each candidate built alone (ignored), the writes timed with it and right after it is
    dropped again: its own upkeep per write class, against the bare times either side (a
    busy machine's drift falls on both). Where a write reads its WHERE through it once
    visible (EXPLAIN), the write is timed that way too: the read part it saves, recorded as
    a measured read of the class's need. Records the figures on ``state``; notes in words.
    A candidate reached after ``deadline`` is named in ``late`` and not built."""
    loaded: dict[tuple[str, tuple[str, ...]], float] = {}
    serving: dict[tuple[str, tuple[str, ...]], float] = {}
    before = {c: times[-1] for c, times in bare.items()}
    for columns in [c for _ in range(WRITE_PASSES) for c in candidates]:
        mine = [c for c in writes if maintaining([_write_of(state, c)], columns)]
        if not mine:
            continue
        if time.monotonic() > deadline:
            if late is not None and f"writes with {'+'.join(columns)}" not in late:
                late.append(f"writes with {'+'.join(columns)}")
            continue
        name = f"{WHATIF_PREFIX}w"
        _execute(connection, alter_table(where, [add_index(name, columns, invisible=mysql)
                                                 + ("" if mysql else " IGNORED")],
                                         **ONLINE_INDEX))
        try:
            took = {}
            for class_id in mine:
                sql, db, _ = writes[class_id]
                took[class_id] = time_write(connection, sql, db)
                read = write_with(connection, where, name, sql, db, mysql)
                if took[class_id] is not None and read is not None:
                    serving[(class_id, columns)] = min(serving.get((class_id, columns), math.inf),
                                                       took[class_id] - read)
        finally:
            _execute(connection, alter_table(where, [drop_index(name)], **ONLINE_INDEX))
        for class_id in mine:
            sql, db, _ = writes[class_id]
            after = time_write(connection, sql, db)
            bare[class_id].append(after)
            pair = [t for t in (before[class_id], after) if t]
            if took[class_id] is not None and pair:
                ratio = took[class_id] / min(pair)
                loaded[(class_id, columns)] = min(loaded.get((class_id, columns), ratio), ratio)
            before[class_id] = after
    notes = []
    for i, write in enumerate(state.writes):
        times = [t for t in bare.get(write.class_id, []) if t]
        upkeep = tuple((c, max(0.0, loaded[(write.class_id, c)] - 1.0)) for c in candidates
                       if (write.class_id, c) in loaded)
        if not times or not upkeep:
            continue
        base = min(times)
        state.writes[i] = write._replace(per_index=sum(u for _, u in upkeep) / len(upkeep),
                                         upkeep=upkeep, class_share=shares[write.class_id])
        saved = [(c, ms) for (class_id, c), ms in serving.items() if class_id == write.class_id]
        for columns, ms in saved:
            state.record(write.class_id, columns,
                         ReadMeasure(base, max(0.0, base - ms), None, used=True))
        own = ", ".join(f"{'+'.join(c)} +{u:.0%}" for c, u in upkeep)
        read = "".join(f"; reading its WHERE through {'+'.join(c)} saves {ms:,.2f} ms"
                       for c, ms in saved)
        notes.append(f"{write.class_id} {base:,.2f} ms, each index's upkeep: {own}{read}")
    return notes


def _write_of(state: TableState, class_id: str) -> Write:
    return next(w for w in state.writes if w.class_id == class_id)


def write_with(connection: Any, where: str, name: str, sql: str, database: str | None,
               mysql: bool) -> float | None:
    """One write with the ignored index ``name`` made visible, when the optimizer reads its
    WHERE through it (EXPLAIN): its fastest time (ms); None when it does not use it, or
    fails."""
    _execute(connection, _visibility(where, name, True, mysql))
    try:
        if not _explained_key(connection, sql, database, name):
            return None
        return time_write(connection, sql, database)
    finally:
        _execute(connection, _visibility(where, name, False, mysql))


def _explained_key(connection: Any, sql: str, database: str | None, name: str) -> bool:
    """Does EXPLAIN FORMAT=JSON of ``sql`` read a table through index ``name``?"""
    try:
        if database:
            connection.select_db(database)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN FORMAT=JSON " + sql)
            plan = json.loads(cursor.fetchone()[0])
    except (pymysql.MySQLError, ValueError, TypeError):
        return False
    return _mariadb_rows(plan, name)[1]


def read_with(connection: Any, where: str, name: str, sql: str, database: str | None,
              mysql: bool, base: tuple[float, float | None, bool] | None
              ) -> ReadMeasure | None:
    """One read class with the ignored index ``name`` made visible, then ignored again,
    :data:`REPEATS` times (alternating, so that a busy machine's drift falls on both
    sides): the fastest time each way, and the rows read through it (None when the
    statement fails). Without the index a run is stopped at :data:`STATEMENT_CAP` (and
    counts at the cap: a lower bound), with it at :data:`CAP_MARGIN` x the time without
    (a run stopped there is no faster: ratio 1)."""
    without = [min(base[0], STATEMENT_CAP * 1000.0)] if base is not None else []
    withs: list[tuple[float, float | None, bool]] = []
    for _ in range(REPEATS):
        cap = max(min(without, default=STATEMENT_CAP * 1000.0) * CAP_MARGIN / 1000.0, MIN_CAP)
        _execute(connection, _visibility(where, name, True, mysql))
        try:
            found = analyze(connection, sql, database, mysql, name, repeats=1, cap_s=cap)
        finally:
            _execute(connection, _visibility(where, name, False, mysql))
        if found is None:
            return None
        if math.isinf(found[0]):
            found = (cap * 1000.0, None, True)
        withs.append(found)
        if found[0] > SLOW_MS or (base is not None and base[0] > SLOW_MS):
            break  # a slow statement: one run each way is enough (and all there is time for)
        again = analyze(connection, sql, database, mysql, repeats=1, cap_s=STATEMENT_CAP)
        if again is not None:
            without.append(min(again[0], STATEMENT_CAP * 1000.0))
    if not without:
        return None
    fastest = min(withs, key=lambda w: w[0])
    return ReadMeasure(min(without), fastest[0], fastest[1], any(w[2] for w in withs))


def is_write(sql: str) -> bool:
    """One INSERT / UPDATE / DELETE / REPLACE statement (what a write replay may run).

    >>> is_write("DELETE FROM t WHERE a < 3 LIMIT 10"), is_write("REPLACE INTO t VALUES (1)")
    (True, True)
    >>> is_write("SELECT 1"), is_write("REPLACE INTO t VALUES (1); DROP TABLE t")
    (False, False)
    """
    if _REPLACE.match(sql or ""):
        return ";" not in sql.strip().rstrip(";")
    return isinstance(parse_statement(sql or ""), exp.Insert | exp.Update | exp.Delete)


def time_write(connection: Any, sql: str, database: str | None) -> float | None:
    """Fastest of :data:`REPEATS` runs of one write, in ms, each in a transaction rolled
    back (None when it fails - a duplicate key, a missing table - or changes no row: it
    then maintains no index, and says nothing about what one costs)."""
    changed = []

    def run(cursor: Any) -> None:
        changed.append(cursor.execute(sql))

    took = _fastest(run, connection, database, rollback=True)
    return took if took is not None and any(changed) else None


def analyze(connection: Any, sql: str, database: str | None, mysql: bool,
            index: str | None = None, repeats: int = REPEATS, cap_s: float | None = None
            ) -> tuple[float, float | None, bool] | None:
    """One SELECT under ANALYZE (MariaDB ``ANALYZE FORMAT=JSON``, MySQL ``EXPLAIN
    ANALYZE``): (fastest server time of ``repeats`` runs in ms - optimisation and
    execution, without the round trip and the plan's output, which a busy machine makes
    noisier than a small table's whole scan -, rows examined on the table ``index`` is
    on, was ``index`` used); None when it fails. ``cap_s``: each run is stopped after that
    many seconds (``max_statement_time``; MySQL ``max_execution_time``): the time is then
    ``inf``."""
    plans: list[str] = []
    times: list[float] = []

    def run(cursor: Any) -> None:
        cursor.execute(("EXPLAIN ANALYZE " if mysql else "ANALYZE FORMAT=JSON ") + sql)
        plans.append(cursor.fetchone()[0])
        server = _mysql_time(plans[-1]) if mysql else _mariadb_time(json.loads(plans[-1]))
        if server is not None:
            times.append(server)

    started = time.perf_counter()
    if cap_s is not None:
        _execute(connection, statement_cap(cap_s, mysql))
    try:
        took = _fastest(run, connection, database, repeats=repeats)
    finally:
        if cap_s is not None:
            _execute(connection, statement_cap(0, mysql))
    if took is None:
        if cap_s is not None and not plans and time.perf_counter() - started >= 0.8 * cap_s:
            return math.inf, None, False
        return None
    took = min(times) if len(times) == len(plans) else took
    if mysql:
        return took, None, bool(index) and f"using {index}" in plans[-1]
    rows, used = _mariadb_rows(json.loads(plans[-1]), index)
    return took, rows, used


def statement_cap(seconds: float, mysql: bool) -> str:
    """The session's statement time limit (0: none).

    >>> statement_cap(2.5, False), statement_cap(2.5, True)
    ('SET SESSION max_statement_time = 2.500', 'SET SESSION max_execution_time = 2500')
    """
    if mysql:
        return f"SET SESSION max_execution_time = {int(seconds * 1000)}"
    return f"SET SESSION max_statement_time = {seconds:.3f}"


def _drop_leftovers(connection: Any, table: Table) -> None:
    """After a lost connection: the what-if indexes and sampled copy of ``table`` that the
    interrupted measurement may have left, dropped."""
    where = table_sql(table.name, table.schema)
    with connection.cursor() as cursor:
        cursor.execute("SELECT index_name FROM information_schema.statistics WHERE "
                       "table_schema = COALESCE(%s, DATABASE()) AND table_name = %s AND "
                       "index_name LIKE %s", (table.schema, table.name, WHATIF_PREFIX + "%"))
        names = sorted({row[0] for row in cursor.fetchall()})
    if names:
        _execute(connection, alter_table(where, [drop_index(n) for n in names]))
    copy = COPY_PREFIX + table.name[: 64 - len(COPY_PREFIX)]
    _execute(connection, f"DROP TABLE IF EXISTS {table_sql(copy, table.schema)}")


def _mariadb_time(plan: dict[str, Any]) -> float | None:
    """Optimisation + execution time (ms) of a MariaDB ANALYZE FORMAT=JSON document."""
    block = plan.get("query_block") or {}
    if block.get("r_total_time_ms") is None:
        return None
    return float(block["r_total_time_ms"]) + float(
        (plan.get("query_optimization") or {}).get("r_total_time_ms") or 0.0)


def _mysql_time(text: str) -> float | None:
    """The top node's time to its last row (ms) in MySQL's EXPLAIN ANALYZE."""
    top = _MYSQL_TIME.search(text)
    return float(top.group(1)) if top else None


def _mariadb_rows(plan: Any, index: str | None) -> tuple[float | None, bool]:
    """(r_rows x r_loops of the table read through ``index``, was it used)."""
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if index and node.get("key") == index and "table_name" in node:
                rows = node.get("r_rows")
                loops = node.get("r_loops") or 1
                return (float(rows) * float(loops) if rows is not None else None), True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None, False


def _fastest(action: Callable[[Any], None], connection: Any, database: str | None, *,
             rollback: bool = False, repeats: int = REPEATS) -> float | None:
    best = None
    try:
        if database:
            connection.select_db(database)
        with connection.cursor() as cursor:
            for _ in range(repeats):
                if rollback:
                    cursor.execute("START TRANSACTION")
                start = time.perf_counter()
                try:
                    action(cursor)
                finally:
                    took = (time.perf_counter() - start) * 1000.0
                    if rollback:
                        cursor.execute("ROLLBACK")
                best = took if best is None else min(best, took)
                if took > SLOW_MS:
                    break
    except pymysql.MySQLError as exc:
        if lost(exc):
            raise
        return None
    return best


def _visibility(where: str, name: str, visible: bool, mysql: bool) -> str:
    state = ("VISIBLE" if visible else "INVISIBLE") if mysql else (
        "NOT IGNORED" if visible else "IGNORED")
    return alter_table(where, [f"ALTER INDEX `{name}` {state}"])


def _execute(connection: Any, sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)
