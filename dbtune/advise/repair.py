"""Repair what verification found: a class whose plan an advised index makes worse.

The optimizer may take a new index for a class it was not chosen for: on the marketplace
fixture ``(marketplace, updated_at)``, advised for the listing sync, is also taken by
``top_sellers_report`` (``marketplace = ? AND status = 'active' GROUP BY seller_id``), which
then reads half of ``marketplace_listings`` through clustered-index lookups - 2.6x slower
than the scan it had. The report's share of query time (0.5%) is too small for the greedy
selection to buy it an index of its own, but the regression is a cost that index does not
see. :func:`repair_choices` gives each such class its own best candidate (the one the
estimator rates cheapest for it, when that beats how the class is served now), within the
index count limits; :func:`~dbtune.advise.indexes.advise_indexes` then verifies the plan
again with the repairs built, so the optimizer has the last word.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbtune.advise.selection import TableState, index_bytes

if TYPE_CHECKING:
    from dbtune.advise.indexes import IndexPlan


def repair_choices(plan: IndexPlan, states: dict[str, TableState], *, max_indexes: int,
                   max_per_table: int, budget_bytes: float | None = None
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
