"""Check index advice against a real optimizer on a disposable server.

For each recommended index: EXPLAIN FORMAT=JSON every class it should help, build the index
(MySQL 8: INVISIBLE, used only by this session through ``use_invisible_indexes``; MariaDB:
built visible - the server is disposable), EXPLAIN again, drop it. An index the optimizer
does not pick for any of its classes, or that cuts neither rows nor a filesort, is moved to
``plan.rejected`` with the reason. An index none of whose samples can be EXPLAINed (a
performance_schema digest with ``?`` placeholders, a truncated statement) stays in the plan
with ``verified=None`` and the error in its reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pymysql
from sqlglot import exp

from dbtune.parsing import parse_statement
from dbtune.sandbox import Server, require_disposable

if TYPE_CHECKING:
    from dbtune.advise.indexes import IndexAdvice, IndexPlan

#: statements EXPLAIN may see (it never runs them)
EXPLAINABLE = (exp.Query, exp.Insert, exp.Update, exp.Delete)


def verify_plan(plan: IndexPlan, server: Server) -> None:
    """EXPLAIN before/after each advised index on ``server``; keep only what the optimizer uses.

    Fills ``ClassEffect.explain_before/after`` ({"access_type", "key", "rows", "filesort"})
    and ``IndexAdvice.verified``. Raises NotDisposableError unless the server is disposable.
    """
    require_disposable(server, "build candidate indexes")
    invisible = server.flavour == "mysql"
    with server.connect() as connection:
        if invisible:
            _run(connection, "SET SESSION optimizer_switch='use_invisible_indexes=on'")
        for advice in list(plan.advice):
            why = verify_advice(connection, advice, invisible=invisible)
            if why:
                plan.advice.remove(advice)
                plan.rejected.append((advice, why))


def verify_advice(connection: Any, advice: IndexAdvice, *, invisible: bool = False) -> str:
    """Build, EXPLAIN and drop one index; "" when the optimizer uses it, else the reason."""
    database = advice.schema or next((c.db for c in advice.classes if c.db), None)
    if database:
        connection.select_db(database)
    before = {c.class_id: explain(connection, c.sql, c.db) for c in advice.classes}
    try:
        _run(connection, advice.add_ddl(invisible=invisible))
    except pymysql.MySQLError as exc:
        advice.verified = False
        return f"the server could not build it: {exc.args[-1] if exc.args else exc}"
    try:
        after = {c.class_id: explain(connection, c.sql, c.db) for c in advice.classes}
    finally:
        if database:
            connection.select_db(database)
        _run(connection, advice.rollback_ddl)
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
        if cut or (_sorts(old) and not _sorts(new)):
            advice.verified = True
    if advice.verified:
        return ""
    errors = [v for v in [*before.values(), *after.values()] if isinstance(v, str)]
    if len(errors) == 2 * len(advice.classes):  # nothing could be EXPLAINed: keep, unverified
        advice.verified = None
        advice.reason += f" (not verified: EXPLAIN failed: {errors[0]})"
        return ""
    return "the optimizer did not use it, or it cut neither rows nor a filesort"


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
        return f"{exc.args[-1] if exc.args else exc}"
    plan = json.loads(text)
    sorts = _has_filesort(plan)
    return [{"table": t.get("table_name"), "access_type": t.get("access_type"),
             "key": t.get("key"), "rows": _rows(t), "filesort": sorts}
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
