"""Pruning against the indexes that stay: candidates hygiene would call a duplicate or a
left prefix of an existing index never enter the search (:func:`prune_candidates`), and
existing indexes the plan makes redundant join its drops (:func:`drop_superseded`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

from dbtune.advise.assemble import build_plan
from dbtune.advise.hygiene import HygieneFinding, covers, find_hygiene
from dbtune.advise.plan import IndexAdvice
from dbtune.advise.run import Advising
from dbtune.advise.selection import pays
from dbtune.catalog import Catalog, Index


def prune_candidates(run: Advising) -> None:
    """Stage: drop every candidate an index the table keeps already serves."""
    for key, state in run.tables.items():
        standing = run.standing(run.catalog_tables[key])
        state.candidates = [c for c in state.candidates if not served_by(c, standing)]


def check_plan(run: Advising) -> None:
    """Stage: the plan checked as a whole. An index that is a left prefix of another index of
    the plan, or whose estimated saving minus its write cost (the figures the report shows)
    is below ``min_gain``, leaves the plan for ``plan.rejected`` with the reason, and the plan
    is built again without it (its classes go to the next best index). An index the plan
    keeps that makes an existing one a left prefix says so (hygiene drops it when asked)."""
    if run.plan is None:
        return
    left_out = []
    while (found := _first_problem(run.plan.advice, run.limits.min_gain)) is not None:
        advice, why = found
        run.tables[run.key_of(advice.table, advice.schema)].chosen.remove(advice.columns)
        left_out.append((advice, why))
        build_plan(run)
    run.plan.rejected += left_out
    if run.hygiene is None:
        for advice in run.plan.advice:
            table = run.catalog_tables[run.key_of(advice.table, advice.schema)]
            probe = Index(advice.name, list(advice.columns))
            for index in run.standing(table):
                if not (index.unique or index.primary) and covers(probe, index):
                    advice.warnings.append(f"{index.name} {index.parts_sql()} becomes a left "
                                           f"prefix of it: drop {index.name} too (--hygiene)")


def _first_problem(advice: Sequence[IndexAdvice], min_gain: float
                   ) -> tuple[IndexAdvice, str] | None:
    for a in advice:
        longer = next((b for b in advice if b is not a and (b.table, b.schema) == (
            a.table, a.schema) and covers(Index(b.name, list(b.columns)),
                                          Index(a.name, list(a.columns)))), None)
        if longer is not None:
            return a, f"a left prefix of {longer.name} ({', '.join(longer.columns)}) in the plan"
    poor = [a for a in advice if not pays(a.net_share, max(
        (c.saved / c.weight for c in a.classes if c.saved and c.weight), default=0.0), min_gain)]
    if not poor:
        return None
    worst = min(poor, key=lambda a: a.net_share)
    return worst, (f"est. saved {worst.saved_share:.2%} minus write cost {worst.write_cost:.2%} "
                   f"is below --min-gain {min_gain:.2%}")


def served_by(columns: tuple[str, ...], indexes: Iterable[Index]) -> bool:
    """Is an index on ``columns`` a duplicate or left prefix of one of ``indexes``?

    Hygiene's own test (:func:`dbtune.advise.hygiene.covers`), the primary key and
    invisible indexes included (make those visible rather than duplicate them).
    """
    probe = Index(name="", columns=list(columns))
    return any(covers(existing, probe) for existing in indexes)


def drop_superseded(run: Advising) -> None:
    """Stage (with hygiene, after verification: never drop for an index that is not built):
    existing indexes the new ones make redundant join the plan's drops."""
    if run.hygiene is not None and run.plan is not None:
        run.plan.drops += superseded(run)


def superseded(run: Advising) -> list[HygieneFinding]:
    """Hygiene findings the new indexes cause: existing indexes they make redundant (on the
    catalog as the hygiene drops leave it, :meth:`Advising.standing`)."""
    assert run.plan is not None
    trial = Catalog()
    names: dict[str, set[str]] = defaultdict(set)
    for table in run.catalog.tables.values():
        new = [Index(a.name, list(a.columns)) for a in run.plan.advice
               if a.table == table.name and a.schema == table.schema]
        trial.add(replace(table, indexes=[*run.standing(table), *new]))
        names[table.qualified_name] = {i.name for i in new}
    return [f for f in find_hygiene(trial)
            if f.redundant_with in names[f.table] and f.index not in names[f.table]]
