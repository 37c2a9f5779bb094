"""Which indexes to build under a budget: a greedy search in the manner of Extend
(Schlosser, Kossmann, Boissier, ICDE 2019).

Each step either adds a candidate or widens an index already chosen, taking the step with
the best net benefit (read gain by :mod:`dbtune.advise.estimate` minus write cost by
:mod:`dbtune.advise.writecost` minus what it may cost classes whose join order it could
flip, :meth:`TableState.flip_risk`; per byte under a byte budget), until no step gains at least
``min_gain`` of the workload's time or a limit is reached.

Costs are in "share of total workload time": a need of weight 0.2 (20% of all query time)
whose rows examined drop from 1,000,000 to 10 saves almost 0.2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from dbtune.advise.estimate import index_bytes
from dbtune.advise.need import Need
from dbtune.advise.run import Advising
from dbtune.advise.tables import TableState

#: gains this close (relative) count as equal; the smaller index wins
NEAR_EQUAL = 0.02
#: a new index that cuts at least this fraction of what one class spends on its table...
CLASS_CUT = 0.5
#: ...pays from this fraction of ``min_gain`` (see :func:`pays`)
RARE_FLOOR = 0.1


def pays(net: float, cut: float, min_gain: float) -> bool:
    """Does a new index saving ``net`` of the workload's time (net of its write cost), and
    at most ``cut`` of what one class spends on the table, qualify? At ``min_gain``; or
    at :data:`RARE_FLOOR` of it when it cuts a class's time there by :data:`CLASS_CUT`.

    A class's share is relative to the whole log, and a log's time is often most of all a
    few statements stopped at a time limit (TPC-H Q13 and Q20 at 30 s are 81% of the
    captured time), whose true time is unknown: every other class's share shrinks, and
    an index that takes a class from 170 ms to 4 ms saved 0.2% - below ``min_gain``.

    >>> pays(0.002, 0.98, 0.005), pays(0.002, 0.3, 0.005), pays(0.0004, 0.98, 0.005)
    (True, False, False)
    """
    return net >= min_gain or (net >= min_gain * RARE_FLOOR and cut >= CLASS_CUT)


def class_cut(needs: Sequence[Need], mine: Sequence[float], now: Sequence[float]) -> float:
    """The largest fraction of one class's cost on a table that costs ``mine`` (one per
    need, with a new index) cut from ``now`` (without it): the ``cut`` of :func:`pays`.

    >>> a, b = Need("a", "t", weight=0.1), Need("b", "t", weight=0.0)
    >>> class_cut([a, b], [10.0, 1.0], [40.0, 100.0])  # b has no weight
    0.75
    """
    return max((1 - m / c for n, m, c in zip(needs, mine, now, strict=True)
                if n.weight > 0 and c > 0), default=0.0)


def select_indexes(run: Advising) -> None:
    """Stage: :func:`select` over every table under the run's limits. Without any limit
    but ``min_gain``, a size budget derived from the tables read (:func:`default_budget`)
    caps the new indexes' total size. Under a budget (given or derived) the search runs
    ranked by gain and by gain per byte, and keeps the better set
    (:func:`select_under_budget`)."""
    limits = run.limits
    budget = limits.budget_bytes
    if budget is None and limits.max_indexes is None:
        budget, today = default_budget(run)
        run.limit_notes.append(
            f"no count limit: the search stops where the next index saves less than "
            f"{limits.min_gain:.1%} of query time, or at the size budget of "
            f"{budget / 2**20:,.1f} MB (the size of the tables the workload reads, "
            f"{today / 2**20:,.2f} MB, at least {MIN_BUDGET / 2**20:,.0f} MB: --budget-mb or "
            "--max-indexes to change)")
    else:
        run.limit_notes.append(
            "limits: " + ", ".join(part for part in (
                f"{limits.max_indexes} indexes" if limits.max_indexes is not None else "",
                f"{limits.max_per_table} per table" if limits.max_per_table is not None else "",
                f"{limits.budget_mb:,.1f} MB" if limits.budget_mb is not None else "",
                f"min gain {limits.min_gain:.1%}") if part))
    options = dict(max_indexes=limits.index_cap, max_per_table=limits.table_cap,
                   budget_bytes=budget, min_gain=limits.min_gain)
    if budget is None:
        select(run.tables, **options, per_byte=False)
    else:
        select_under_budget(run.tables, **options)


#: without limits, the new indexes may take this much of the size of the tables read...
BUDGET_OF_TABLES = 1.0
#: ...and at least this much (bytes): below it nobody counts
MIN_BUDGET = 16 * 2**20


def default_budget(run: Advising) -> tuple[float, float]:
    """(budget, bytes the tables read hold today): :data:`BUDGET_OF_TABLES` of the data and
    indexes of every table the workload reads, at least :data:`MIN_BUDGET` (the catalog's
    sizes where measured, else its estimates on the rows the estimator uses)."""
    today = 0.0
    for key, state in run.tables.items():
        table = run.catalog_tables[key]
        if table.rows is None:  # sized on the row count the estimator assumes
            table = replace(table, rows=int(state.info.rows))
        clustered = table.clustered_index
        data = table.data_bytes or (table.estimate_bytes(clustered) if clustered else None)
        today += (data or 0) + sum(i.bytes or table.estimate_bytes(i) or 0
                                   for i in table.indexes if i is not clustered)
    return max(today * BUDGET_OF_TABLES, MIN_BUDGET), today


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
    #: the largest fraction of one class's cost on the table the step saves
    cut: float = 0.0

    @property
    def ratio(self) -> float:
        return self.gain / max(self.bytes, 1.0)


def select(
    tables: dict[str, TableState],
    *,
    max_indexes: float = 10,
    max_per_table: float = 3,
    budget_bytes: float | None = None,
    min_gain: float = 0.005,
    per_byte: bool | None = None,
) -> list[Step]:
    """Greedy Extend-style selection; fills ``TableState.chosen`` and returns the steps taken.

    With a byte budget each step is the best net benefit per byte (Extend); with only count
    limits, the best net benefit (ranking per byte there would spend the few allowed indexes
    on small tables). ``per_byte`` False keeps that ranking under a budget that only caps
    (None: per byte whenever there is a budget). Either way a step that gains less than
    ``min_gain`` is never taken.
    """
    per_byte = budget_bytes is not None if per_byte is None else per_byte
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
            if s.gain > 0 and (pays(s.gain, s.cut, min_gain) if s.replaces is None
                               else s.gain >= min_gain / 10)
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
        if not per_byte:
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


def select_under_budget(tables: dict[str, TableState], **options: float | None) -> list[Step]:
    """:func:`select` under a byte budget, both ways: the biggest gain first, and the best
    gain per byte first (Extend); the set that saves more in total is kept (the modified
    greedy of the knapsack problem, never worse than half the best set). Biggest-gain-first
    alone lets a few wide indexes on big tables fill the budget and cut a session-token
    lookup whose small index saves more per byte; per-byte alone can spend the budget on
    small indexes and leave no room for one big saving.

    ``options``: those of :func:`select` but ``per_byte``.
    """
    start = {key: list(state.chosen) for key, state in tables.items()}
    by_gain = select(tables, **options, per_byte=False)  # type: ignore[arg-type]
    kept = {key: list(state.chosen) for key, state in tables.items()}
    for key, state in tables.items():
        state.chosen = list(start[key])
    by_byte = select(tables, **options, per_byte=True)  # type: ignore[arg-type]
    if sum(s.gain for s in by_byte) > sum(s.gain for s in by_gain) * (1 + NEAR_EQUAL):
        return by_byte
    for key, state in tables.items():
        state.chosen = kept[key]
    return by_gain


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
        risk = state.flip_risk(columns)
        gain = current - after - state.write_cost(columns) - risk
        cut = class_cut(needs, mine, now)
        steps.append(Step(key, columns, None, gain, size, after, cut))
        for old in state.chosen:
            if columns[: len(old)] == old:
                extra = (state.write_cost(columns) - state.write_cost(old)
                         + risk - state.flip_risk(old))
                after = state.relative(map(min, without[old], mine))
                steps.append(Step(key, columns, old, current - after - extra,
                                  max(size - index_bytes(old, state.info), 1.0), after))
    return steps
