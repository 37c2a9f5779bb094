"""What an index would save, and which indexes to build under a budget.

:func:`estimate` plays the optimizer for one (class, table) need and one index: how many rows
it leaves to examine, whether it delivers ORDER BY (so LIMIT stops early) and whether it
covers the statement. :func:`select` is a greedy search in the manner of Extend (Schlosser,
Kossmann, Boissier, ICDE 2019): each step either adds a candidate or widens an index it
already chose, taking the step with the best net benefit per byte, until no step gains at
least ``min_gain`` of the workload's time or a budget is reached.

Costs are in "share of total workload time": a need of weight 0.2 (20% of all query time)
whose rows examined drop from 1,000,000 to 10 saves almost 0.2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dbtune.advise.candidates import Need, TableInfo
from dbtune.catalog import PAGE_FILL, SECONDARY_OVERHEAD

#: selectivity assumed for one range predicate without a histogram: MySQL's own guess for
#: an inequality (COND_FILTER_INEQUALITY in sql/item_cmpfunc.h)
RANGE_SELECTIVITY = 1 / 3
#: a secondary index that covers the statement avoids the clustered-index lookups
COVERING_FACTOR = 0.5
#: a row reached through a secondary index that does not cover the statement costs a
#: clustered-index lookup (a random B-tree descent) instead of the next row of a scan.
#: Measured on the marketplace fixture (MariaDB 10.11, data in the buffer pool):
#: top_sellers_report reads 40,000 rows through (marketplace, updated_at) in 128 ms and
#: scans 120,000 in 70 ms - about 5x per row; 4 keeps the estimate on the cautious side
LOOKUP_FACTOR = 4.0
#: a filesort adds this factor to the rows it sorts
SORT_FACTOR = 1.2
#: gains this close (relative) count as equal; the smaller index wins
NEAR_EQUAL = 0.02
#: each extra index adds this fraction to the time of the writes on its table
WRITE_FACTOR = 0.1


@dataclass(frozen=True)
class Estimate:
    """How one index serves one need."""

    rows: float
    sorted: bool = False
    covering: bool = False
    #: leading index columns actually used (0 = full scan)
    used: int = 0
    #: ORDER BY still needs a filesort
    unsorted: bool = False

    @property
    def cost(self) -> float:
        """Rows examined, in units of one row of a full scan: halved through a covering
        index, times :data:`LOOKUP_FACTOR` through one that needs clustered-index lookups;
        then the sort."""
        factor = 1.0 if not self.used else COVERING_FACTOR if self.covering else LOOKUP_FACTOR
        return self.rows * factor * (SORT_FACTOR if self.unsorted else 1.0)


def estimate(
    need: Need,
    columns: Sequence[str],
    info: TableInfo,
    *,
    prefixed: Sequence[int | None] = (),
    clustered: bool = False,
) -> Estimate:
    """Rows ``need`` examines through an index on ``columns`` (None prefix = full column)."""
    rows = max(info.rows, 1.0)
    full = _full_scan(need, info)
    if not columns:
        return full
    prefixed = list(prefixed) + [None] * (len(columns) - len(prefixed))
    key = list(columns) if clustered else list(columns) + [c for c in info.pk if c not in columns]
    prefixed += [None] * (len(key) - len(prefixed))
    used, i = set(), 0
    while i < len(key) and key[i] in need.eq and key[i] not in used:
        column = key[i]
        rows *= equality_fraction(info, column, need.in_lists.get(column, 1))
        used.add(column)
        i += 1
    sorted_ = _delivers_order(need, key[i:], prefixed[i:], used)
    # predicates the index does not apply: rows read in index order until LIMIT matches
    residual = math.prod(range_fraction(info, need, c) for c in need.ranges if c not in used)
    for column in need.eq:
        if column not in used:
            residual *= min(1.0, need.in_lists.get(column, 1) / info.cardinality(column))
    if i < len(key) and key[i] in need.ranges:  # also when the same column gives the order
        fraction = range_fraction(info, need, key[i])
        rows *= fraction
        residual /= fraction
        i += 1
    if i == 0 and not (sorted_ and need.limit is not None):
        return full  # an unfiltered walk of a secondary index only pays off to stop early
    if sorted_ and need.limit is not None:
        rows = min(rows, need.limit / max(residual, 1e-12))
    covering = clustered or (
        need.kind == "select"
        and need.reads is not None
        and all(p is None for p in prefixed[: len(columns)])
        and need.reads <= set(key)
    )
    return Estimate(rows=max(rows, 1.0), sorted=sorted_, covering=covering, used=max(i, 1),
                    unsorted=bool(need.order) and not sorted_)


def _full_scan(need: Need, info: TableInfo) -> Estimate:
    rows = max(info.rows, 1.0)
    if not need.order and not need.group and need.limit is not None:
        # LIMIT without ORDER BY stops after enough matching rows
        rows = min(rows, need.limit / selectivity(need, info))
    return Estimate(rows=rows, covering=True, unsorted=bool(need.order))


def selectivity(need: Need, info: TableInfo) -> float:
    """Fraction of the table all of ``need``'s predicates keep (1 / NDV per equality: the
    scale of a scan that stops after LIMIT matches, see :func:`equality_fraction`)."""
    fraction = math.prod(range_fraction(info, need, c) for c in need.ranges)
    for column in need.eq:
        fraction *= min(1.0, need.in_lists.get(column, 1) / info.cardinality(column))
    return max(fraction, 1e-12)


def range_fraction(info: TableInfo, need: Need, column: str) -> float:
    """Fraction of the table ``need``'s range predicates on ``column`` keep: measured for the
    class's sample (:attr:`TableInfo.ranges`, from a verification server), else
    :data:`RANGE_SELECTIVITY`."""
    measured = info.ranges.get((need.class_id, column))
    return RANGE_SELECTIVITY if measured is None else min(1.0, max(measured, 1e-9))


def equality_fraction(info: TableInfo, column: str, values: int = 1) -> float:
    """Fraction of the table ``column IN (values...)`` meets, averaged over the workload.

    Statements look popular values up more often than rare ones (the busy seller, the hot
    listing): a value drawn the way the rows are meets N x sum(p_i^2) rows, not N / NDV.
    That repeat rate is used when it was measured (:attr:`TableInfo.repeat`, from a
    verification server), else 1 / NDV.

    Only for rows an index *finds*: a predicate an index does not apply, checked row by row
    until LIMIT rows match, keeps 1 / NDV - a value of frequency p costs LIMIT / p rows, and
    over values drawn that way the mean is LIMIT x NDV (rare values dominate), not
    LIMIT / sum(p_i^2).
    """
    repeat = info.repeat.get(column)
    if repeat is None:
        repeat = 1 / info.cardinality(column)
    return min(1.0, values * repeat)


def _delivers_order(
    need: Need, rest: Sequence[str], prefixed: Sequence[int | None], used: set[str]
) -> bool:
    order = [(c, d) for c, d in need.order if c not in used]
    if not need.order or not order:
        return bool(need.order) and not any(need.in_lists.get(c, 1) > 1 for c in used)
    if len({d for _, d in order}) > 1 or any(need.in_lists.get(c, 1) > 1 for c in used):
        return False
    wanted = [c for c, _ in order]
    return list(rest[: len(wanted)]) == wanted and all(
        p is None for p in prefixed[: len(wanted)]
    )


def index_bytes(columns: Sequence[str], info: TableInfo) -> float:
    """Estimated size of a secondary index: rows x (key + primary key + overhead) / fill.

    The same formula as :func:`dbtune.catalog.estimate_entry_bytes`.
    """
    width = sum(info.width(c) for c in columns) + sum(
        info.width(c) for c in info.pk if c not in columns
    )
    return max(info.rows, 1.0) * (width + SECONDARY_OVERHEAD) / PAGE_FILL


# ----------------------------------------------------------------------------- selection
@dataclass
class TableState:
    """One table during the search: its statistics, needs, writes and indexes."""

    info: TableInfo
    needs: list[Need]
    #: (class id, share of workload time, columns an UPDATE sets - None for INSERT/DELETE,
    #: which maintain every index)
    writes: list[tuple[str, float, frozenset[str] | None]] = field(default_factory=list)
    candidates: list[tuple[str, ...]] = field(default_factory=list)
    chosen: list[tuple[str, ...]] = field(default_factory=list)
    _baselines: dict[int, tuple[Need, tuple[Estimate, str]]] = field(default_factory=dict,
                                                                     repr=False)
    _estimates: dict[tuple[int, tuple[str, ...]], tuple[Need, Estimate]] = field(
        default_factory=dict, repr=False)

    def writers(self, columns: Sequence[str]) -> list[tuple[str, float]]:
        """(class id, share) of the writes that must maintain an index on ``columns``."""
        lowered = {c.lower() for c in columns}
        return [(class_id, share) for class_id, share, sets in self.writes
                if sets is None or {c.lower() for c in sets} & lowered]

    def write_share(self, columns: Sequence[str]) -> float:
        """Share of workload time in writes that must maintain an index on ``columns``."""
        return sum(share for _, share in self.writers(columns))

    def best(
        self, need: Need, chosen: Sequence[tuple[str, ...]] | None = None
    ) -> tuple[Estimate, str]:
        """The cheapest way to serve ``need`` with the existing indexes plus ``chosen``
        (default: :attr:`chosen`): (estimate, index name, "PRIMARY", "" for a full scan,
        or the joined columns of a chosen index). On a tie, what exists today wins."""
        chosen = self.chosen if chosen is None else chosen
        options = [self.baseline(need)]
        options += [(self.estimate(need, columns), ",".join(columns)) for columns in chosen]
        return min(options, key=lambda o: o[0].cost)

    def baseline(self, need: Need) -> tuple[Estimate, str]:
        """How ``need`` is served today: full scan, primary key or an existing index."""
        cached = self._baselines.get(id(need))
        if cached is None or cached[0] is not need:  # ids are reused once a need is freed
            options = [(_full_scan(need, self.info), "")]
            if self.info.pk:
                options.append((estimate(need, self.info.pk, self.info, clustered=True),
                                "PRIMARY"))
            for name, columns, prefixes in self.info.existing:
                options.append((estimate(need, columns, self.info, prefixed=prefixes), name))
            cached = self._baselines[id(need)] = (need, min(options, key=lambda o: o[0].cost))
        return cached[1]

    def estimate(self, need: Need, columns: tuple[str, ...]) -> Estimate:
        """:func:`estimate` of a new index on ``columns`` (cached per need and columns)."""
        key = (id(need), columns)
        cached = self._estimates.get(key)
        if cached is None or cached[0] is not need:
            cached = self._estimates[key] = (need, estimate(need, columns, self.info))
        return cached[1]

    def relative(self, costs: Iterable[float]) -> float:
        """Weighted read cost of all needs, relative to today, given each need's cost."""
        return sum(n.weight * c / self.baseline(n)[0].cost
                   for n, c in zip(self.needs, costs, strict=True))


@dataclass(frozen=True)
class Step:
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
        gain = current - after - state.write_share(columns) * WRITE_FACTOR
        steps.append(Step(key, columns, None, gain, size, after))
        for old in state.chosen:
            if columns[: len(old)] == old:
                extra = state.write_share(columns) - state.write_share(old)
                after = state.relative(map(min, without[old], mine))
                steps.append(Step(key, columns, old, current - after - extra * WRITE_FACTOR,
                                  max(size - index_bytes(old, state.info), 1.0), after))
    return steps
