"""Check index advice against a real optimizer on a disposable server.

:func:`verify_plan` EXPLAINs (FORMAT=JSON) every class that reads a table the plan indexes,
builds all the advised indexes (MySQL 8: INVISIBLE, used only by this session through
``use_invisible_indexes``; MariaDB: built visible - the server is disposable), EXPLAINs
again and drops them. An index the optimizer does not pick for any of its classes, or that
cuts neither rows nor a filesort, is moved to ``plan.rejected`` with the reason; so is one
that makes other classes lose more than it saves. An index that makes some class's plan
worse but still pays for itself stays, with the class named in ``regresses``. An index none
of whose samples can be EXPLAINed (a performance_schema digest with ``?`` placeholders, a
truncated statement) stays in the plan with ``verified=None`` and the error in its reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pymysql
from sqlglot import exp

from dbtune.advise.estimate import COVERING_FACTOR, LOOKUP_FACTOR, SORT_FACTOR
from dbtune.advise.need import Need, TableInfo
from dbtune.advise.plan import ClassEffect, IndexAdvice, IndexPlan
from dbtune.advise.run import Advising
from dbtune.advise.session import lost, one_line, open_session, revive
from dbtune.parsing import parse_statement
from dbtune.sandbox import Server, require_disposable

#: an EXPLAIN: its table accesses, or the error message
Plan = list[dict[str, Any]] | str
#: a class's plan cost may grow this much (relative) before it counts as a regression
REGRESSION_MARGIN = 0.1

#: statements EXPLAIN may see (it never runs them)
EXPLAINABLE = (exp.Query, exp.Insert, exp.Update, exp.Delete)


def measure_statistics(run: Advising) -> None:
    """Stage (with a server): the equality columns' value distribution and each class's
    range selectivity, measured (:func:`measure_repeat`, :func:`measure_ranges`)."""
    if run.server is None:
        return
    needs = [(item, need) for item in run.analysed for need, _ in item.needs]
    measure_repeat(run.server, [(run.tables[need.table].info, need.eq) for _, need in needs])
    measure_ranges(run.server, [(run.tables[need.table].info, need, item.cls.sample,
                                 getattr(item.cls, "sample_db", None))
                                for item, need in needs if need.ranges])


def verify(run: Advising) -> None:
    """Stage (with a server): :func:`verify_plan` on the run's plan. A server that stops
    answering ends the stage with one line in the plan's "Measured on the server" section
    (the plan stays as selected, unverified)."""
    if run.server is not None and run.plan is not None:
        try:
            verify_plan(run.plan, run.server)
        except pymysql.MySQLError as exc:
            run.plan.measured.append(f"verification stopped: the server did not answer "
                                     f"({one_line(exc)}); the plan is not verified")


def verify_plan(plan: IndexPlan, server: Server) -> None:
    """Build the whole plan on ``server``, EXPLAIN before/after, keep what the optimizer uses.

    Every class that reads a table the plan indexes is EXPLAINed without and with all the
    advised indexes (built together, then dropped), so an index is judged in the company it
    will live in. An index no class of its own uses, or that cuts neither rows, nor a
    filesort, nor the plan's cost (a join may change its order), moves to
    ``plan.rejected``. A class whose plan gets worse through an index (:func:`plan_cost` up
    by more than :data:`REGRESSION_MARGIN`) is named in that index's ``regresses`` and
    reason; when those classes stand to lose more time than the index saves, the index is
    rejected. Fills ``ClassEffect.explain_before/after`` ({"access_type", "key",
    "rows", "covering", "filesort"}) and ``IndexAdvice.verified``. Raises NotDisposableError
    unless the server is disposable.
    """
    require_disposable(server, "build candidate indexes")
    invisible = server.flavour == "mysql"
    watched: dict[str, ClassEffect] = {}
    for advice in plan.advice:
        for effect in [*advice.classes, *advice.others]:
            watched.setdefault(effect.class_id, effect)
    setup = ["SET SESSION optimizer_switch='use_invisible_indexes=on'"] if invisible else []
    with open_session(server, setup) as connection:
        before = {k: explain(connection, e.sql, e.db) for k, e in watched.items()}
        built: list[IndexAdvice] = []
        try:
            for advice in list(plan.advice):
                why = build(connection, advice, invisible)
                if why:
                    advice.verified = False
                    plan.advice.remove(advice)
                    plan.rejected.append((advice, why))
                    continue
                built.append(advice)
            after = {k: explain(connection, e.sql, e.db) for k, e in watched.items()}
        finally:
            for advice in reversed(built):
                drop(connection, advice)
    for advice in built:
        why = judge(advice, before, after)
        if why:
            plan.advice.remove(advice)
            plan.rejected.append((advice, why))


def verify_advice(connection: Any, advice: IndexAdvice, *, invisible: bool = False) -> str:
    """Build, EXPLAIN and drop one index on its own; "" when kept, else the reason."""
    watched = {e.class_id: e for e in [*advice.classes, *advice.others]}
    before = {k: explain(connection, e.sql, e.db) for k, e in watched.items()}
    why = build(connection, advice, invisible)
    if why:
        advice.verified = False
        return why
    try:
        after = {k: explain(connection, e.sql, e.db) for k, e in watched.items()}
    finally:
        drop(connection, advice)
    return judge(advice, before, after)


def build(connection: Any, advice: IndexAdvice, invisible: bool) -> str:
    """Build ``advice`` on ``connection``'s server: "" when built, else the reason in one
    line. A lost connection (the ALTER outlived the client's read timeout) is reconnected
    and the ALTER killed (:func:`dbtune.advise.session.revive`); that index only is lost."""
    try:
        _use_schema(connection, advice)
        _run(connection, advice.add_ddl(invisible=invisible))
    except pymysql.MySQLError as exc:
        if lost(exc):
            revive(connection)
            return f"the server could not build it: the connection was lost ({one_line(exc)})"
        return f"the server could not build it: {one_line(exc)}"
    return ""


def drop(connection: Any, advice: IndexAdvice) -> None:
    """Drop a built ``advice`` again (reconnecting once if the connection was lost)."""
    for attempt in (1, 2):
        try:
            _use_schema(connection, advice)
            _run(connection, advice.rollback_ddl)
            return
        except pymysql.MySQLError as exc:
            if attempt == 2 or not lost(exc):
                raise
            revive(connection)


def judge(advice: IndexAdvice, before: dict[str, Plan], after: dict[str, Plan]) -> str:
    """Did the optimizer use ``advice`` for its classes, and did it hurt any class?
    "" to keep it (``verified`` set, regressions noted), else the reason to reject it."""
    advice.verified = False
    for effect in advice.classes:
        old, new = before[effect.class_id], after[effect.class_id]
        if isinstance(new, str) or isinstance(old, str):
            continue
        mine = next((t for t in new if t["key"] == advice.name), None)
        if mine is None:
            continue
        was = next((t for t in old if t["table"] == mine["table"]), None) or {}
        effect.explain_before, effect.explain_after = was, mine
        cut = None in (was.get("rows"), mine["rows"]) or mine["rows"] < was["rows"]
        # a join may change its order: the table read first now was an inner lookup before
        limit = row_limit(effect.sql)
        cheaper = plan_cost(new, limit) * (1 + REGRESSION_MARGIN) < plan_cost(
            old, limit, _walked(effect))
        if cut or cheaper or (_sorts(old) and not _sorts(new)):
            advice.verified = True
    loss = 0.0
    for effect in [*advice.classes, *advice.others]:
        old, new = before[effect.class_id], after[effect.class_id]
        if isinstance(new, str) or isinstance(old, str) or not new:
            continue
        if all(t["key"] != advice.name for t in new):
            continue
        limit = row_limit(effect.sql)
        cost_before, cost_after = plan_cost(old, limit, _walked(effect)), plan_cost(new, limit)
        if cost_after > cost_before * (1 + REGRESSION_MARGIN):
            loss += effect.share * min(cost_after / max(cost_before, 1.0) - 1, 1.0)
            advice.regressed.append(effect.class_id)
            advice.regresses.append(f"{effect.class_id} {_abbreviate(effect.sql)} "
                                    f"({_describe(old)} -> {_describe(new)})")
    if advice.regresses:
        advice.reason += "; regresses: " + "; ".join(advice.regresses)
        if loss > advice.saved_share:
            return (f"it makes other classes slower than it makes its own faster: "
                    f"{'; '.join(advice.regresses)}")
    if advice.verified:
        return ""
    errors = [v for e in advice.classes for v in (before[e.class_id], after[e.class_id])
              if isinstance(v, str)]
    if len(errors) == 2 * len(advice.classes):  # nothing could be EXPLAINed: keep, unverified
        advice.verified = None
        advice.reason += f" (not verified: EXPLAIN failed: {errors[0]})"
        return ""
    return "the optimizer did not use it, or it cut neither rows nor a filesort"


def plan_cost(tables: list[dict[str, Any]], limit: int | None = None,
              walked: float | None = None) -> float:
    """An EXPLAIN plan's cost in rows of a full scan, by the advisor's own model: rows per
    table times the rows that reach it, a clustered-index lookup per row read through a
    secondary index that does not cover the statement (:data:`LOOKUP_FACTOR`), half a row
    through one that does, and the filesort. ``limit`` (LIMIT + OFFSET of a statement that
    does not aggregate): a one-table plan without a sort stops after that many matching rows
    (EXPLAIN's rows ignore the LIMIT).

    How soon such a walk meets its matches EXPLAIN cannot say: it assumes them spread
    evenly, so ``created_at >= <yesterday> ORDER BY id LIMIT 10`` walked in primary-key
    order looks like a few hundred rows when the walk passes every older row first.
    ``walked``: the class's own figure for a walk no key bounds (``index`` or ``ALL``:
    rows examined as logged, else :func:`dbtune.advise.estimate.early_stop`'s), taken when
    larger."""
    total, reach = 0.0, 1.0
    stops = limit is not None and len(tables) == 1 and not _sorts(tables)
    for table in tables:
        rows = table["rows"] if table["rows"] is not None else 1.0
        if stops:
            rows = min(rows, limit / max((table["filtered"] or 100.0) / 100.0, 1e-6))
            if walked is not None and table["access_type"] in ("index", "ALL"):
                rows = max(rows, walked)
        if table["access_type"] == "ALL" or not table["key"] or table["key"] == "PRIMARY":
            factor = 1.0
        else:
            factor = COVERING_FACTOR if table["covering"] else LOOKUP_FACTOR
        total += reach * rows * factor
        reach *= max(rows * (table["filtered"] or 100.0) / 100.0, 1.0)
    return total * (SORT_FACTOR if _sorts(tables) else 1.0)


def _walked(effect: ClassEffect) -> float:
    """Rows today's plan of ``effect``'s class examines: as logged, else as estimated."""
    logged = effect.rows_examined_logged
    return float(logged) if logged is not None else effect.rows_before


def row_limit(sql: str) -> int | None:
    """LIMIT + OFFSET of a statement whose rows can stop a scan early (no GROUP BY or
    aggregate), else None.

    >>> row_limit("SELECT a FROM t WHERE b = 1 ORDER BY c LIMIT 50 OFFSET 100")
    150
    >>> row_limit("SELECT b, COUNT(*) FROM t GROUP BY b LIMIT 5") is None
    True
    """
    tree = parse_statement(sql)
    if tree is None or tree.find(exp.Group, exp.AggFunc):
        return None
    limit = tree.args.get("limit")
    if limit is None or not isinstance(limit.expression, exp.Literal):
        return None
    offset = tree.args.get("offset")
    extra = offset.expression if offset is not None else None
    try:
        return int(limit.expression.name) + (int(extra.name) if isinstance(extra, exp.Literal)
                                             else 0)
    except ValueError:
        return None


def _describe(tables: list[dict[str, Any]]) -> str:
    return ", ".join(f"{t['access_type']} {t['key'] or ''} {t['rows'] or 0:,.0f} rows".replace(
        "  ", " ") for t in tables)


def _abbreviate(sql: str, width: int = 48) -> str:
    text = " ".join(sql.split())
    return f"[{text if len(text) <= width else text[:width - 3] + '...'}]"


def _use_schema(connection: Any, advice: IndexAdvice) -> None:
    database = advice.schema or next((c.db for c in advice.classes if c.db), None)
    if database:
        connection.select_db(database)


def measure_repeat(server: Server, columns: Iterable[tuple[TableInfo, Iterable[str]]]) -> None:
    """Measure, on ``server``, the value distribution of the equality columns the estimator
    will use: ``TableInfo.repeat[column]`` = sum(p_i^2) (the fraction of rows a value drawn
    the way the rows are meets) and, where the catalog had none, ``ndv``.

    One read-only ``GROUP BY`` per column. Statements look popular values up more often than
    rare ones: on the marketplace fixture the busiest seller holds 22% of the listings, so
    ``seller_id = ?`` meets about 8,000 rows per lookup on average over the workload, not the
    60 that 120,000 rows / 1,974 sellers suggest.
    """
    require_disposable(server, "measure column statistics")
    wanted: dict[int, tuple[TableInfo, set[str]]] = {}
    for info, names in columns:
        wanted.setdefault(id(info), (info, set()))[1].update(names)
    with server.connect() as connection, connection.cursor() as cursor:
        for info, names in wanted.values():
            table = exp.table_(info.name, db=info.schema, quoted=True).sql(dialect="mysql")
            for column in sorted(names - set(info.repeat)):
                quoted = exp.column(column, quoted=True).sql(dialect="mysql")
                try:
                    cursor.execute(f"SELECT COUNT(*), SUM(n), SUM(n * n) FROM (SELECT COUNT(*) "
                                   f"AS n FROM {table} GROUP BY {quoted}) AS g")
                    values, rows, squares = cursor.fetchone()
                except pymysql.MySQLError:
                    continue
                if values and rows:
                    info.measured(column, repeat=float(squares) / float(rows) ** 2,
                                  ndv=float(values))


def measure_ranges(server: Server,
                   items: Iterable[tuple[TableInfo, Need, str, str | None]]) -> None:
    """Measure, on ``server``, the fraction of its table each class's range predicates keep
    (``TableInfo.ranges[(class id, column)]``), from the literals of the class's sample.

    ``created_at >= NOW() - INTERVAL 7 DAY`` keeps 4% of six months of orders, not the
    third a range is assumed to keep without it. One read-only ``SELECT COUNT(*)`` per
    (class, range column), built by sqlglot from the sample's own predicates on that column
    (constants only: a predicate comparing two columns is left out).
    """
    require_disposable(server, "measure range selectivity")
    with server.connect() as connection, connection.cursor() as cursor:
        for info, need, sql, database in items:
            tree = parse_statement(sql)
            if not isinstance(tree, EXPLAINABLE) or not need.ranges:
                continue
            for column in need.ranges:
                where = _range_predicates(tree, info.name, column)
                if where is None or (need.class_id, column) in info.ranges:
                    continue
                table = exp.table_(info.name, db=info.schema or database, quoted=True)
                query = exp.select("COUNT(*)").from_(table).where(where).sql(dialect="mysql")
                try:
                    cursor.execute(query)
                    (count,) = cursor.fetchone()
                except pymysql.MySQLError:
                    continue
                info.ranges[(need.class_id, column)] = float(count) / max(info.rows, 1.0)


def _range_predicates(tree: exp.Expression, table: str, column: str) -> exp.Expression | None:
    """The sample's range predicates on ``table.column`` against constants, ANDed, with the
    column unqualified; None when there are none."""
    names = {t.alias_or_name.lower(): t.name.lower() for t in tree.find_all(exp.Table)}
    found = []
    for node in tree.find_all(exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.Like):
        target = node.this
        others = [v for k, v in node.args.items() if k != "this" and isinstance(v, exp.Expression)]
        if (not isinstance(target, exp.Column) or target.name.lower() != column.lower()
                or names.get(target.table.lower(), table.lower() if not target.table else None)
                != table.lower()
                or any(o.find(exp.Column) for o in others)):
            continue
        copy = node.copy()
        copy.set("this", exp.column(column, quoted=True))
        found.append(copy)
    return exp.and_(*found) if found else None


def explain(connection: Any, sql: str, database: str | None) -> list[dict[str, Any]] | str:
    """The tables of ``EXPLAIN FORMAT=JSON sql`` (or the error message as a string).

    Only one SELECT / INSERT / UPDATE / DELETE (as sqlglot parses it) is EXPLAINed: a log
    sample holding a second statement or anything else is never sent.
    """
    if not isinstance(parse_statement(sql), EXPLAINABLE):
        return "not a single SELECT/INSERT/UPDATE/DELETE statement"
    try:
        if database:
            connection.select_db(database)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN FORMAT=JSON " + sql)
            (text,) = cursor.fetchone()
    except pymysql.MySQLError as exc:
        if lost(exc):
            revive(connection)
        return f"{exc.args[-1] if exc.args else exc}"
    plan = json.loads(text)
    sorts = _has_filesort(plan)
    return [{"table": t.get("table_name"), "access_type": t.get("access_type"),
             "key": t.get("key"), "rows": _rows(t), "filtered": t.get("filtered"),
             "covering": bool(t.get("using_index")), "filesort": sorts}
            for t in _tables(plan)]


def _tables(node: Any) -> Iterator[dict[str, Any]]:
    """Every table access in an EXPLAIN JSON document (MySQL and MariaDB shapes)."""
    if isinstance(node, dict):
        if "table_name" in node and "access_type" in node:
            yield node
        for value in node.values():
            yield from _tables(value)
    elif isinstance(node, list):
        for value in node:
            yield from _tables(value)


def _rows(table: dict[str, Any]) -> float | None:
    for key in ("rows", "rows_examined_per_scan"):
        if table.get(key) is not None:
            return float(table[key])
    return None


def _has_filesort(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("using_filesort") is True or "filesort" in node:
            return True
        return any(_has_filesort(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_filesort(v) for v in node)
    return False


def _sorts(tables: list[dict[str, Any]]) -> bool:
    return any(t["filesort"] for t in tables)


def _run(connection: Any, sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)
