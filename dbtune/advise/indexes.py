"""Workload-wide index advice: ``advise_indexes(classes, catalog) -> IndexPlan``.

The pipeline, each stage a plain function:

1. :func:`needs_for_class` - the access pattern of each class's sample (sqlglot, once per
   class) becomes one :class:`~dbtune.advise.candidates.Need` per table it reads, weighted by
   the class's share of total query time; writes are counted per table.
2. :func:`~dbtune.advise.candidates.candidates` - three-star candidates per table plus the
   orders that let one index serve several classes through its left prefix.
3. candidates hygiene would call a duplicate or left prefix of an existing index are
   dropped (:func:`dbtune.advise.hygiene.covers`).
4. :func:`~dbtune.advise.selection.select` - greedy Extend-style selection under the budget.
5. optionally :func:`~dbtune.advise.verify.verify_plan` on a disposable server: EXPLAIN before
   and after, keep only what the optimizer uses; a class a kept index makes slower gets an
   index of its own (:func:`~dbtune.advise.repair.repair_choices`) and the plan is
   verified again.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import pandas as pd
from sqlglot import exp

from dbtune.access import access_patterns
from dbtune.advise.candidates import DEFAULT_ROWS, Need, TableInfo, candidates
from dbtune.advise.hygiene import HygieneFinding, covers, find_hygiene
from dbtune.advise.selection import (
    WRITE_FACTOR,
    Estimate,
    TableState,
    index_bytes,
    select,
    selectivity,
)
from dbtune.catalog import Catalog, Index, Table, quote, type_width
from dbtune.model import Advice
from dbtune.model import ClassEffect as Effect
from dbtune.parsing import parse_statement
from dbtune.report.formats import render_rows, to_json

#: IN (SELECT ...) values assumed per outer row
IN_SUBQUERY_VALUES = 10


@dataclass
class ClassEffect:
    """What one index does for one query class (estimates; EXPLAIN figures when verified)."""

    class_id: str
    #: the class's share of total query time
    share: float
    #: estimated rows examined per execution on this table: today, and with the index
    rows_before: float
    rows_after: float
    #: the part of ``share`` spent on this table (all of it for a one-table statement)
    weight: float = 0.0
    #: rows examined per execution as the log saw it (mean over the class), if known
    rows_examined_logged: float | None = None
    sql: str = ""
    db: str | None = None
    explain_before: dict[str, Any] | None = None
    explain_after: dict[str, Any] | None = None


@dataclass
class IndexAdvice:
    """One index to add, with its DDL, rollback, estimate and reason."""

    table: str
    schema: str | None
    name: str
    columns: tuple[str, ...]
    classes: list[ClassEffect]
    size_bytes: float
    write_share: float
    write_classes: list[str]
    reason: str = ""
    #: None: not verified; True/False: the optimizer used it on the verification server
    verified: bool | None = None
    #: the other classes that read this table (verification checks their plans too)
    others: list[ClassEffect] = field(default_factory=list)
    #: classes whose plan got worse with this index on the verification server, in words
    regresses: list[str] = field(default_factory=list)
    #: the ids of those classes
    regressed: list[str] = field(default_factory=list)

    @property
    def ddl(self) -> str:
        """``ALTER TABLE ... ADD INDEX ... (...), ALGORITHM=INPLACE, LOCK=NONE``."""
        return self.add_ddl()

    def add_ddl(self, *, invisible: bool = False) -> str:
        """The ADD INDEX statement; ``invisible`` for MySQL 8 verification builds."""
        cols = ", ".join(quote(c) for c in self.columns)
        return (f"ALTER TABLE {qualified(self.table, self.schema)} ADD INDEX {quote(self.name)} "
                f"({cols}){' INVISIBLE' if invisible else ''}, ALGORITHM=INPLACE, LOCK=NONE")

    @property
    def rollback_ddl(self) -> str:
        return (f"ALTER TABLE {qualified(self.table, self.schema)} DROP INDEX {quote(self.name)}, "
                "ALGORITHM=INPLACE, LOCK=NONE")

    @property
    def share(self) -> float:
        """Share of total workload time spent in the classes this index helps."""
        return sum(c.share for c in self.classes)

    @property
    def saved_share(self) -> float:
        """Estimated share of total workload time saved (rows-examined proportional)."""
        return sum(c.weight * (1 - c.rows_after / c.rows_before)
                   for c in self.classes if c.rows_before)

    @property
    def write_cost(self) -> float:
        """Estimated share of workload time added to the writes on this table."""
        return self.write_share * WRITE_FACTOR

    def to_advice(self) -> Advice:
        """This index in the shared Advice shape."""
        effects = [Effect(c.class_id, c.share,
                          estimated={"rows_before": c.rows_before, "rows_after": c.rows_after},
                          measured=_explained(c)) for c in self.classes]
        return Advice(
            kind="add_index", table=self.table,
            title=f"{self.table.rpartition('.')[2]} ({', '.join(self.columns)})",
            ddl=[self.ddl], rollback=[self.rollback_ddl], reasons=[self.reason],
            effects=effects, warnings=list(self.regresses),
            details={"index": self.name, "columns": list(self.columns),
                     "size_bytes": self.size_bytes, "write_cost": self.write_cost,
                     "write_classes": self.write_classes, "verified": self.verified})


def _explained(effect: ClassEffect) -> dict[str, Any] | None:
    """The EXPLAIN figures a verification server gave for one class, if any."""
    if effect.explain_before is None and effect.explain_after is None:
        return None
    return {"explain_before": effect.explain_before, "explain_after": effect.explain_after}


def hygiene_advice(finding: HygieneFinding) -> Advice:
    """A hygiene finding in the shared Advice shape."""
    kind = "replace_index" if finding.replacement is not None else "drop_index"
    return Advice(
        kind=kind, table=finding.table,
        title=f"{finding.table.rpartition('.')[2]}.{finding.index} ({finding.kind})",
        ddl=[finding.drop_sql.rstrip(";")], rollback=[finding.rollback_sql.rstrip(";")],
        reasons=[finding.reason],
        details={"index": finding.index, "finding": finding.kind,
                 "redundant_with": finding.redundant_with, "bytes_freed": finding.bytes_freed})


@dataclass
class ClassFinding:
    """A non-sargable shape (or an unanalysable statement) found in a class's sample."""

    class_id: str
    share: float
    kind: str
    table: str | None
    column: str | None
    message: str


@dataclass
class IndexPlan:
    """The advice for a workload: indexes to add, hygiene drops, findings."""

    advice: list[IndexAdvice]
    findings: list[ClassFinding] = field(default_factory=list)
    drops: list[HygieneFinding] = field(default_factory=list)
    #: candidates the verification server's optimizer did not use, with the reason
    rejected: list[tuple[IndexAdvice, str]] = field(default_factory=list)

    def statements(self) -> list[str]:
        """The whole plan as DDL: new indexes first, then the hygiene drops."""
        return [a.ddl for a in self.advice] + [d.drop_sql.rstrip(";") for d in self.drops]

    def rollback(self) -> list[str]:
        """The statements that undo :meth:`statements`, in reverse order."""
        return [d.rollback_sql.rstrip(";") for d in reversed(self.drops)] + [
            a.rollback_ddl for a in reversed(self.advice)
        ]

    def to_advice(self) -> list[Advice]:
        """The plan in the shared Advice shape: hygiene drops first, then new indexes."""
        return [hygiene_advice(d) for d in self.drops] + [a.to_advice() for a in self.advice]

    def to_frame(self) -> pd.DataFrame:
        """One row per recommended index (see :func:`advice_frame`)."""
        return advice_frame(self.advice)

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready plan: advice with its classes, drops, findings, rejected, DDL."""
        return {
            "advice": [{
                **{k: v for k, v in row.items() if k != "classes"},
                "columns": list(a.columns),
                "classes": [asdict(c) for c in a.classes],
                "write_classes": a.write_classes,
                "regresses": a.regresses,
            } for a, row in zip(self.advice, self.to_frame().to_dict("records"), strict=True)],
            "drops": [{"table": d.table, "index": d.index, "kind": d.kind,
                       "redundant_with": d.redundant_with, "drop": d.drop_sql,
                       "rollback": d.rollback_sql, "reason": d.reason} for d in self.drops],
            "findings": [asdict(f) for f in self.findings],
            "rejected": [{"table": a.table, "columns": list(a.columns), "reason": why}
                         for a, why in self.rejected],
            "statements": self.statements(),
            "rollback": self.rollback(),
        }


def advice_frame(advice: Sequence[IndexAdvice]) -> pd.DataFrame:
    """One row per recommended index."""
    rows = [{
        "table": a.table,
        "index": a.name,
        "columns": ", ".join(a.columns),
        "classes": ", ".join(c.class_id for c in a.classes),
        "share": a.share,
        "saved_share": a.saved_share,
        "rows_before": sum(c.rows_before for c in a.classes),
        "rows_after": sum(c.rows_after for c in a.classes),
        "write_cost": a.write_cost,
        "size_mb": a.size_bytes / 2**20,
        "verified": a.verified,
        "regresses": "; ".join(a.regresses),
        "ddl": a.ddl,
        "rollback": a.rollback_ddl,
        "reason": a.reason,
    } for a in advice]
    return pd.DataFrame(rows, columns=[
        "table", "index", "columns", "classes", "share", "saved_share", "rows_before",
        "rows_after", "write_cost", "size_mb", "verified", "regresses", "ddl", "rollback",
        "reason"])


def render_plan(plan: IndexPlan, fmt: str) -> str:
    """The plan as a report: json (the whole document), csv (one row per index), or
    table/markdown (indexes, then the DDL to run and to undo, then findings)."""
    if fmt == "json":
        return to_json(plan.to_document())
    frame = plan.to_frame()
    if fmt == "csv":
        return render_rows(frame.to_dict("records"), fmt)
    rows = [{
        "index": f"{r['table']} ({r['columns']})", "classes": len(a.classes),
        "time share": f"{r['share']:.1%}", "est. saved": f"{r['saved_share']:.1%}",
        "rows/exec before -> after": f"{r['rows_before']:,.0f} -> {r['rows_after']:,.0f}",
        "size MB": f"{r['size_mb']:,.1f}", "write cost": f"{r['write_cost']:.2%}",
        "verified": {None: "-", True: "yes", False: "no"}[a.verified],
    } for a, r in zip(plan.advice, frame.to_dict("records"), strict=True)]
    heading = "## " if fmt == "markdown" else ""
    fence = "```sql\n" if fmt == "markdown" else ""
    end = "```\n" if fmt == "markdown" else ""
    parts = [f"{heading}Index advice\n\n", render_rows(rows, fmt, preformatted=True)]
    for a in plan.advice:
        parts.append(f"\n{a.name}: {a.reason}\n")
    if plan.statements():
        parts += [f"\n{heading}Apply\n\n", fence,
                  "".join(f"{s};\n" for s in plan.statements()), end,
                  f"\n{heading}Roll back\n\n", fence,
                  "".join(f"{s};\n" for s in plan.rollback()), end]
    if plan.rejected:
        parts += [f"\n{heading}Not used by the optimizer (dropped from the plan)\n\n",
                  render_rows([{"table": a.table, "columns": ", ".join(a.columns),
                                "reason": why} for a, why in plan.rejected], fmt)]
    if plan.findings:
        parts += [f"\n{heading}Findings (not indexable as written)\n\n",
                  render_rows([{"class": f.class_id, "time share": f"{f.share:.1%}",
                                "kind": f.kind, "table": f.table or "-",
                                "message": f.message} for f in plan.findings], fmt,
                              preformatted=True)]
    return "".join(parts)


# ----------------------------------------------------------------------------- identifiers
def qualified(table: str, schema: str | None) -> str:
    """``table`` (a catalog key, maybe "schema.name") quoted by sqlglot, schema-qualified."""
    name = table.rpartition(".")[2] if schema else table
    return exp.table_(name, db=schema, quoted=True).sql(dialect="mysql")


def index_name(table: str, columns: Sequence[str], taken: Iterable[str]) -> str:
    """``ix_<table>_<cols>``: plain characters only, at most 64, unique on its table."""
    raw = "ix_" + "_".join([table.split(".")[-1], *columns])
    name = re.sub(r"[^0-9A-Za-z_]+", "_", raw)
    if len(name) > 64 or name != raw:
        digest = hashlib.sha1(raw.encode()).hexdigest()[:8]
        name = f"{name[:55]}_{digest}"
    taken = {t.lower() for t in taken}
    base, n = name, 2
    while name.lower() in taken:
        name = f"{base[:60]}_{n}"
        n += 1
    return name


# ----------------------------------------------------------------------------- inputs
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


def table_info(table: Table, dropped: Iterable[str] = ()) -> TableInfo:
    """The estimator's view of a catalog table (indexes hygiene will drop left out)."""
    dropped = {d.lower() for d in dropped}
    widths: dict[str, int | None] = {
        name: None if _not_indexable(col.type) else type_width(col.type)
        for name, col in table.columns.items()
    }
    existing = []
    for idx in table.indexes:
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


def updated_columns(sql: str) -> frozenset[str] | None:
    """The columns an UPDATE sets (an index without them costs it nothing); None otherwise."""
    tree = parse_statement(sql or "")
    if not isinstance(tree, exp.Update):
        return None
    return frozenset(e.this.name for e in tree.expressions
                     if isinstance(e, exp.EQ) and isinstance(e.this, exp.Column))


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
        for pattern in access.accesses or tuple(access.tables.values()):
            table = resolve_table(catalog, pattern.table)
            if table is not None:
                needs.append((_need(cls.id, access, pattern, table, aggregated), table))
            else:
                findings.append(ClassFinding(
                    cls.id, share, "unknown_table", pattern.table, None,
                    f"table {pattern.table} is not in the catalog: no index advice for it"))
    return needs, written, findings, access.kind


def _need(class_id: str, access: Any, pattern: Any, table: Table, aggregated: bool = False
          ) -> Need:
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
    # a join column is an equality only when this table is the inner one of the join: it is
    # not read first, or it has no filter of its own to be read first by
    if not pattern.driving or not (equality or pattern.range):
        equality = {**{j.column: 1 for j in pattern.joins}, **equality}
    eq = known(equality)
    sizes = {table.column(c).name: n for c, n in equality.items()
             if n != 1 and table.column(c) is not None}
    order = tuple((_spelling(table, c), d.upper()) for c, d in pattern.order_by)
    if any(table.column(c) is None for c, _ in order):
        order = ()
    limit = pattern.limit
    patterns = access.accesses or tuple(access.tables.values())
    if aggregated or (len(patterns) > 1 and not pattern.driving):
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
    )


# ----------------------------------------------------------------------------- the advisor
def advise_indexes(
    classes: Any,
    catalog: Catalog,
    *,
    max_indexes: int = 10,
    max_per_table: int = 3,
    budget_mb: float | None = None,
    min_gain: float = 0.005,
    hygiene: Sequence[HygieneFinding] | None = None,
    verify_on: Any = None,
) -> IndexPlan:
    """Indexes for a workload: three-star candidates per class, merged, chosen under a budget.

    ``classes``: a Digest (its ranked classes are used) or query classes with ``id``,
    ``sample``, ``sample_db``, ``count``, ``share`` (or ``metrics["query_time"]["sum"]``).
    ``min_gain``: the least share of total query time a new index must save. ``hygiene``:
    findings of :func:`dbtune.advise.hygiene.find_hygiene`; their drops join the plan, the
    indexes they drop are not counted on, and existing indexes the new ones make redundant
    are dropped too (hygiene's rules on the catalog with the advice added). ``verify_on``: a
    disposable Server holding the schema and data: the equality columns' value distribution
    is measured there (:func:`~dbtune.advise.verify.measure_repeat`), and candidates the
    optimizer does not use, or that slow other classes more than they help, are moved to
    ``plan.rejected``; a class a kept index slows gets its own index where the limits
    leave room (:mod:`dbtune.advise.repair`), and the plan is verified again.
    """
    classes = list(classes.ranked() if hasattr(classes, "ranked") else classes)
    drops = list(hygiene or [])
    dropped: dict[str, set[str]] = defaultdict(set)
    for finding in drops:
        dropped[finding.table].add(finding.index)
    states: dict[str, TableState] = {}
    tables: dict[str, Table] = {}
    findings: list[ClassFinding] = []

    def state(table: Table) -> TableState:
        key = table.qualified_name
        if key not in states:
            gone = dropped.get(table.name, set()) | dropped.get(key, set())
            states[key], tables[key] = TableState(table_info(table, gone), []), table
        return states[key]

    analysed = []
    for cls, share in zip(classes, class_shares(classes), strict=True):
        needs, written, class_findings, _ = needs_for_class(cls, share, catalog)
        findings += class_findings
        analysed.append((cls, share, needs, written))
        for _, table in needs:
            state(table)
    if verify_on is not None:
        from dbtune.advise.verify import measure_ranges, measure_repeat

        measure_repeat(verify_on, [(states[need.table].info, need.eq)
                                   for *_, needs, _ in analysed for need, _ in needs])
        measure_ranges(verify_on, [(states[need.table].info, need, cls.sample,
                                    getattr(cls, "sample_db", None))
                                   for cls, _, needs, _ in analysed for need, _ in needs
                                   if need.ranges])
    for cls, share, needs, written in analysed:
        sets = updated_columns(cls.sample)
        for table in written:
            own = [need for need, t in needs if t is table]
            state(table).writes.append((cls.id, share * write_fraction(own, state(table)),
                                        sets))
        costs = [state(table).baseline(need)[0].cost for need, table in needs]
        for (need, _), cost in zip(needs, costs, strict=True):
            states[need.table].needs.append(replace(need, weight=share * cost / sum(costs)))
    for key, st in states.items():
        gone = dropped.get(tables[key].name, set()) | dropped.get(key, set())
        st.candidates = [c for c in candidates(st.needs, st.info)
                         if not redundant_with_existing(c, tables[key], gone)]
    budget_bytes = budget_mb * 2**20 if budget_mb is not None else None
    select(states, max_indexes=max_indexes, max_per_table=max_per_table,
           budget_bytes=budget_bytes, min_gain=min_gain)
    plan = IndexPlan(advice=_all_advice(states, tables, classes), findings=findings,
                     drops=drops)
    if verify_on is not None:
        from dbtune.advise.repair import repair_choices
        from dbtune.advise.verify import verify_plan

        verify_plan(plan, verify_on)
        repairs = repair_choices(plan, states, max_indexes=max_indexes,
                                 max_per_table=max_per_table, budget_bytes=budget_bytes)
        if repairs:  # verified again with the repairs built: the optimizer has the last word
            plan = IndexPlan(advice=_all_advice(states, tables, classes, repairs),
                             findings=findings, drops=drops)
            verify_plan(plan, verify_on)
    if hygiene is not None:  # after verification: never drop for an index that is not built
        plan.drops += superseded(plan.advice, catalog, drops)
    return plan


def _all_advice(states: dict[str, TableState], tables: dict[str, Table], classes: Sequence[Any],
                repairs: dict[tuple[str, tuple[str, ...]], str] | None = None
                ) -> list[IndexAdvice]:
    """Every table's chosen indexes as advice, most time saved first; ``repairs`` (from
    :func:`~dbtune.advise.repair.repair_choices`) say why an index was added."""
    advice = []
    for key, st in states.items():
        for a in _advice(st, tables[key], classes):
            why = (repairs or {}).get((key, a.columns))
            a.reason += f"; {why}" if why else ""
            advice.append(a)
    advice.sort(key=lambda a: -a.saved_share)
    return advice


def write_fraction(needs: Sequence[Need], state: TableState) -> float:
    """The part of a DML class's time spent changing rows (what an extra index slows down),
    not finding them: rows it changes / rows it examines today.

    An ``UPDATE ... WHERE sku = ?`` that scans the whole table today spends almost all its
    time finding its one row; an INSERT or a primary-key UPDATE spends it all writing.
    """
    fraction = 1.0
    for need in needs:
        today = state.baseline(need)[0].rows
        changed = max(1.0, state.info.rows * selectivity(need, state.info))
        if need.limit is not None:
            changed = min(changed, need.limit)
        fraction = min(fraction, changed / max(today, 1.0))
    return fraction


def redundant_with_existing(
    columns: tuple[str, ...], table: Table, dropped: Iterable[str] = ()
) -> bool:
    """Is an index on ``columns`` a duplicate or left prefix of one the table keeps?

    Hygiene's own test (:func:`dbtune.advise.hygiene.covers`), against every index not in
    ``dropped``, the primary key and invisible ones included (make those visible rather than
    duplicate them).
    """
    probe = Index(name="", columns=list(columns))
    gone = {d.lower() for d in dropped}
    return any(covers(existing, probe) for existing in table.indexes
               if existing.name.lower() not in gone)


def superseded(
    plan_advice: Sequence[IndexAdvice], catalog: Catalog, drops: Sequence[HygieneFinding] = ()
) -> list[HygieneFinding]:
    """Hygiene findings the new indexes cause: existing indexes they make redundant
    (on the catalog with ``drops`` already applied)."""
    trial = Catalog()
    names: dict[str, set[str]] = defaultdict(set)
    for table in catalog.tables.values():
        gone = {d.index for d in drops if d.table == table.qualified_name}
        new = [Index(a.name, list(a.columns)) for a in plan_advice
               if a.table == table.name and a.schema == table.schema]
        kept = [i for i in table.indexes if i.name not in gone]
        trial.add(replace(table, indexes=[*kept, *new]))
        names[table.qualified_name] = {i.name for i in new}
    return [f for f in find_hygiene(trial)
            if f.redundant_with in names[f.table] and f.index not in names[f.table]]


def _advice(
    state: TableState, table: Table, classes: Sequence[Any]
) -> list[IndexAdvice]:
    about = {c.id: (getattr(c, "sample", ""), getattr(c, "sample_db", None),
                    (getattr(c, "metrics", None) or {}).get("rows_examined", {}).get("mean"))
             for c in classes}
    shares = dict(zip(about, class_shares(classes), strict=True))
    taken = [i.name for i in table.indexes]
    out = []
    for columns in state.chosen:
        effects: dict[str, ClassEffect] = {}
        uses: list[tuple[Need, Estimate, Estimate]] = []
        for need in state.needs:
            after, via = state.best(need)
            before = state.baseline(need)[0]
            if via != ",".join(columns) or after.cost >= before.cost:
                continue
            uses.append((need, before, after))
            sql, db, logged = about[need.class_id]
            effect = effects.setdefault(need.class_id, ClassEffect(
                need.class_id, shares[need.class_id], 0.0, 0.0, rows_examined_logged=logged,
                sql=sql, db=db))
            effect.weight += need.weight
            effect.rows_before += before.rows
            effect.rows_after += after.rows
        if not uses:
            continue
        others: dict[str, ClassEffect] = {}
        for need in state.needs:
            if need.class_id not in effects and need.class_id not in others:
                sql, db, logged = about[need.class_id]
                rows = state.baseline(need)[0].rows
                others[need.class_id] = ClassEffect(
                    need.class_id, shares[need.class_id], rows, rows, need.weight, logged,
                    sql=sql, db=db)
        name = index_name(table.name, columns, taken)
        taken.append(name)
        size = table.estimate_bytes(Index(name, list(columns))) or index_bytes(columns,
                                                                                 state.info)
        advice = IndexAdvice(
            table=table.name, schema=table.schema, name=name, columns=columns,
            classes=sorted(effects.values(), key=lambda e: -e.share), size_bytes=size,
            write_share=state.write_share(columns),
            write_classes=[c for c, _ in state.writers(columns)], others=list(others.values()))
        advice.reason = reason(advice, uses)
        out.append(advice)
    return out


def reason(advice: IndexAdvice, uses: Sequence[tuple[Need, Estimate, Estimate]]) -> str:
    """The advice in words: who it helps, how the heaviest class uses it, what it costs."""
    need, before, after = max(uses, key=lambda u: u[0].weight)
    columns = list(advice.columns)
    k = 0
    while k < len(columns) and columns[k] in need.eq:
        k += 1
    how = [f"equality on {', '.join(columns[:k])}"] if k else []
    if after.sorted and need.order:
        how.append("ORDER BY read in index order" + (", LIMIT stops early" if need.limit else ""))
    if k < len(columns) and columns[k] in need.ranges:
        how.append(f"range on {columns[k]}")
    if after.covering and need.kind == "select":
        how.append("covers the statement (no row lookups)")
    n = len(advice.classes)
    text = (f"{n} class{'es' if n > 1 else ''} ({advice.share:.1%} of query time); "
            f"heaviest {need.class_id}: {'; '.join(how) or 'index scan'}; est. rows examined "
            f"{before.rows:,.0f} -> {after.rows:,.0f} per execution")
    if advice.write_share:
        text += (f"; writes that maintain it take {advice.write_share:.1%} of query time "
                 f"(est. +{advice.write_cost:.2%})")
    return text
