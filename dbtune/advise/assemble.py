"""Chosen columns become advice: :func:`build_plan` (a stage) turns every table's chosen
indexes into :class:`~dbtune.advise.plan.IndexAdvice` with a name, the classes each serves,
its size, the writes that maintain it and the reason in words.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from dbtune.advise.estimate import RANGE_SELECTIVITY, Estimate, index_bytes
from dbtune.advise.need import DEFAULT_ROWS, Need
from dbtune.advise.plan import ClassEffect, IndexAdvice, IndexPlan
from dbtune.advise.run import Advising
from dbtune.advise.tables import TableState
from dbtune.advise.whatif import MeasuredEstimate
from dbtune.advise.writecost import WRITE_FACTOR, maintaining
from dbtune.catalog import Index, Table

#: a measured write class the plan's indexes on its table make this much slower is named
#: in a warning on the advice
WARN_SLOWDOWN = 1.5


def build_plan(run: Advising) -> None:
    """Stage: the plan of the chosen indexes, with the findings, hygiene drops and the
    figures it assumes."""
    run.plan = IndexPlan(advice=plan_advice(run), findings=run.findings, drops=run.drops,
                         assumptions=assumptions(run), limits=list(run.limit_notes),
                         measured=list(run.measure_notes))


def assumptions(run: Advising) -> list[str]:
    """The figures the plan's estimates rest on that nobody measured, in words."""
    out = []
    assumed = sorted(t.name for t in run.catalog_tables.values() if t.rows is None)
    if assumed:
        out.append(f"rows: {DEFAULT_ROWS:,.0f} assumed for {', '.join(assumed)} (no "
                   "statistics): their rows before -> after and index sizes are estimates "
                   "on that figure; give --rows TABLE=N, or --dsn to read the counts")
    guessed = sorted({f"{state.info.name}.{c}" for state in run.tables.values()
                      for need in state.needs for c in need.eq
                      if not state.info.ndv.get(c) and (c,) != state.info.pk})
    if guessed:
        shown = ", ".join(guessed[:8]) + (f" and {len(guessed) - 8} more" if len(guessed) > 8
                                          else "")
        out.append(f"distinct values guessed from the column's type and name for {shown} "
                   "(no statistics)")
    if run.server is None:
        out.append(f"ranges: a range predicate keeps {RANGE_SELECTIVITY:.0%} of its table and "
                   "an equality 1 / distinct values (no skew): --verify measures both on a "
                   "disposable server")
    estimated = sorted({w.class_id for state in run.tables.values() for w in state.writes
                        if w.per_index is None})
    if estimated:
        where = ("" if run.server is None else
                 f" for {len(estimated)} write class{'es' if len(estimated) > 1 else ''} "
                 "the server did not measure")
        out.append(f"writes: estimated{where}: each new index adds {WRITE_FACTOR:.0%} to the "
                   "time a write spends changing rows (the offline estimate, a constant: "
                   "--verify with a disposable server measures it)")
    return out


def plan_advice(run: Advising) -> list[IndexAdvice]:
    """Every table's chosen indexes as advice, most time saved first; the run's repairs
    (:mod:`dbtune.advise.repair`) say why an index was added."""
    advice = []
    for key, st in run.tables.items():
        for a in table_advice(st, run.catalog_tables[key], run):
            why = run.repairs.get((key, a.columns))
            a.reason += f"; {why}" if why else ""
            advice.append(a)
    advice.sort(key=lambda a: -a.saved_share)
    return advice


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


def table_advice(state: TableState, table: Table, run: Advising) -> list[IndexAdvice]:
    """The indexes chosen on one table as advice: the classes each serves best (estimated
    rows before -> after), the other classes that read the table, size, writes, reason."""
    about, shares = run.about(), run.share_of()
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
            effect.saved = (effect.saved or 0.0) + need.weight * (1 - after.cost / before.cost)
            effect.rows_before += before.rows
            effect.rows_after += after.rows
            if isinstance(after, MeasuredEstimate) and after.measure is not None:
                effect.measured_ms = (after.measure.ms_before, after.measure.ms_after)
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
        size = table.estimate_bytes(Index(name, list(columns))) or index_bytes(columns, state.info)
        advice = IndexAdvice(
            table=table.name, schema=table.schema, name=name, columns=columns,
            classes=sorted(effects.values(), key=lambda e: -e.share), size_bytes=size,
            write_share=state.write_share(columns), write_cost=state.write_cost(columns),
            write_classes=[c for c, _ in state.writers(columns)], others=list(others.values()),
            rows_assumed=table.rows is None, write_basis=state.write_basis(columns),
            write_slowdown={w.class_id: w.upkeep_of(columns)
                            for w in maintaining(state.writes, columns)
                            if w.per_index is not None})
        advice.reason = reason(advice, uses)
        out.append(advice)
    warned = set()
    for class_id, factor in state.slowdown([a.columns for a in out]).items():
        first = next((a for a in out if class_id in a.write_slowdown), None)
        if factor >= WARN_SLOWDOWN and first is not None and class_id not in warned:
            warned.add(class_id)
            built = sum(class_id in a.write_slowdown for a in out)
            first.warnings.append(
                f"write class {class_id} ({shares[class_id]:.2%} of query time) measured "
                f"+{first.write_slowdown[class_id]:.0%} for this index: the plan's {built} "
                f"{'indexes' if built > 1 else 'index'} on {table.name} "
                f"make{'' if built > 1 else 's'} it about "
                f"{factor:.1f}x slower per statement (--max-write-slowdown caps it)")
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
    heaviest = next(c for c in advice.classes if c.class_id == need.class_id)
    if heaviest.measured_ms is not None:
        rows = (f"measured {heaviest.measured_ms[0]:,.2f} -> {heaviest.measured_ms[1]:,.2f} ms "
                f"(ANALYZE, {after.rows:,.0f} rows) per execution")
    else:
        rows = f"est. rows examined {before.rows:,.0f} -> {after.rows:,.0f} per execution"
    text = (f"{n} class{'es' if n > 1 else ''} ({advice.share:.1%} of query time); "
            f"heaviest {need.class_id}: {'; '.join(how) or 'index scan'}; {rows}; "
            f"read gain {advice.saved_share:.2%} of query time ({advice.benefit_basis})")
    if advice.write_share or advice.write_slowdown:
        text += f"; write cost {advice.write_cost:.2%} ({advice.write_basis}"
        if advice.write_slowdown:
            text += ": " + ", ".join(f"{c} +{f:.0%}" for c, f in advice.write_slowdown.items())
            text += " per statement"
        text += f"; net {advice.net_share:.2%})"
    return text
