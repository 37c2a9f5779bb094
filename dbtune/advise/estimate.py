"""The read-cost model: what one index would do for one (class, table) need.

:func:`estimate` plays the optimizer: how many rows the index leaves to examine, whether it
delivers ORDER BY (so LIMIT stops early) and whether it covers the statement;
:attr:`Estimate.cost` turns that into rows of a full scan. The write side of the model is
:mod:`dbtune.advise.writecost`.

>>> from dbtune.advise.need import LOW_NDV, Need, TableInfo
>>> info = TableInfo("t", rows=1e6, ndv={"a": 1e5}, pk=("id",))
>>> estimate(Need("q", "t", eq=("a",)), ("a",), info).rows
10.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from dbtune.advise.need import LOW_NDV, Need, TableInfo
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
#: what a statement costs whatever it reads (parse, optimise, send), in rows of a full scan.
#: Measured on MariaDB 10.11 (performance_schema server time, data in the buffer pool, a
#: busy 2-core machine): a full scan of 200,000 rows took 122 ms (0.61 us per row), a
#: primary-key lookup 377 us (about 600 rows) and a one-row secondary-index lookup 662 us;
#: half of the point lookup keeps the figure on the cautious side. So a covering index that
#: saves a one-row lookup its clustered-index descent saves 1% of the statement, not 87%
STATEMENT_COST = 300.0
#: rows of the tables read before that one join buffer holds: a table joined without an
#: index is scanned once per bufferful (MariaDB's block nested loop, join_buffer_size 256 KB
#: at ~128 bytes a row)
JOIN_BUFFER_ROWS = 2000.0
#: ...and every row of the table is compared with every buffered row: a pair costs this
#: fraction of a scanned row. Measured on TPC-H SF 0.05 (MariaDB 10.11, join_cache_level 2):
#: Q13's 7,500 customers LEFT JOIN 75,000 orders without an index on o_custkey ran past 30 s,
#: >= 53 ns a pair against 0.61 us a scanned row (>= 0.087); 0.05 stays cautious
PAIR_FACTOR = 0.05


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
        then the sort; plus :data:`STATEMENT_COST`."""
        factor = 1.0 if not self.used else COVERING_FACTOR if self.covering else LOOKUP_FACTOR
        return self.rows * factor * (SORT_FACTOR if self.unsorted else 1.0) + STATEMENT_COST


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
    full = full_scan(need, info)
    if not columns:
        return full
    prefixed = list(prefixed) + [None] * (len(columns) - len(prefixed))
    key = list(columns) if clustered else list(columns) + [c for c in info.pk if c not in columns]
    prefixed += [None] * (len(key) - len(prefixed))
    used, i = set(), 0
    while i < len(key) and key[i] in need.eq and key[i] not in used:
        used.add(key[i])
        i += 1
    # a shared prefix: only the equality columns the index matches count, and a guessed
    # cardinality among them counts as few values (see :func:`matched_fraction`)
    rows *= matched_fraction(need, info, key[:i])
    sorted_ = _delivers_order(need, key[i:], prefixed[i:], used)
    # predicates the index does not apply: rows read in index order until LIMIT matches
    residual = math.prod(range_fraction(info, need, c) for c in need.ranges if c not in used)
    for column in need.eq:
        if column not in used:
            residual *= min(1.0, need.in_lists.get(column, 1) / info.cardinality(column))
    walked = [c for c in need.ranges if c not in used]  # range columns the index walks past
    if i < len(key) and key[i] in need.ranges:  # also when the same column gives the order
        fraction = range_fraction(info, need, key[i])
        rows *= fraction
        residual /= fraction
        walked.remove(key[i])
        i += 1
    if i == 0 and not (sorted_ and need.limit is not None):
        return full  # an unfiltered walk of a secondary index only pays off to stop early
    if sorted_ and need.limit is not None:
        ranged = math.prod(range_fraction(info, need, c) for c in walked)
        rows = early_stop(rows, need.limit, residual, ranged)
    rows *= max(need.lookups, 1.0)  # one lookup per row reaching the table in a join
    covering = clustered or (
        need.kind == "select"
        and need.reads is not None
        and all(p is None for p in prefixed[: len(columns)])
        and need.reads <= set(key)
    )
    return Estimate(rows=max(rows, 1.0), sorted=sorted_, covering=covering, used=max(i, 1),
                    unsorted=bool(need.order) and not sorted_)


#: the optimizer's estimate of a join path is this far off at most (InnoDB's sampled
#: rec_per_key: MariaDB 10.11 estimated 40 rows per date on TPC-DS's catalog_sales where
#: there are 78, and took the date-first join that read 28,000 clustered rows for Q75
#: instead of the item-first one reading 15,500 by the primary key)
FLIP_MARGIN = 4.0


def flipped(need: Need, columns: Sequence[str], info: TableInfo,
            today: Estimate) -> Estimate | None:
    """What ``need`` costs should an index on ``columns`` flip its join order for the worse
    (``today``: how the class reads the table without it).

    ``columns`` leading with a join column towards a filtered table read after this one
    (:attr:`Need.flips`) let the optimizer read that table first and come here through the
    index, looked up once per row it keeps. It may take that path when it finds no more
    than :data:`FLIP_MARGIN` times the rows the class's access finds today (its estimates
    are that rough); the estimate of the path when it costs more than today's, else None.

    >>> info = TableInfo("sales", rows=150_000, ndv={"day": 1830, "item": 2000},
    ...                  pk=("item", "ord"))
    >>> need = Need("q", "sales", eq=("item",), joined=("item",), lookups=500,
    ...             reads=frozenset({"item", "day", "qty"}), flips={"day": 366.0})
    >>> today = estimate(need, info.pk, info, clustered=True)  # 37,500 rows by the key
    >>> flipped(need, ("day",), info, today).rows  # 366 days x 82 rows, each a lookup
    30000.0
    >>> flipped(need, ("day", "qty"), info, today) is None  # covering: cheaper than today
    True
    """
    if not columns or columns[0] in need.eq or columns[0] not in need.flips:
        return None
    own = tuple(c for c in need.eq if c not in need.joined)
    path = estimate(replace(need, eq=(columns[0], *own), joined=(columns[0],), flips={},
                            lookups=need.flips[columns[0]]), columns, info)
    if path.rows <= today.rows * FLIP_MARGIN and path.cost > today.cost:
        return path
    return None


def matched_fraction(need: Need, info: TableInfo, matched: Sequence[str]) -> float:
    """Fraction of the table an index finds through the equality columns it matches.

    Each matched column keeps :func:`equality_fraction`. When the index matches only part
    of ``need``'s equality columns (another class's index sharing a first column), a column
    whose cardinality is a guess with nothing to go on (:meth:`TableInfo.guessed`) counts
    as few values (:data:`~dbtune.advise.need.LOW_NDV`): a shared ``(warehouse, ...)`` is
    not counted as serving ``warehouse = ? AND ref = ?`` on the strength of a guess, since
    when it is wrong the class keeps examining a fifth of the table instead of one row.

    >>> from dbtune.advise.need import Need, TableInfo
    >>> info = TableInfo("t", rows=1e5, pk=("id",))
    >>> need = Need("q", "t", eq=("warehouse", "ref"))
    >>> matched_fraction(need, info, ["warehouse"]), matched_fraction(need, info,
    ...                                                              ["warehouse", "ref"])
    (0.2, 1e-06)
    """
    partial = any(c not in matched for c in need.eq)
    fraction = 1.0
    for column in matched:
        values = need.in_lists.get(column, 1)
        if partial and info.guessed(column):
            fraction *= min(1.0, values / LOW_NDV)
        else:
            fraction *= equality_fraction(info, column, values)
    return fraction


def full_scan(need: Need, info: TableInfo) -> Estimate:
    """A full scan for ``need`` (stopped early by a LIMIT without ORDER BY); in a join, once
    per :data:`JOIN_BUFFER_ROWS` of the rows reaching the table, each row compared with every
    one of them (:data:`PAIR_FACTOR`)."""
    rows = max(info.rows, 1.0)
    if need.lookups > 1:
        rows *= max(1.0, need.lookups / JOIN_BUFFER_ROWS) + need.lookups * PAIR_FACTOR
    if not need.order and not need.group and need.limit is not None:
        # LIMIT without ORDER BY stops after enough matching rows
        ranged = math.prod(range_fraction(info, need, c) for c in need.ranges)
        rows = early_stop(rows, need.limit, selectivity(need, info), ranged)
    return Estimate(rows=rows, covering=True, unsorted=bool(need.order))


def early_stop(rows: float, limit: float, residual: float, ranged: float = 1.0) -> float:
    """Rows a walk over ``rows`` (in index or primary-key order) reads to find ``limit`` rows
    that pass the predicates it does not apply (``residual``: their selectivity).

    When matches are spread evenly, ``limit / residual``. A range predicate on another column
    (``ranged``: its selectivity) is not spread evenly: a time range walked in primary-key
    order (``created_at >= NOW() - INTERVAL 1 DAY ORDER BY id LIMIT 10``) holds only at one end
    of the walk, since ids and times grow together. Which end is unknown, so on average the
    walk first passes half of the rows outside the range.

    >>> early_stop(1e6, 10, 0.01), early_stop(1e6, 10, 0.01, ranged=0.01)
    (1000.0, 495000.0)
    """
    walk = limit / max(residual, 1e-12)
    if ranged < 1.0:
        walk = max(walk, rows * (1 - ranged) / 2)
    return min(rows, walk)


def selectivity(need: Need, info: TableInfo) -> float:
    """Fraction of the table all of ``need``'s predicates keep (1 / NDV per equality: the
    scale of a scan that stops after LIMIT matches, see :func:`equality_fraction`)."""
    fraction = math.prod(range_fraction(info, need, c) for c in need.ranges)
    for column in need.eq:
        fraction *= min(1.0, need.in_lists.get(column, 1) / info.cardinality(column))
    return max(fraction, 1e-12)


def range_fraction(info: TableInfo, need: Need, column: str) -> float:
    """Fraction of the table ``need``'s range predicates on ``column`` keep: measured for the
    class's sample (:attr:`TableInfo.ranges`, from a verification server), else estimated
    from the catalog's value distribution (:attr:`Need.range_estimates`), else
    :data:`RANGE_SELECTIVITY`."""
    measured = info.ranges.get((need.class_id, column), need.range_estimates.get(column))
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
