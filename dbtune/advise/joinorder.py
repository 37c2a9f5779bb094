"""The join order the advisor prices a multi-table statement in: a nested loop driven from the
table whose own filters leave the fewest rows, each further table reached through its join
columns towards the tables already read.

Syntax does not say which table MySQL reads first (``FROM supplier, lineitem, orders,
nation WHERE n_name = 'X'`` is best read from ``nation``), so the first table of the FROM
clause is not taken as the driver. :func:`block_order` orders each query block left-deep,
on the advisor's estimates, so that the fewest rows pass from table to table (each is a
lookup into the next): usually the table its constant predicates leave smallest first, then
the tables joined to those already read. Each table is then looked up through the
join columns that point to tables read before it, once per row reaching it
(:attr:`JoinStep.lookups`); the driver only through its own predicates.

>>> from dbtune.access import access_patterns
>>> from dbtune.advise.need import TableInfo
>>> a = access_patterns("SELECT 1 FROM big b JOIN small s ON b.s_id = s.id WHERE s.name = 'x'")
>>> infos = [TableInfo("big", rows=1e6, ndv={"s_id": 1e3}, pk=("id",)),
...          TableInfo("small", rows=1e3, ndv={"name": 1e3}, pk=("id",))]
>>> [(s.joined, s.lookups) for s in join_order("q", a.accesses, infos)]
[(('s_id',), 1.0), ((), 1.0)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dbtune.access import AccessPattern
from dbtune.advise.estimate import RANGE_SELECTIVITY
from dbtune.advise.need import TableInfo

#: IN (SELECT ...) values assumed per outer row (as in :mod:`dbtune.advise.needs`)
IN_SUBQUERY_VALUES = 10
#: blocks with more tables are ordered greedily, not by the exhaustive search
EXHAUSTIVE_TABLES = 10


@dataclass(frozen=True)
class JoinStep:
    """How one table reference is reached in the priced join order."""

    #: join columns that count as equality: towards tables read before, or outside the block
    joined: tuple[str, ...]
    #: rows reaching this table from the tables read before it (1 for the driver)
    lookups: float = 1.0
    #: read first in its query block
    first: bool = False
    #: join column -> rows a table joined through it, read after this one, keeps by its own
    #: filters: the optimizer could read that table first and reach this one through an
    #: index on the column instead (:func:`flip_columns`)
    flips: tuple[tuple[str, float], ...] = ()


def own_fraction(class_id: str, pattern: AccessPattern, info: TableInfo,
                 estimated: Mapping[str, float] | None = None) -> float:
    """Fraction of the table the reference's own constant predicates keep: 1 / NDV per
    value of an equality, per range the measured fraction (:attr:`TableInfo.ranges`), else
    the one ``estimated`` from statistics, else 1/3.

    >>> from dbtune.access import access_patterns
    >>> p = access_patterns("SELECT 1 FROM t WHERE a = 1 AND b > 2").accesses[0]
    >>> own_fraction("q", p, TableInfo("t", ndv={"a": 10}))
    0.03333333333333333
    """
    fraction = 1.0
    for column, values in pattern.equality.items():
        values = IN_SUBQUERY_VALUES if values is None else values
        fraction *= min(1.0, values / info.cardinality(_spelled(info, column)))
    for column in pattern.is_null:
        fraction *= min(1.0, 1 / info.cardinality(_spelled(info, column)))
    for column in pattern.range:
        name = _spelled(info, column)
        measured = info.ranges.get((class_id, name), (estimated or {}).get(name))
        fraction *= RANGE_SELECTIVITY if measured is None else min(1.0, max(measured, 1e-9))
    return fraction


def join_order(class_id: str, patterns: Sequence[AccessPattern], infos: Sequence[TableInfo],
               estimated: Sequence[Mapping[str, float]] = ()) -> list[JoinStep]:
    """One :class:`JoinStep` per pattern (same order), each query block ordered by
    :func:`block_order` (see the module docstring); the tables of a subquery correlated with
    its outer query are looked up once per row of the outer block, through the correlated
    columns. ``estimated``: per pattern, its range fractions from statistics."""
    estimated = list(estimated) + [{}] * (len(patterns) - len(estimated))
    steps: list[JoinStep] = [JoinStep(()) for _ in patterns]
    blocks: dict[int, list[int]] = {}
    for i, p in enumerate(patterns):
        blocks.setdefault(p.block, []).append(i)
    outer_rows = 1.0
    for number in sorted(blocks):
        members = blocks[number]
        filtered = {i: max(1.0, infos[i].rows * own_fraction(class_id, patterns[i], infos[i],
                                                              estimated[i]))
                    for i in members}
        joined = _joins(members, patterns, infos, outer=number > 0)
        correlated = any(o is None for i in members for o in joined[i].values())
        rows = outer_rows if correlated else 1.0
        read: set[int] = set()
        for position, i in enumerate(block_order(members, patterns, filtered, joined, infos)):
            columns = tuple(c for c, other in joined[i].items() if other is None or other & read)
            steps[i] = JoinStep(columns, rows, first=position == 0,
                                flips=flip_columns(joined[i], read, filtered, infos))
            rows = max(1.0, rows * filtered[i] * _join_fraction(infos[i], columns))
            read.add(i)
        if number == 0:
            outer_rows = rows
    return steps


def block_order(members: Sequence[int], patterns: Sequence[AccessPattern],
                filtered: Mapping[int, float], joined: Mapping[int, Mapping[str, set | None]],
                infos: Sequence[TableInfo]) -> list[int]:
    """The left-deep order of one block's tables with the fewest rows passed between them
    (the sum of every prefix's rows: each is a lookup into the next table): an exhaustive
    search over subsets up to :data:`EXHAUSTIVE_TABLES` tables, else greedy. A table is only
    read once a table it joins is (no cross join while a join remains), and the
    NULL-supplying side of an outer join never first."""
    names = {patterns[m].table for m in members}

    def fanout(i: int, read: frozenset[int]) -> float:
        columns = [c for c, other in joined[i].items() if other is None or other & read]
        return filtered[i] * _join_fraction(infos[i], columns)

    def options(read: frozenset[int]) -> list[int]:
        rest = [i for i in members if i not in read]
        if not read:
            firsts = [i for i in rest if not patterns[i].nullable_side]
            return firsts or rest
        linked = [i for i in rest if any(o is not None and o & read
                                         for o in joined[i].values())
                  and outer_ready(patterns[i], {patterns[m].table for m in read}, names)]
        return linked or rest

    start: frozenset[int] = frozenset()
    best: dict[frozenset[int], tuple[float, float, tuple[int, ...]]] = {start: (0.0, 1.0, ())}
    if len(members) > EXHAUSTIVE_TABLES:  # greedy: the next table leaving the fewest rows
        read, rows, order = start, 1.0, ()
        while len(order) < len(members):
            i = min(options(read), key=lambda m: (rows * fanout(m, read), m))
            rows, read, order = max(1.0, rows * fanout(i, read)), read | {i}, (*order, i)
        return list(order)
    layer = [start]
    for _ in members:
        following: dict[frozenset[int], tuple[float, float, tuple[int, ...]]] = {}
        for read in layer:
            cost, rows, order = best[read]
            for i in options(read):
                after = max(1.0, rows * fanout(i, read))
                key = read | {i}
                candidate = (cost + after, after, (*order, i))
                if key not in following or candidate < following[key]:
                    following[key] = candidate
        best.update(following)
        layer = list(following)
    return list(best[frozenset(members)][2])


def flip_columns(joined: Mapping[str, set[int] | None], read: set[int],
                 filtered: Mapping[int, float], infos: Sequence[TableInfo]
                 ) -> tuple[tuple[str, float], ...]:
    """(join column, rows) for each join column of a table towards tables read after it
    (none of them in ``read``) of which one has filters of its own: ``rows`` is the fewest
    rows such a table keeps (``filtered``), the lookups this table would get were the
    optimizer to read that table first, through an index on the column.

    >>> infos = [TableInfo("sales", rows=1e5), TableInfo("days", rows=1830)]
    >>> flip_columns({"day": {1}, "item": {2}}, {2}, {1: 366.0, 2: 500.0}, infos)
    (('day', 366.0),)
    """
    out = []
    for column, others in joined.items():
        if others is None or others & read:
            continue
        kept = [filtered[m] for m in others if filtered[m] < max(1.0, infos[m].rows)]
        if kept:
            out.append((column, min(kept)))
    return tuple(out)


def outer_ready(pattern: AccessPattern, read: set[str], names: set[str]) -> bool:
    """May ``pattern`` be read once the tables ``read`` are? Always, unless it is the
    NULL-supplying side of an outer join: then only after every table of the block
    (``names``) its own join predicates name - a LEFT JOIN's inner table is read after the
    tables of its ON clause, never between them through an equality it only shares.

    >>> from dbtune.access import access_patterns
    >>> sql = ("SELECT 1 FROM item i JOIN sales s ON s.item = i.id "
    ...        "LEFT JOIN returns r ON r.item = s.item AND r.ord = s.ord")
    >>> returns = access_patterns(sql).accesses[2]
    >>> outer_ready(returns, {"item"}, {"item", "sales", "returns"})
    False
    >>> outer_ready(returns, {"item", "sales"}, {"item", "sales", "returns"})
    True
    """
    if not pattern.nullable_side:
        return True
    return all(j.other_table in read for j in pattern.joins if j.other_table in names)


def _joins(members: Sequence[int], patterns: Sequence[AccessPattern],
           infos: Sequence[TableInfo], *, outer: bool) -> dict[int, dict[str, set[int] | None]]:
    """Per member: join column -> the block's members it is equal to (None: a table outside
    the block - the outer query's row when ``outer``, else a derived table, not counted).

    Equalities are followed transitively, as the optimizer's equality propagation does:
    ``c_nationkey = s_nationkey AND s_nationkey = n_nationkey`` joins customer to nation."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(node: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    names = {patterns[m].table for m in members}
    for i in members:
        for j in patterns[i].joins:
            if j.other_table in names:
                a, b = find((patterns[i].table, j.column.lower())), find(
                    (j.other_table, j.other_column.lower()))
                parent[a] = b
    out: dict[int, dict[str, set[int] | None]] = {}
    for i in members:
        columns: dict[str, set[int] | None] = {}
        for j in patterns[i].joins:
            column = _spelled(infos[i], j.column)
            root = find((patterns[i].table, j.column.lower()))
            others = {m for m in members if m != i and any(
                find((patterns[m].table, k.column.lower())) == root for k in patterns[m].joins)}
            if others:
                current = columns.get(column, set())
                columns[column] = None if current is None else current | others
            elif outer:  # outside this block (a self-correlation names the same table)
                columns[column] = None
        out[i] = columns
    return out


def _join_fraction(info: TableInfo, columns: Sequence[str]) -> float:
    fraction = 1.0
    for column in columns:
        fraction *= 1 / info.cardinality(column)
    return fraction


def _spelled(info: TableInfo, column: str) -> str:
    """The column's spelling in ``info`` (catalog spelling), matched case-insensitively."""
    if column in info.widths or column in info.ndv:
        return column
    folded = column.lower()
    return next((c for c in info.widths if c.lower() == folded), column)
