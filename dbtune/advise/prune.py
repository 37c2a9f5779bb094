"""Pruning against the indexes that stay: candidates hygiene would call a duplicate or a
left prefix of an existing index never enter the search (:func:`prune_candidates`), and
existing indexes the plan makes redundant join its drops (:func:`drop_superseded`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

from dbtune.advise.hygiene import HygieneFinding, covers, find_hygiene
from dbtune.advise.plan import IndexAdvice
from dbtune.advise.run import Advising
from dbtune.catalog import Catalog, Index, Table


def prune_candidates(run: Advising) -> None:
    """Stage: drop every candidate an index the table keeps already serves."""
    for key, state in run.tables.items():
        table = run.catalog_tables[key]
        gone = run.dropped(table)
        state.candidates = [c for c in state.candidates
                            if not redundant_with_existing(c, table, gone)]


def drop_superseded(run: Advising) -> None:
    """Stage (with hygiene, after verification: never drop for an index that is not built):
    existing indexes the new ones make redundant join the plan's drops."""
    if run.hygiene is not None and run.plan is not None:
        run.plan.drops += superseded(run.plan.advice, run.catalog, run.drops)


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
