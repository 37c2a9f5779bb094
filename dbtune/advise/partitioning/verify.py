"""Proof on a disposable server: partition, EXPLAIN every class, compare results, restore.

For each table the plan partitions, every class on it is EXPLAINed (its ``partitions``
column: the pruning the server really does) and, for SELECTs, run and checksummed, before
and after the ALTER; then the rollback restores the table. A statement the server rejects
becomes one line in ``plan.skipped`` and the other tables go on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

import pymysql

from dbtune.advise.partitioning.plan import PARTITION, PartitionPlan, TableVerdict
from dbtune.catalog import Catalog
from dbtune.sandbox import require_disposable


def verify_plan(plan: PartitionPlan, catalog: Catalog, classes: Sequence[Any], server: Any) -> None:
    """Fill ``measured`` of every ``partition`` verdict from ``server`` (must be disposable)."""
    require_disposable(server, "partition tables to verify partitioning advice")
    by_id = {c.id: c for c in classes}
    for verdict in plan.tables:
        if verdict.verdict != PARTITION:
            continue
        table = catalog.table(verdict.table)
        with server.connect(table.schema) as connection:
            error = verify_table(connection, verdict, by_id)
        if error:
            plan.skipped.append(f"{table.qualified_name}: {error}")
            verdict.warnings.append(f"not verified: {error}")


def verify_table(connection: Any, verdict: TableVerdict, classes: dict[str, Any]) -> str:
    """Measure one verdict's classes before/after its DDL, then roll back; "" or the error."""
    explainable = [(p.class_id, classes[p.class_id]) for p in verdict.pruning
                   if p.kind != "insert" and p.class_id in classes]
    before = {cid: _measure(connection, c, run=True) for cid, c in explainable}
    error = _timed(connection, verdict.ddl, verdict.verification, "alter_seconds")
    if error:
        return f"the server rejected the partitioning: {error}"
    try:
        for cid, cls in explainable:
            after = _measure(connection, cls, run=True)
            old = before[cid]
            verdict.measured[cid] = {
                "partitions_read": after.get("partitions"),
                "partitions": after.get("count"),
                "rows_before": old.get("rows"), "rows_after": after.get("rows"),
                "identical": (old.get("checksum") == after.get("checksum")
                              if "checksum" in old else None),
                "error": after.get("error"),
            }
    finally:
        error = _timed(connection, verdict.rollback, verdict.verification, "rollback_seconds")
    return f"the rollback failed, the table stays partitioned: {error}" if error else ""


def _timed(connection: Any, statements: Sequence[str], into: dict[str, Any], key: str) -> str:
    """Run ``statements``, their seconds into ``into[key]``; "" or the server's message."""
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
    except pymysql.MySQLError as exc:
        return _message(exc)
    into[key] = round(time.perf_counter() - started, 3)
    return ""


def _message(exc: Exception) -> str:
    return str(exc.args[-1] if exc.args else exc)


def explain_partitions(connection: Any, sql: str) -> tuple[list[str], int | None]:
    """The partitions EXPLAIN lists for ``sql`` (every table row), and its rows estimate."""
    with connection.cursor() as cursor:
        for prefix in ("EXPLAIN ", "EXPLAIN PARTITIONS "):
            cursor.execute(prefix + sql)
            names = [d[0].lower() for d in cursor.description]
            rows = cursor.fetchall()
            if "partitions" in names:
                break
        else:
            return [], None
    at, est = names.index("partitions"), names.index("rows") if "rows" in names else None
    parts = [p for r in rows if r[at] for p in str(r[at]).split(",")]
    estimate = sum(int(r[est] or 0) for r in rows) if est is not None else None
    return list(dict.fromkeys(parts)), estimate


def _measure(connection: Any, cls: Any, *, run: bool) -> dict[str, Any]:
    sql = cls.sample
    try:
        parts, rows = explain_partitions(connection, sql)
    except pymysql.MySQLError as exc:
        return {"error": _message(exc)}
    out: dict[str, Any] = {"partitions": ",".join(parts), "count": len(parts), "rows": rows}
    if run and sql.lstrip().lower().startswith(("select", "(select", "with")):
        with connection.cursor() as cursor:
            cursor.execute(sql)
            digest = hashlib.sha1()
            for row in sorted(repr(r) for r in cursor.fetchall()):
                digest.update(row.encode())
        out["checksum"] = digest.hexdigest()
    return out
