"""Workload-wide index advice: ``advise_indexes(classes, catalog) -> IndexPlan``.

The advisor is the list of stages :data:`STAGES`, each a function ``stage(run)`` in its own
module, run in order over one :class:`~dbtune.advise.run.Advising` (in the manner of
sqlglot's optimizer RULES):

1. :func:`~dbtune.advise.needs.find_needs` - the access pattern of each class's sample
   (sqlglot, once per class) becomes one :class:`~dbtune.advise.need.Need` per table read;
2. :func:`~dbtune.advise.verify.measure_statistics` - with a disposable server: value
   distributions and range selectivities measured there;
3. :func:`~dbtune.advise.needs.weigh_needs` - each class's share of query time split over
   its tables; writes per table (:mod:`dbtune.advise.writecost`);
4. :func:`~dbtune.advise.candidates.generate_candidates` - three-star candidates per table
   plus the orders that let one index serve several classes through its left prefix;
5. :func:`~dbtune.advise.prune.prune_candidates` - what an index the table keeps already
   serves (hygiene's own test) is dropped;
   :func:`~dbtune.advise.measure.measure_whatif` - with a disposable server: the leading
   candidates built IGNORED / INVISIBLE, each write class timed with and without them
   (a measured cost per index), each read class ANALYZEd with each one visible;
6. :func:`~dbtune.advise.selection.select_indexes` - greedy Extend-style selection on
   read gain minus write cost, measured figures where present;
7. :func:`~dbtune.advise.assemble.build_plan` - chosen columns become advice;
   :func:`~dbtune.advise.prune.check_plan` - the plan as a whole: no index a left prefix
   of another of the plan, none saving less than ``min_gain`` net of its write cost;
8. :func:`~dbtune.advise.verify.verify` - with a server: EXPLAIN before and after, keep
   only what the optimizer uses;
9. :func:`~dbtune.advise.repair.repair` - a class a kept index makes slower gets an index of
   its own, and the plan is verified again;
10. :func:`~dbtune.advise.guard.guard` - with a disposable server: every read class of an
    indexed table timed with the plan's indexes and without; an index that makes a class
    more than 2x slower is dropped and the selection takes the next best;
11. :func:`~dbtune.advise.prune.drop_superseded` - with hygiene: existing indexes the new
    ones make redundant are dropped too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dbtune.advise.assemble import build_plan
from dbtune.advise.candidates import generate_candidates
from dbtune.advise.guard import guard
from dbtune.advise.hygiene import HygieneFinding, hygiene_advice
from dbtune.advise.measure import measure_whatif
from dbtune.advise.needs import class_shares, find_needs, weigh_needs
from dbtune.advise.plan import ClassEffect, ClassFinding, IndexAdvice, IndexPlan
from dbtune.advise.prune import check_plan, drop_superseded, prune_candidates
from dbtune.advise.repair import repair
from dbtune.advise.run import Advising, Limits
from dbtune.advise.selection import select_indexes
from dbtune.advise.verify import measure_statistics, verify
from dbtune.catalog import Catalog

__all__ = ["STAGES", "ClassEffect", "ClassFinding", "IndexAdvice", "IndexPlan",
           "advise_indexes", "hygiene_advice"]

Stage = Callable[[Advising], None]

#: the advisor, stage by stage
STAGES: tuple[Stage, ...] = (
    find_needs,
    measure_statistics,
    weigh_needs,
    generate_candidates,
    prune_candidates,
    measure_whatif,
    select_indexes,
    build_plan,
    check_plan,
    verify,
    repair,
    guard,
    drop_superseded,
)


def advise_indexes(
    classes: Any,
    catalog: Catalog,
    *,
    max_indexes: int | None = None,
    max_per_table: int | None = None,
    budget_mb: float | None = None,
    min_gain: float = 0.005,
    max_slowdown: float | None = None,
    hygiene: Sequence[HygieneFinding] | None = None,
    verify_on: Any = None,
    stages: Sequence[Stage] = STAGES,
) -> IndexPlan:
    """Indexes for a workload: three-star candidates per class, merged, chosen under a budget.

    ``classes``: a Digest (its ranked classes are used) or query classes with ``id``,
    ``sample``, ``sample_db``, ``count``, ``share`` (or ``metrics["query_time"]["sum"]``).
    ``min_gain``: the least share of total query time a new index must save (net of its
    write cost). ``max_slowdown``: with a disposable server, no write class may be made
    slower than this factor by the measured upkeep of the new indexes on its table (None,
    the default: no cap; the write cost is weighed against the read gain like any other).
    No count limit by default: without ``max_indexes`` and ``budget_mb`` the new indexes'
    total size is capped at the size of the tables the workload reads
    (:func:`~dbtune.advise.selection.default_budget`, said in ``plan.limits``). ``hygiene``:
    findings of :func:`dbtune.advise.hygiene.find_hygiene`; their drops join the plan, the
    indexes they drop are not counted on, and existing indexes the new ones make redundant
    are dropped too (hygiene's rules on the catalog with the advice added). ``verify_on``: a
    disposable Server holding the schema and data: the equality columns' value distribution
    is measured there, so are the leading candidates' read gains and write costs
    (:mod:`dbtune.advise.measure`), and candidates the optimizer does not use, or that slow other
    classes more than they help, are moved to ``plan.rejected``; a class a kept index slows
    gets its own index where the limits leave room, and the plan is verified again.
    ``stages``: the pipeline (default :data:`STAGES`).
    """
    classes = list(classes.ranked() if hasattr(classes, "ranked") else classes)
    run = Advising(classes=classes, shares=class_shares(classes), catalog=catalog,
                   limits=Limits(max_indexes, max_per_table, budget_mb, min_gain, max_slowdown),
                   hygiene=list(hygiene) if hygiene is not None else None, server=verify_on)
    for stage in stages:
        stage(run)
    if run.plan is None:
        raise ValueError("the stages built no plan (build_plan missing)")
    return run.plan
