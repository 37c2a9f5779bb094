"""``advise_partitions(classes, catalog) -> PartitionPlan``: the stages, in order.

1. :func:`~.candidates.table_uses`: the classes that touch each table (sqlglot once per class);
2. size (:class:`~.candidates.Thresholds`) and the column that carries the ranges and the
   purge (:func:`~.candidates.best_column`);
3. :func:`~.scheme.plan_scheme` from the column's bounds (read from a server, or given);
4. :data:`~.constraints.CHECKS` against the catalog;
5. :func:`~.pruning.class_pruning` per class, weighed; the primary-key alternative weighed;
6. DDL, rollback and :func:`~.retention.maintenance` for the tables that win;
7. optionally :func:`~.verify.verify_plan` on a disposable server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from dbtune.advise.partitioning.candidates import (
    INTEGER,
    TEMPORAL,
    ClassUse,
    Thresholds,
    best_column,
    partitionable_columns,
    table_uses,
)
from dbtune.advise.partitioning.constraints import Context, KeyChange, run_checks
from dbtune.advise.partitioning.plan import DO_NOT, PARTITION, PartitionPlan, TableVerdict
from dbtune.advise.partitioning.pruning import class_pruning
from dbtune.advise.partitioning.retention import maintenance, retention_days
from dbtune.advise.partitioning.scheme import SchemeError, plan_scheme
from dbtune.catalog import Catalog, Table, quote
from dbtune.model import Advice

Bounds = tuple[Any, Any]


def advise_partitions(
    classes: Any,
    catalog: Catalog,
    *,
    thresholds: Thresholds | None = None,
    retention: Mapping[str, float] | None = None,
    bounds: Mapping[str, Bounds] | None = None,
    connection: Any = None,
    now: datetime | None = None,
    max_live: int = 50,
    ahead: int = 3,
    index_advice: Sequence[Advice] | None = None,
    force: Collection[str] = (),
    verify_on: Any = None,
) -> PartitionPlan:
    """Per table touched by ``classes`` (a Digest or query classes): partition, or not, why.

    ``retention``: days to keep per table (else read from the purge DELETEs). ``bounds``:
    (oldest, newest) value of the partition column per table; else read from ``connection``
    (``SELECT MIN(col), MAX(col)``, read-only) when given, else a year up to ``now``.
    ``now`` defaults to the column's newest value when known, else the clock.
    ``index_advice``: the index advisor's Advice (``advise_indexes(...).to_advice()``); None
    runs it. ``force``: tables to partition even where the estimate says the losers outweigh
    the winners (never past a blocking check). ``verify_on``: a disposable Server holding
    schema and data: each advised table is partitioned there, every class EXPLAINed and run
    before and after, then restored.
    """
    classes = list(classes.ranked() if hasattr(classes, "ranked") else classes)
    thresholds = thresholds or Thresholds()
    if index_advice is None:
        from dbtune.advise.indexes import advise_indexes

        index_advice = advise_indexes(classes, catalog).to_advice()
    plan = PartitionPlan()
    uses = table_uses(classes, catalog)
    retention = dict(retention or {})
    for key in sorted(set(uses) | {k for k in retention if catalog.table(k)}):
        table = catalog.table(key)
        verdict = _advise_table(table, key, uses.get(key, []), catalog, thresholds,
                                _lookup(retention, table), _lookup(bounds or {}, table),
                                connection, now, max_live, ahead,
                                _lookup(dict.fromkeys(force, True), table) or False,
                                [a for a in index_advice if a.kind == "add_index"
                                 and catalog.table(a.table) is table])
        plan.tables.append(verdict)
        if verdict.verdict == DO_NOT and verdict.column and any(
                c.name == "column_type" and c.status == "blocks" for c in verdict.checks):
            plan.skipped.append(f"{table.qualified_name}.{verdict.column}: {verdict.reasons[0]}")
    for name in sorted(set(retention) - {t.table for t in plan.tables}):
        if catalog.table(name) is None:
            plan.skipped.append(f"{name}: table not in the catalog (dropped or renamed?); "
                                "retention ignored")
    if verify_on is not None:
        from dbtune.advise.partitioning.verify import verify_plan

        verify_plan(plan, catalog, classes, verify_on)
    return plan


def _lookup(mapping: Mapping[str, Any], table: Table) -> Any:
    for name in (table.qualified_name, table.name):
        if name in mapping:
            return mapping[name]
    return None


def column_bounds(connection: Any, table: Table, column: str) -> Bounds:
    """``SELECT MIN(col), MAX(col)`` on ``table`` (read-only; a full scan without an index)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN({quote(column)}), MAX({quote(column)}) FROM "
                       f"{table.sql_name()}")
        return tuple(cursor.fetchone())


def _advise_table(table: Table, key: str, uses: list[ClassUse], catalog: Catalog,
                  thresholds: Thresholds, keep_days: float | None, bounds: Bounds | None,
                  connection: Any, now: datetime | None, max_live: int, ahead: int,
                  forced: bool, advised: list[Advice]) -> TableVerdict:
    verdict = TableVerdict(key, DO_NOT)
    large = thresholds.large(table)
    if large is False:
        mib = ((table.data_bytes or 0) + (table.index_bytes or 0)) / 2**20
        verdict.reasons.append(f"small: {table.rows or 0:,} rows, {mib:,.1f} MiB (below "
                               f"{thresholds.min_rows:,} rows and "
                               f"{thresholds.min_bytes / 2**20:,.0f} MiB): partitions would only "
                               "add overhead")
        return verdict
    if large is None:
        verdict.reasons.append("size unknown (the DDL has no statistics): read the catalog from "
                               "a server (--dsn), or lower --min-rows to 0 to advise anyway")
        return verdict
    column, range_share = best_column(table, uses)
    if column is None:
        column = next((c for c in partitionable_columns(table)
                       if keep_days is not None and c not in table.primary_key), None)
    if column is None:
        lookups = sorted({c for u in uses for c in u.equality})
        verdict.reasons.append("read by point lookups" + (f" on {', '.join(lookups)}" if lookups
                                                          else "") +
                               ": no class filters by a range on a temporal column, none purges "
                               "by one; partitioning would make every lookup probe each partition")
        return verdict
    verdict.column = column
    purges = [u for u in uses if u.purge and column.lower() in {r.lower() for r in u.ranges}]
    col_type = table.column(column).type
    low, high = bounds or (column_bounds(connection, table, column) if connection is not None
                           and _orderable(col_type) else (None, None))
    if high is None and INTEGER.match(col_type):  # an auto-increment key: ids 1..rows
        low, high = 1, max(table.rows or 1, 1)
    when = now or (high if isinstance(high, datetime) else None) or datetime.now()
    keep_days = keep_days if keep_days is not None else retention_days(purges, column, when)
    verdict.retention_days = keep_days
    ctx = Context(table, column, catalog, uses)
    with contextlib.suppress(SchemeError):  # check_column_type says why
        ctx.scheme = plan_scheme(column, col_type, low=low, high=high, now=when,
                                 retention_days=keep_days, max_live=max_live, ahead=ahead)
    verdict.scheme = ctx.scheme
    verdict.checks = run_checks(ctx)
    blocking = [c for c in verdict.checks if c.status == "blocks"]
    if blocking:
        verdict.reasons += [f"blocked: {c.reason}" for c in blocking]
        return verdict
    if (range_share < thresholds.min_range_share and not purges and keep_days is None
            and not forced):
        verdict.reasons.append(f"ranges on {column} carry {range_share:.0%} of the table's "
                               f"read and write time (below {thresholds.min_range_share:.0%}), "
                               "and nothing purges by it")
        return verdict
    changes = [ch for c in verdict.checks for ch in c.changes]
    lookups, range_index = _indexes(table, column, changes, advised)
    verdict.pruning = [class_pruning(u, ctx.scheme, lookups=lookups, range_index=range_index,
                                     now=when) for u in uses]
    verdict.alternative = _by_primary_key(table, column, uses, low, high, when, max_live, ahead)
    verdict.warnings = [c.reason for c in verdict.checks if c.status in ("warns", "changes")]
    verdict.warnings += [f"{ch.lost}; relied on by {', '.join(ch.relied_on)}"
                         for ch in changes if ch.relied_on]
    _weigh(verdict, range_index, purges, forced)
    if verdict.verdict == PARTITION:
        _statements(verdict, table, changes, keep_days)
    return verdict


def _orderable(col_type: str) -> bool:
    return col_type.split("(")[0] in TEMPORAL or bool(INTEGER.match(col_type))


def _indexes(table: Table, column: str, changes: list[KeyChange], advised: list[Advice]
             ) -> tuple[set[str], str | None]:
    """Columns point lookups reach through an index (first key parts), and an index (existing
    or advised) that leads with the partition column."""
    leads = [(i.name, [c.lower() for c in i.columns]) for i in table.indexes if i.kind == "BTREE"]
    leads += [(a.details.get("index", a.title), [c.lower() for c in a.details.get("columns", [])])
              for a in advised]
    lookups = {cols[0] for _, cols in leads if cols and cols[0] != column.lower()}
    range_index = next((name for name, cols in leads if cols and cols[0] == column.lower()), None)
    return lookups, range_index


def _weigh(verdict: TableVerdict, range_index: str | None, purges: list[ClassUse],
           forced: bool) -> None:
    gain, loss = verdict.gain, verdict.loss
    losers = [p for p in verdict.pruning if p.role == "loses"]
    wins = [p for p in verdict.pruning if p.role == "wins"]
    if gain <= 0 and range_index:
        verdict.better_index = range_index
        verdict.reasons.append(f"better served by the index {range_index}: it reads the ranges "
                               f"on {verdict.column} already; partitioning would add "
                               f"{loss:.2%} of query time to {len(losers)} lookup class(es)")
    elif gain <= loss:
        verdict.reasons.append(f"losers outweigh winners: {len(losers)} class(es) without a "
                               f"predicate on {verdict.column} lose ~{loss:.2%} of total query "
                               f"time, the winners gain ~{gain:.2%}")
    else:
        verdict.verdict = PARTITION
        verdict.reasons.append(f"{len(wins)} class(es) read a few partitions instead of the "
                               f"table, {len(purges)} purge(s) become DROP PARTITION: ~{gain:.2%} "
                               f"of total query time won against ~{loss:.2%} lost by "
                               f"{len(losers)} lookup class(es)")
    if forced and verdict.verdict != PARTITION:
        verdict.verdict = PARTITION
        verdict.reasons[-1] = f"forced, against the estimate ({verdict.reasons[-1]})"


def _statements(verdict: TableVerdict, table: Table, changes: list[KeyChange],
                keep_days: float | None) -> None:
    scheme = verdict.scheme
    name = table.sql_name()
    keys = []
    for ch in changes:
        cols = ", ".join(quote(c) for c in ch.columns)
        old = ", ".join(quote(c) for c in ch.index.columns)
        if ch.index.primary:
            keys.append((f"DROP PRIMARY KEY, ADD PRIMARY KEY ({cols})",
                         f"DROP PRIMARY KEY, ADD PRIMARY KEY ({old})"))
        else:
            keys.append((f"DROP INDEX {quote(ch.index.name)}, ADD UNIQUE INDEX "
                         f"{quote(ch.index.name)} ({cols})",
                         f"DROP INDEX {quote(ch.index.name)}, ADD UNIQUE INDEX "
                         f"{quote(ch.index.name)} ({old})"))
    head = f"ALTER TABLE {name} " + (", ".join(k for k, _ in keys) + "\n" if keys else "")
    verdict.ddl = [head + scheme.clause()]
    verdict.rollback = [f"ALTER TABLE {name} REMOVE PARTITIONING"]
    if keys:
        verdict.rollback.append(f"ALTER TABLE {name} " + ", ".join(r for _, r in keys))
    verdict.maintenance = maintenance(name, table.name, table.schema, scheme,
                                      retention_days=keep_days)
    verdict.warnings.append(
        f"rebuilds the table (a copy, writes blocked while it runs on {table.rows or 0:,} rows): "
        "schedule it, or run it through pt-online-schema-change / gh-ost")
    verdict.warnings.append(
        f"no MAXVALUE partition: an insert beyond the last bound fails; install the maintenance "
        f"event, it keeps {scheme.ahead} partitions ahead")


def _by_primary_key(table: Table, column: str, uses: list[ClassUse], low: Any, high: Any,
                    now: datetime, max_live: int, ahead: int) -> dict[str, Any] | None:
    """RANGE(id) on the auto-increment key, weighed: no key change, id lookups pruned, the
    time ranges read every partition."""
    pk = table.primary_key
    if len(pk) != 1 or pk[0].lower() == column.lower():
        return None
    col = table.column(pk[0])
    if col is None or not INTEGER.match(col.type):
        return None
    top = table.rows or 1
    scheme = plan_scheme(col.name, col.type, low=1, high=top, now=now, max_live=max_live,
                         ahead=ahead)
    rows = [class_pruning(u, scheme, lookups=set(), range_index=None, now=now) for u in uses]
    pruned = [r.class_id for r in rows if r.touched < r.total and r.role != "same"]
    gain = sum(r.gain for r in rows if r.gain > 0)
    summary = (f"RANGE({col.name}) in {scheme.partition_count} partitions of "
               f"{int(scheme.upper) - int(scheme.lowers[-1]):,} ids keeps the primary key as it "
               f"is and prunes lookups by {col.name}; the ranges on {column} read every "
               f"partition (~{gain:.2%} of query time won), and a purge by {column} cannot drop "
               "a partition unless its ids map to dates")
    return {"column": col.name, "partitions": scheme.partition_count, "gain": gain,
            "pruned_classes": pruned, "summary": summary, "clause": scheme.clause()}
