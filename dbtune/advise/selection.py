"""Which indexes to build under a budget: a greedy search in the manner of Extend
(Schlosser, Kossmann, Boissier, ICDE 2019).

Each step either adds a candidate or widens an index already chosen, taking the step with
the best net benefit (read gain by :mod:`dbtune.advise.estimate` minus write cost by
:mod:`dbtune.advise.writecost`; per byte under a byte budget), until no step gains at least
``min_gain`` of the workload's time or a limit is reached.

Costs are in "share of total workload time": a need of weight 0.2 (20% of all query time)
whose rows examined drop from 1,000,000 to 10 saves almost 0.2.
"""

from __future__ import annotations

from dataclasses import dataclass

from dbtune.advise.estimate import index_bytes
from dbtune.advise.run import Advising
from dbtune.advise.tables import TableState

#: gains this close (relative) count as equal; the smaller index wins
NEAR_EQUAL = 0.02


def select_indexes(run: Advising) -> None:
    """Stage: :func:`select` over every table under the run's limits."""
    limits = run.limits
    select(run.tables, max_indexes=limits.max_indexes, max_per_table=limits.max_per_table,
           budget_bytes=limits.budget_bytes, min_gain=limits.min_gain)


@dataclass(frozen=True)
class Step:
    """One move of the search: add ``add`` (replacing ``replaces`` when it widens it)."""

    table: str
    add: tuple[str, ...]
    replaces: tuple[str, ...] | None
    gain: float
    bytes: float
    #: the table's weighted read cost after the step (relative to today)
    remaining: float = 0.0

    @property
    def ratio(self) -> float:
        return self.gain / max(self.bytes, 1.0)


def select(
    tables: dict[str, TableState],
    *,
    max_indexes: int = 10,
    max_per_table: int = 3,
    budget_bytes: float | None = None,
    min_gain: float = 0.005,
) -> list[Step]:
    """Greedy Extend-style selection; fills ``TableState.chosen`` and returns the steps taken.

    With a byte budget each step is the best net benefit per byte (Extend); with only count
    limits, the best net benefit (ranking per byte there would spend the few allowed indexes
    on small tables). Either way a step that gains less than ``min_gain`` is never taken.
    """
    steps: list[Step] = []
    used_bytes = 0.0
    per_table: dict[str, list[Step]] = {}  # a table's steps change only when it changes
    while True:
        for key, state in tables.items():
            if key not in per_table:
                per_table[key] = _steps(key, state)
        # a new index must gain min_gain; widening a chosen one a tenth of it
        options = [
            s for table_steps in per_table.values() for s in table_steps
            if s.gain > 0 and s.gain >= (min_gain if s.replaces is None else min_gain / 10)
        ]
        count = sum(len(t.chosen) for t in tables.values())
        options = [
            s for s in options
            if (s.replaces is not None or (count < max_indexes
                                           and len(tables[s.table].chosen) < max_per_table))
            and (budget_bytes is None or used_bytes + s.bytes <= budget_bytes)
        ]
        if not options:
            return steps
        if budget_bytes is None:
            # only counts limit us: the biggest gain; among near-equal gains the index that
            # serves its classes best (three stars over one), then the smaller one
            top = max(s.gain for s in options)
            near = [s for s in options if s.gain >= top * (1 - NEAR_EQUAL)]
            step = min(near, key=lambda s: (round(s.remaining, 12), -s.ratio, s.add))
        else:  # bytes are the scarce resource: benefit per byte, as Extend does
            step = max(options, key=lambda s: (s.ratio, s.gain, s.add))
        state = tables[step.table]
        if step.replaces is not None:
            state.chosen.remove(step.replaces)
        state.chosen.append(step.add)
        del per_table[step.table]
        used_bytes += step.bytes
        steps.append(step)


def _steps(key: str, state: TableState) -> list[Step]:
    """Every add and widen step on one table, with its net gain (costs per need cached)."""
    needs = state.needs
    now = [state.best(n)[0].cost for n in needs]
    current = state.relative(now)
    without = {old: [state.best(n, [c for c in state.chosen if c != old])[0].cost
                     for n in needs] for old in state.chosen}
    steps = []
    for columns in state.candidates:
        if columns in state.chosen:
            continue
        size = index_bytes(columns, state.info)
        mine = [state.estimate(n, columns).cost for n in needs]
        after = state.relative(map(min, now, mine))
        gain = current - after - state.write_cost(columns)
        steps.append(Step(key, columns, None, gain, size, after))
        for old in state.chosen:
            if columns[: len(old)] == old:
                extra = state.write_cost(columns) - state.write_cost(old)
                after = state.relative(map(min, without[old], mine))
                steps.append(Step(key, columns, old, current - after - extra,
                                  max(size - index_bytes(old, state.info), 1.0), after))
    return steps
