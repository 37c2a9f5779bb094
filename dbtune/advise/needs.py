"""Input adaptation, the first stages of the advisor: query classes and a catalog become
:class:`~dbtune.advise.need.Need` per (class, table) and the per-table search state.

:func:`find_needs` analyses each class's sample once (sqlglot, through
:func:`dbtune.access.access_patterns`); :func:`weigh_needs` then splits each class's share
of query time over the tables it reads and records its writes (after the statistics
stage, so the split uses measured figures).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlglot import exp

from dbtune.access import access_patterns
from dbtune.advise.joinorder import IN_SUBQUERY_VALUES, JoinStep, join_order
from dbtune.advise.need import DEFAULT_ROWS, Need, TableInfo
from dbtune.advise.plan import ClassFinding
from dbtune.advise.rangestats import range_fractions
from dbtune.advise.run import Advising, Analysed
from dbtune.advise.writecost import Write, updated_columns, write_fraction
from dbtune.catalog import Catalog, Index, Table, type_width
from dbtune.parsing import parse_statement


def find_needs(run: Advising) -> None:
    """Stage: every class's needs and written tables; findings; one search state per table
    read (its TableInfo without the indexes hygiene drops)."""
    for cls, share in zip(run.classes, run.shares, strict=True):
        needs, written, findings, _ = needs_for_class(cls, share, run.catalog)
        run.findings += findings
        run.analysed.append(Analysed(cls, share, needs, written))
        for _, table in needs:
            run.state(table, table_info(table, indexes=run.standing(table)))


def weigh_needs(run: Advising) -> None:
    """Stage: each class's writes per table (the share spent changing rows) and each need's
    weight (the class's share split by the estimated cost on each table it reads)."""
    for item in run.analysed:
        sets = updated_columns(item.cls.sample)
        for table in item.written:
            state = run.state(table, table_info(table, indexes=run.standing(table)))
            own = [need for need, t in item.needs if t is table]
            today = [state.baseline(need)[0].rows for need in own]
            state.writes.append(Write(item.cls.id,
                                      item.share * write_fraction(own, state.info, today),
                                      sets))
        costs = [run.tables[need.table].baseline(need)[0].cost for need, _ in item.needs]
        for (need, _), cost in zip(item.needs, costs, strict=True):
            run.tables[need.table].needs.append(
                replace(need, weight=item.share * cost / sum(costs)))


def class_shares(classes: Sequence[Any]) -> list[float]:
    """Each class's share of total query time: its ``share``, else from query_time sums."""
    given = [getattr(c, "share", None) for c in classes]
    if all(s is not None for s in given):
        return [float(s) for s in given]
    sums = [float((getattr(c, "metrics", None) or {}).get("query_time", {}).get("sum", 0.0))
            for c in classes]
    total = sum(sums) or float(sum(getattr(c, "count", 1) for c in classes)) or 1.0
    if not any(sums):
        sums = [float(getattr(c, "count", 1)) for c in classes]
    return [s / total for s in sums]


def table_info(table: Table, dropped: Iterable[str] = (),
               indexes: Sequence[Index] | None = None) -> TableInfo:
    """The estimator's view of a catalog table: ``indexes`` (default: the table's) without
    those named in ``dropped``."""
    dropped = {d.lower() for d in dropped}
    widths: dict[str, int | None] = {
        name: None if _not_indexable(col.type) else type_width(col.type)
        for name, col in table.columns.items()
    }
    existing = []
    for idx in table.indexes if indexes is None else indexes:
        if idx.primary or not idx.visible or idx.kind != "BTREE" or idx.name.lower() in dropped:
            continue
        n = idx.expressions.index(True) if any(idx.expressions) else len(idx.columns)
        if n:
            existing.append((idx.name, tuple(_spelling(table, c) for c in idx.columns[:n]),
                             tuple(idx.prefix_lengths[:n])))
    return TableInfo(
        name=table.name,
        schema=table.schema,
        rows=float(table.rows) if table.rows is not None else DEFAULT_ROWS,
        ndv={n: float(c.ndv or enum_values(c.type) or 0) for n, c in table.columns.items()
             if c.ndv or enum_values(c.type)},
        widths=widths,
        pk=tuple(table.primary_key),
        existing=existing,
    )


def enum_values(type_sql: str) -> int | None:
    """How many values an ENUM column can hold (its cardinality at most), else None.

    >>> enum_values("enum('ebay','trendyol','amazon')"), enum_values("varchar(8)")
    (3, None)
    """
    match = re.match(r"\s*enum\s*\((.*)\)\s*$", type_sql, re.I | re.S)
    if not match:
        return None
    return len(re.findall(r"'(?:[^']|'')*'", match.group(1))) or None


def _not_indexable(type_sql: str) -> bool:
    base = re.match(r"\s*(\w+)", type_sql.lower())
    return bool(base) and base.group(1) in {
        "tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob",
        "longblob", "json", "geometry", "point", "linestring", "polygon"}


def _spelling(table: Table, column: str) -> str:
    col = table.column(column)
    return col.name if col else column


def resolve_table(catalog: Catalog, name: str) -> Table | None:
    """The catalog table an access pattern's ``db.table`` / ``table`` refers to.

    Exact names first (a name may hold backticks or dots), then the catalog's
    case-insensitive lookup.
    """
    if name in catalog.tables:
        return catalog.tables[name]
    exact = [t for t in catalog.tables.values()
             if name in (t.name, t.qualified_name)
             or (t.schema is None and name.endswith("." + t.name))]
    if len(exact) == 1:
        return exact[0]
    return catalog.table(name) or (catalog.table(name.rpartition(".")[2]) if "." in name
                                   else None)


def needs_for_class(
    cls: Any, share: float, catalog: Catalog
) -> tuple[list[tuple[Need, Table]], list[Table], list[ClassFinding], str]:
    """((need, table) per table read, tables written, findings, kind) for one class's sample.

    ``Need.table`` is the table's ``qualified_name``.
    """
    sql = getattr(cls, "sample", "") or ""
    access = access_patterns(sql, default_db=getattr(cls, "sample_db", None), catalog=catalog)
    findings = [ClassFinding(cls.id, share, f.kind, f.table, f.column, f.message)
                for f in access.findings]
    written = []
    for name in access.written:
        table = resolve_table(catalog, name)
        if table is not None:
            written.append(table)
    needs = []
    if access.kind in ("select", "update", "delete", "insert"):
        tree = parse_statement(sql)
        aggregated = tree is not None and bool(tree.find(exp.Group, exp.AggFunc))
        found = []
        for pattern in access.accesses or tuple(access.tables.values()):
            table = resolve_table(catalog, pattern.table)
            if table is not None:
                found.append((pattern, table))
            else:
                findings.append(ClassFinding(
                    cls.id, share, "unknown_table", pattern.table, None,
                    f"table {pattern.table} is not in the catalog: no index advice for it"))
        estimated = [range_fractions(sql, p, t) for p, t in found]
        steps = join_order(cls.id, [p for p, _ in found], [table_info(t) for _, t in found],
                           estimated)
        for (pattern, table), step, ranged in zip(found, steps, estimated, strict=True):
            needs.append((replace(need_for(cls.id, access, pattern, table, aggregated, step),
                                  range_estimates=ranged), table))
    return needs, written, findings, access.kind


def need_for(class_id: str, access: Any, pattern: Any, table: Table, aggregated: bool,
             step: JoinStep) -> Need:
    """The Need of one class's access ``pattern`` on ``table`` (catalog spellings), reached
    as ``step`` of the statement's join order: its join columns towards the tables read
    before it are equalities, looked up once per row reaching it."""
    def known(columns: Iterable[str]) -> tuple[str, ...]:
        out = []
        for c in columns:
            col = table.column(c)
            if col is not None and col.name not in out:
                out.append(col.name)
        return tuple(out)

    equality = {**{c: 1 for c in pattern.is_null},
                **{c: (IN_SUBQUERY_VALUES if n is None else n)
                   for c, n in pattern.equality.items()}}
    equality = {**{c: 1 for c in step.joined}, **equality}
    eq = known(equality)
    sizes = {table.column(c).name: n for c, n in equality.items()
             if n != 1 and table.column(c) is not None}
    order = tuple((_spelling(table, c), d.upper()) for c, d in pattern.order_by)
    if any(table.column(c) is None for c, _ in order):
        order = ()
    limit = pattern.limit
    patterns = access.accesses or tuple(access.tables.values())
    if aggregated or (len(patterns) > 1 and not step.first):
        limit = None  # aggregation reads every matching row; an inner table's rows all count
    if limit is not None and access.offset and access.limit == pattern.limit:
        limit += access.offset
    return Need(
        class_id=class_id,
        table=table.qualified_name,
        kind=access.kind,
        eq=eq,
        in_lists=sizes,
        ranges=tuple(c for c in known(pattern.range) if c not in eq),
        order=order,
        group=known(pattern.group_by),
        reads=None if pattern.star else frozenset(known(pattern.read)),
        limit=limit,
        lookups=step.lookups,
        joined=known(step.joined),
        flips={col.name: rows for c, rows in step.flips
               if (col := table.column(c)) is not None and col.name not in eq},
    )
