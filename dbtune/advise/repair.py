"""Repair what verification found: a class whose plan an advised index makes worse.

The optimizer may take a new index for a class it was not chosen for: on the marketplace
fixture ``(marketplace, updated_at)``, advised for the listing sync, is also taken by
``top_sellers_report`` (``marketplace = ? AND status = 'active' GROUP BY seller_id``), which
then reads half of ``marketplace_listings`` through clustered-index lookups - 2.6x slower
than the scan it had. The report's share of query time (0.5%) is too small for the greedy
selection to buy it an index of its own, but the regression is a cost that index does not
see. :func:`repair_choices` gives each such class its own best candidate (the one the
estimator rates cheapest for it, when that beats how the class is served now), within the
index count limits; :func:`repair` then verifies the plan again with the repairs built, so
the optimizer has the last word.
"""

from __future__ import annotations

from dbtune.advise.assemble import build_plan
from dbtune.advise.estimate import index_bytes
from dbtune.advise.plan import IndexPlan
from dbtune.advise.run import Advising
from dbtune.advise.tables import TableState
from dbtune.advise.verify import verify_plan


def repair(run: Advising) -> None:
    """Stage (with a server, after verification): an index for each class a kept index
    regresses, where the limits leave room; the plan is built and verified again."""
    if run.server is None or run.plan is None:
        return
    limits = run.limits
    run.repairs = repair_choices(run.plan, run.tables, max_indexes=limits.index_cap,
                                 max_per_table=limits.table_cap,
                                 budget_bytes=limits.budget_bytes)
    if run.repairs:
        # what check_plan left out stays out; what verification rejected is still chosen,
        # so it is built and judged again with the repairs
        left_out = [(a, why) for a, why in run.plan.rejected
                    if a.columns not in run.tables[run.key_of(a.table, a.schema)].chosen]
        build_plan(run)
        run.plan.rejected = left_out
        verify_plan(run.plan, run.server)


def repair_choices(plan: IndexPlan, states: dict[str, TableState], *, max_indexes: float,
                   max_per_table: float, budget_bytes: float | None = None
                   ) -> dict[tuple[str, tuple[str, ...]], str]:
    """Add to ``states`` (``TableState.chosen``) an index for each class that a verified
    advice regresses; {(state key, columns): why} for every index added.

    A regressed class gets the candidate of its table the estimator rates cheapest for it,
    when that is cheaper than the class's best way today and the limits (``max_indexes``,
    ``max_per_table``, ``budget_bytes``) leave room.
    """
    added: dict[tuple[str, tuple[str, ...]], str] = {}
    count = sum(len(s.chosen) for s in states.values())
    used = sum(index_bytes(c, s.info) for s in states.values() for c in s.chosen)
    for advice in plan.advice:
        for class_id in advice.regressed:
            key, state = next(((k, s) for k, s in states.items()
                               if (s.info.name, s.info.schema) == (advice.table, advice.schema)),
                              (None, None))
            if state is None or count >= max_indexes or len(state.chosen) >= max_per_table:
                continue
            for need in (n for n in state.needs if n.class_id == class_id):
                options = [c for c in state.candidates if c not in state.chosen]
                if not options:
                    break
                columns = min(options, key=lambda c: state.estimate(need, c).cost)
                size = index_bytes(columns, state.info)
                if (state.estimate(need, columns).cost >= state.best(need)[0].cost
                        or (budget_bytes is not None and used + size > budget_bytes)):
                    continue
                state.chosen.append(columns)
                count, used = count + 1, used + size
                added[(key, columns)] = (f"added for {class_id}, whose plan {advice.name} "
                                         "made worse without it")
                break
    return added
