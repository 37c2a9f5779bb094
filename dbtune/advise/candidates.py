"""Three-star candidate indexes, one small rule at a time.

A :class:`Need` is what one query class wants from one table (equality, range, ORDER BY,
GROUP BY, columns read); a :class:`TableInfo` is what dbtune knows about that table (rows,
column cardinalities and widths, primary key, existing indexes). Each rule in
:data:`CANDIDATE_RULES` maps ``(need, info)`` to a few column tuples; :func:`candidates`
runs them all, then :func:`shared_prefix_variants` adds orders that let one index serve
several classes through its left prefix, and :func:`merged_covers` the union of two
candidates that seek on the same column.

>>> info = TableInfo("t", rows=1e6, ndv={"a": 10, "b": 1e5}, widths={"a": 4, "b": 4, "c": 5},
...                  pk=("id",))
>>> need = Need("q1", "t", eq=("a", "b"), order=(("c", "ASC"),), limit=10)
>>> three_star(need, info)
[('b', 'a', 'c')]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dbtune.advise.need import Need, TableInfo
from dbtune.advise.run import Advising

#: a column wider than this (bytes) is not appended just to cover a query
MAX_COVER_WIDTH = 16
#: at most this many columns are appended to cover a query
MAX_COVER_COLUMNS = 2
#: InnoDB's limit on a composite index
MAX_INDEX_COLUMNS = 16
#: InnoDB's key length limit (DYNAMIC row format), bytes
MAX_KEY_BYTES = 3072


# ----------------------------------------------------------------------------- rules
def _star1(need: Need, info: TableInfo) -> list[str]:
    """Equality columns, most selective (highest cardinality) first."""
    return sorted(need.eq, key=lambda c: (-info.cardinality(c), c))


def _order_tail(need: Need) -> list[str] | None:
    """The ORDER BY columns an index after the equality columns could deliver, or None."""
    rest = [(c, d) for c, d in need.order if c not in need.eq]
    if not rest or len({d for _, d in rest}) > 1:
        return None
    if any(need.in_lists.get(c, 1) > 1 for c in need.eq):
        return None  # several IN values: rows arrive in several ranges, the sort stays
    return [c for c, _ in rest]


def _best_range(need: Need, info: TableInfo) -> str | None:
    ranges = [c for c in need.ranges if c not in need.eq]
    return max(ranges, key=lambda c: (info.cardinality(c), c)) if ranges else None


def _cover(need: Need, info: TableInfo, columns: list[str]) -> list[str]:
    """Append the remaining columns the statement touches when they are few and narrow."""
    if need.reads is None or need.kind != "select":
        return columns
    missing = sorted(need.reads - set(columns) - set(info.pk))
    if not missing or len(missing) > MAX_COVER_COLUMNS:
        return columns
    if any((info.widths.get(c) or MAX_COVER_WIDTH + 1) > MAX_COVER_WIDTH for c in missing):
        return columns
    return columns + missing


def _two_stars(need: Need, info: TableInfo) -> list[str]:
    """Equality columns, then ORDER BY (when it avoids the sort), else the best range
    column, else the GROUP BY columns."""
    columns = _star1(need, info)
    tail = _order_tail(need)
    if tail is not None:
        columns += [c for c in tail if c not in columns]
    elif (best := _best_range(need, info)) is not None:
        columns.append(best)
    elif need.group and not need.order:
        columns += sorted(c for c in need.group if c not in columns)
    return columns


def three_star(need: Need, info: TableInfo) -> list[tuple[str, ...]]:
    """Equality columns, then ORDER BY (when it avoids the sort) or the best range, then cover."""
    return _finish(_cover(need, info, _two_stars(need, info)), info)


def range_instead_of_order(need: Need, info: TableInfo) -> list[tuple[str, ...]]:
    """The other side of the three-star dilemma: equality + range even when ORDER BY exists."""
    best = _best_range(need, info)
    if best is None or _order_tail(need) is None:
        return []
    return _finish(_cover(need, info, [*_star1(need, info), best]), info)


def without_cover(need: Need, info: TableInfo) -> list[tuple[str, ...]]:
    """The three-star index without its covering columns (cheaper, often enough)."""
    return _finish(_two_stars(need, info), info)


def equality_only(need: Need, info: TableInfo) -> list[tuple[str, ...]]:
    """Only the equality columns: the narrowest index that still filters."""
    return _finish(_star1(need, info), info)


def flip_cover(need: Need, info: TableInfo) -> list[tuple[str, ...]]:
    """A covering index on each join column the optimizer could reach the table through
    from a filtered table read after it (:attr:`Need.flips`): should an index on that
    column flip the join order, a covering one reads no clustered rows
    (:func:`dbtune.advise.estimate.flipped`).

    >>> info = TableInfo("sales", widths={"day": 4, "qty": 4, "amt": 4}, pk=("item", "ord"))
    >>> need = Need("q", "sales", eq=("item",), reads=frozenset({"item", "day", "qty", "amt"}),
    ...             joined=("item",), flips={"day": 366.0})
    >>> flip_cover(need, info)
    [('day', 'amt', 'qty')]
    """
    out = []
    for column in need.flips:
        covered = _cover(need, info, [column])
        if len(covered) > 1:
            out += _finish(covered, info)
    return out


CandidateRule = Callable[[Need, TableInfo], list[tuple[str, ...]]]

#: the candidate rules, run in this order for every (class, table) need
CANDIDATE_RULES: tuple[CandidateRule, ...] = (
    three_star,
    range_instead_of_order,
    without_cover,
    equality_only,
    flip_cover,
)


def shared_prefix_variants(
    columns: tuple[str, ...], need: Need, leads: Iterable[frozenset[str]], info: TableInfo
) -> list[tuple[str, ...]]:
    """Reorder a candidate's equality block so another class's equality set leads it.

    An index (a, b, c) serves ``a = ?`` through its left prefix; (b, a, c) does not. When one
    class filters on {a} and another on {a, b}, the variant with ``a`` first serves both.
    Equality columns can be reordered freely without losing anything for their own class.
    """
    k = 0
    while k < len(columns) and columns[k] in need.eq:
        k += 1
    block = set(columns[:k])
    variants = []
    for lead in leads:
        if lead and lead < block:
            head = sorted(lead, key=lambda c: (-info.cardinality(c), c))
            tail = sorted(block - lead, key=lambda c: (-info.cardinality(c), c))
            variants.append((*head, *tail, *columns[k:]))
    return variants


def merged_covers(pool: Iterable[tuple[str, ...]], needs: Iterable[Need], info: TableInfo
                  ) -> list[tuple[str, ...]]:
    """Index merging (Chaudhuri and Narasayya, ICDE 1999): two candidates that seek on the
    same first column and differ in what follows also come as one index, the first followed
    by the other's remaining columns, when those only cover (no class that seeks on that
    first column filters, sorts or groups on them: appended, they would seek nothing) and
    are few and narrow (the limits of covering). One index then covers both classes where
    the greedy search, taking one, would leave the other's lookups (and which one it took
    turned on a near-tie between rare classes): ``(created_at, marketplace, total)`` for a
    daily report and ``(created_at, status)`` for a join on the same range (``status <>
    ...`` seeks nothing) become ``(created_at, marketplace, total, status)``.

    >>> info = TableInfo("t", widths={"a": 4, "b": 4, "c": 4})
    >>> needs = [Need("q1", "t", ranges=("a",), reads=frozenset("ab")),
    ...          Need("q2", "t", ranges=("a",), reads=frozenset("ac"))]
    >>> merged_covers([("a", "b"), ("a", "c"), ("b",)], needs, info)
    [('a', 'b', 'c'), ('a', 'c', 'b')]
    """
    pool, needs = list(pool), list(needs)
    out: list[tuple[str, ...]] = []
    for first in pool:
        seeks = {c for n in needs if first[0] in (*n.eq, *n.ranges)
                 for c in (*n.eq, *n.ranges, *n.group, *(c for c, _ in n.order))}
        for other in pool:
            if first[0] != other[0] or _prefix_related(first, other):
                continue
            extra = tuple(c for c in other if c not in first)
            if not extra or len(extra) > MAX_COVER_COLUMNS or seeks & set(extra) or any(
                    (info.widths.get(c) or MAX_COVER_WIDTH + 1) > MAX_COVER_WIDTH
                    for c in extra):
                continue
            merged = first + extra
            if merged not in out:
                out.append(merged)
    return out


def _prefix_related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def usable(columns: tuple[str, ...], info: TableInfo) -> bool:
    """Can InnoDB build this index as plain (non-prefix) key parts?"""
    if not columns or len(columns) > MAX_INDEX_COLUMNS or len(set(columns)) != len(columns):
        return False
    if any(c in info.widths and info.widths[c] is None for c in columns):
        return False
    return sum(info.width(c) for c in columns) <= MAX_KEY_BYTES


def candidates(needs: Iterable[Need], info: TableInfo) -> list[tuple[str, ...]]:
    """All candidate column tuples for one table: every rule, then shared-prefix variants."""
    needs = list(needs)
    leads = {frozenset(n.eq) for n in needs}
    pool: dict[tuple[str, ...], None] = {}
    for need in needs:
        for rule in CANDIDATE_RULES:
            for columns in rule(need, info):
                pool.setdefault(columns)
                for variant in shared_prefix_variants(columns, need, leads, info):
                    pool.setdefault(_strip_pk_suffix(variant, info.pk))
    for merged in merged_covers(list(pool), needs, info):
        pool.setdefault(merged)
    return [c for c in pool if usable(c, info)]


def _strip_pk_suffix(columns: tuple[str, ...], pk: tuple[str, ...]) -> tuple[str, ...]:
    """InnoDB appends the primary key to every secondary index: never spell it out at the end."""
    while columns and columns[-1] in pk:
        columns = columns[:-1]
    return columns


def _finish(columns: list[str], info: TableInfo) -> list[tuple[str, ...]]:
    """A rule's result: the columns without a trailing primary key, or nothing."""
    stripped = _strip_pk_suffix(tuple(columns), info.pk)
    return [stripped] if stripped else []


def generate_candidates(run: Advising) -> None:
    """Stage: every table's candidates from the needs of the classes that read it."""
    for state in run.tables.values():
        state.candidates = candidates(state.needs, state.info)
