"""The write-cost model: what an extra index costs the writes that must maintain it.

Every cost is a share of total workload time, like the read side
(:mod:`dbtune.advise.estimate`). A write class on a table is a :class:`Write`: the share of
workload time it spends changing rows (:func:`write_fraction` of its time: not the part
spent finding them) and the columns it sets (an UPDATE that sets none of an index's columns
does not maintain it; INSERT and DELETE maintain every index).

>>> writes = [Write("ins", 0.2, None), Write("upd", 0.1, frozenset({"b"}))]
>>> writers(writes, ["a"]), round(write_cost(writes, ["b"]), 3)
([('ins', 0.2)], 0.03)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlglot import exp

from dbtune.advise.estimate import selectivity
from dbtune.advise.need import Need, TableInfo
from dbtune.parsing import parse_statement

#: each extra index adds this fraction to the time of the writes on its table
WRITE_FACTOR = 0.1


class Write(NamedTuple):
    """One write class on one table."""

    class_id: str
    #: share of workload time the class spends changing rows of this table
    share: float
    #: the columns an UPDATE sets; None for INSERT / DELETE / REPLACE (every index)
    sets: frozenset[str] | None


def writers(writes: Sequence[Write], columns: Sequence[str]) -> list[tuple[str, float]]:
    """(class id, share) of the writes that must maintain an index on ``columns``."""
    lowered = {c.lower() for c in columns}
    return [(w.class_id, w.share) for w in writes
            if w.sets is None or {c.lower() for c in w.sets} & lowered]


def write_share(writes: Sequence[Write], columns: Sequence[str]) -> float:
    """Share of workload time in writes that must maintain an index on ``columns``."""
    return sum(share for _, share in writers(writes, columns))


def write_cost(writes: Sequence[Write], columns: Sequence[str]) -> float:
    """Share of workload time an index on ``columns`` adds to the writes that maintain it."""
    return write_share(writes, columns) * WRITE_FACTOR


def write_fraction(needs: Sequence[Need], info: TableInfo, today: Sequence[float]) -> float:
    """The part of a DML class's time spent changing rows (what an extra index slows down),
    not finding them: rows it changes / rows it examines ``today`` (one figure per need).

    An ``UPDATE ... WHERE sku = ?`` that scans the whole table today spends almost all its
    time finding its one row; an INSERT or a primary-key UPDATE spends it all writing.
    """
    fraction = 1.0
    for need, rows in zip(needs, today, strict=True):
        changed = max(1.0, info.rows * selectivity(need, info))
        if need.limit is not None:
            changed = min(changed, need.limit)
        fraction = min(fraction, changed / max(rows, 1.0))
    return fraction


def updated_columns(sql: str) -> frozenset[str] | None:
    """The columns an UPDATE sets (an index without them costs it nothing); None otherwise.

    >>> sorted(updated_columns("UPDATE t SET a = 1, b = b + 1 WHERE id = 3"))
    ['a', 'b']
    """
    tree = parse_statement(sql or "")
    if not isinstance(tree, exp.Update):
        return None
    return frozenset(e.this.name for e in tree.expressions
                     if isinstance(e, exp.EQ) and isinstance(e.this, exp.Column))
