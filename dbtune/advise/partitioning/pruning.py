"""Per class: the partitions it reads after the change, and what that wins or loses.

The estimate is in shares of total query time (the class's share times the fraction it gains
or loses), so winners and losers of one table can be weighed against each other:

- a range on the column that an index does not already serve: it reads ``touched`` of
  ``total`` partitions instead of the whole table, gain ``share * (1 - touched / total)``;
- a purge (``DELETE ... WHERE col < ...``): DROP PARTITION replaces it, gain ``share``;
- a lookup through an index that does not lead with the column (by id, by token...): each of
  the ``total`` partitions has its own index tree to descend, loss
  ``share * PROBE_COST * (total - 1)``;
- a scan without the column, and inserts: unchanged.

>>> from datetime import datetime
>>> from dbtune.advise.partitioning.candidates import ClassUse
>>> from dbtune.advise.partitioning.scheme import plan_scheme
>>> s = plan_scheme("at", "datetime", low=datetime(2026, 1, 1), now=datetime(2026, 6, 1))
>>> use = ClassUse("q", 0.5, "select", "SELECT * FROM t WHERE at >= '2026-05-20'", {"at"})
>>> p = class_pruning(use, s, lookups=(), range_index=None, now=datetime(2026, 6, 1))
>>> p.role, p.touched, p.total, round(p.gain, 3)
('wins', 6, 27, 0.389)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from dbtune.advise.partitioning.bounds import column_range
from dbtune.advise.partitioning.candidates import ClassUse
from dbtune.advise.partitioning.scheme import Scheme, as_datetime

#: share of a lookup's time one more partition's index descent costs (estimate; the
#: benchmark measures it: see docs/partitions.md)
PROBE_COST = 0.05
#: a range over less than this fraction of the data is served by an index on the column
NARROW = 0.15


@dataclass
class ClassPruning:
    """One class on one table: the partitions it reads, and its estimated gain or loss."""

    class_id: str
    share: float
    kind: str
    role: str  # wins | purge | loses | same
    touched: int
    total: int
    #: estimated share of total query time won (positive) or lost (negative)
    gain: float
    note: str
    fingerprint: str = ""


def class_pruning(use: ClassUse, scheme: Scheme, *, lookups: Collection[str],
                  range_index: str | None, now: datetime) -> ClassPruning:
    """How ``use`` fares on ``scheme``; ``lookups``: index-led columns (lower case) a point
    lookup can use; ``range_index``: an index (existing or advised) leading with the column."""
    total = scheme.partition_count

    def out(role: str, touched: int, gain: float, note: str) -> ClassPruning:
        return ClassPruning(use.class_id, use.share, use.kind, role, touched, total, gain,
                            note, use.fingerprint)

    if use.kind == "insert":
        return out("same", 1, 0.0, "an insert writes one partition")
    span = column_range(use.sample, scheme.column, now=now, names=use.names)
    if span is not None and use.purge:
        return out("purge", scheme.touched(span.low, span.high), use.share,
                   "DROP PARTITION replaces this DELETE")
    if span is not None and span.bounded:
        touched = scheme.touched(span.low, span.high)
        if touched >= total:
            return out("same", touched, 0.0, "its range covers every partition")
        if range_index and _narrow(span.low, span.high, scheme):
            return out("same", touched, 0.0, f"index {range_index} already reads just the range")
        return out("wins", touched, use.share * (1 - touched / total),
                   f"reads {touched} of {total} partitions")
    if span is not None:
        return out("same", total, 0.0, f"its bound on {scheme.column} is not a constant")
    led = {c.lower() for c in use.equality} & set(lookups)
    if led:
        return out("loses", total, -use.share * PROBE_COST * (total - 1),
                   f"a lookup by {', '.join(sorted(led))} descends {total} index trees")
    return out("same", total, 0.0, f"no predicate on {scheme.column}: reads every partition, "
               "as it reads the whole table today")


def _narrow(low, high, scheme: Scheme) -> bool:
    first, last = scheme.lowers[0], scheme.upper
    lo = as_datetime(low) if low is not None else as_datetime(first)
    hi = as_datetime(high) if high is not None else as_datetime(last)
    whole = (as_datetime(last) - as_datetime(first))
    return whole == 0 or (hi - lo) / whole < NARROW
