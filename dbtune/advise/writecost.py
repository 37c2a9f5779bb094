"""The write-cost model: what an extra index costs the writes that must maintain it.

Every cost is a share of total workload time, like the read side
(:mod:`dbtune.advise.estimate`). A write class on a table is a :class:`Write`: the share of
workload time it spends changing rows (:func:`write_fraction` of its time: not the part
spent finding them) and the columns it sets (an UPDATE that sets none of an index's columns
does not maintain it; INSERT and DELETE maintain every index).

Two ways to price an index for a write, and every figure says which it is
(:func:`write_basis`):

- **measured** (:mod:`dbtune.advise.measure`, with a disposable server): the class's
  statement timed in a rolled-back transaction with and without candidate indexes built
  IGNORED / INVISIBLE (still maintained, never read). As AutoAdmin splits an UPDATE, the
  write is a read part plus a maintenance part: ``upkeep`` holds each measured candidate's
  own maintenance (the extra time relative to the statement's own time, measured by
  dropping the candidates one at a time), so an index on ``columns`` costs
  ``class_share x upkeep_of(columns)`` of the workload; ``per_index``, the average over the
  candidates built, prices an index that was not built (a widened one). The read part an
  index saves a write (a DELETE whose WHERE it serves) is a measured read of the class's
  need (:mod:`dbtune.advise.whatif`), not a write cost;
- **estimated** (offline, ``--schema`` only, or a class that could not be replayed): the
  constant :data:`WRITE_FACTOR` of the time the class spends changing rows.

>>> writes = [Write("ins", 0.2, None), Write("upd", 0.1, frozenset({"b"}))]
>>> writers(writes, ["a"]), round(write_cost(writes, ["b"]), 3)
([('ins', 0.2)], 0.03)
>>> measured = [Write("del", 0.001, None, per_index=1.0, class_share=0.002,
...                   upkeep=((("a",), 1.5), (("b",), 0.5)))]
>>> write_cost(measured, ["a"]), write_cost(measured, ["b"]), write_cost(measured, ["c"])
(0.003, 0.001, 0.002)
>>> write_basis(measured, ["a"])
'measured'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlglot import exp

from dbtune.advise.estimate import selectivity
from dbtune.advise.need import Need, TableInfo
from dbtune.parsing import parse_statement

#: the offline estimate, used only where nothing was measured: each extra index adds this
#: fraction to the time a write spends changing rows (a constant, not a measurement: about
#: 1.0 was measured for a batch DELETE, 0.1-0.3 for one-row INSERTs)
WRITE_FACTOR = 0.1


class Write(NamedTuple):
    """One write class on one table."""

    class_id: str
    #: share of workload time the class spends changing rows of this table
    share: float
    #: the columns an UPDATE sets; None for INSERT / DELETE / REPLACE (every index)
    sets: frozenset[str] | None
    #: measured: the extra time one more index adds to the statement, relative to its time
    #: without it (None: not measured, :data:`WRITE_FACTOR` estimates it)
    per_index: float | None = None
    #: the class's whole share of workload time (what ``per_index`` is relative to)
    class_share: float = 0.0
    #: measured: (candidate columns, the extra time that one index's upkeep adds,
    #: relative to the statement's time without it), per candidate built
    upkeep: tuple[tuple[tuple[str, ...], float], ...] = ()

    def upkeep_of(self, columns: Sequence[str]) -> float | None:
        """The measured extra time (relative) an index on ``columns`` adds: its own figure
        where it was built, else the class's average :attr:`per_index` (None: not measured).

        >>> Write("d", 0.0, None, per_index=0.8, upkeep=((("a",), 0.2),)).upkeep_of(["a"])
        0.2
        """
        own = dict(self.upkeep).get(tuple(columns))
        return own if own is not None else self.per_index

    def cost_of(self, columns: Sequence[str]) -> float:
        """Share of workload time an index on ``columns`` adds to this write (measured, else
        :data:`WRITE_FACTOR` of the time it spends changing rows)."""
        upkeep = self.upkeep_of(columns)
        if upkeep is not None:
            return self.class_share * upkeep
        return self.share * WRITE_FACTOR


def writers(writes: Sequence[Write], columns: Sequence[str]) -> list[tuple[str, float]]:
    """(class id, share) of the writes that must maintain an index on ``columns``."""
    return [(w.class_id, w.share) for w in maintaining(writes, columns)]


def write_share(writes: Sequence[Write], columns: Sequence[str]) -> float:
    """Share of workload time in writes that must maintain an index on ``columns``."""
    return sum(share for _, share in writers(writes, columns))


def maintaining(writes: Sequence[Write], columns: Sequence[str]) -> list[Write]:
    """The writes that must maintain an index on ``columns``."""
    lowered = {c.lower() for c in columns}
    return [w for w in writes if w.sets is None or {c.lower() for c in w.sets} & lowered]


def write_cost(writes: Sequence[Write], columns: Sequence[str]) -> float:
    """Share of workload time an index on ``columns`` adds to the writes that maintain it:
    measured where the write was measured, else estimated (:meth:`Write.cost_of`)."""
    return sum(w.cost_of(columns) for w in maintaining(writes, columns))


def write_basis(writes: Sequence[Write], columns: Sequence[str]) -> str:
    """How :func:`write_cost` of ``columns`` was priced: "measured", "estimated", "partly
    measured" (some writes each way) or "none" (no write maintains it)."""
    kinds = {w.per_index is not None for w in maintaining(writes, columns)}
    return {frozenset(): "none", frozenset({True}): "measured",
            frozenset({False}): "estimated"}.get(frozenset(kinds), "partly measured")


def slowdown(writes: Sequence[Write], indexes: Sequence[Sequence[str]],
             read: dict[str, float] | None = None) -> dict[str, float]:
    """Measured writes only: class id -> the factor ``indexes`` (new indexes on the table)
    make the class slower: its read part with them (``read``: class id -> the statement's
    measured time ratio with the best of them for its WHERE, at most 1; default 1) plus
    each index's upkeep (1.0: not at all).

    >>> slowdown([Write("del", 0.0, None, per_index=0.9)], [("a",), ("b",)])
    {'del': 2.8}
    >>> slowdown([Write("del", 0.0, None, per_index=0.9)], [("a",)], read={"del": 0.5})
    {'del': 1.4}
    """
    read = read or {}
    return {w.class_id: min(1.0, read.get(w.class_id, 1.0))
            + sum(w.upkeep_of(c) or 0.0 for c in indexes if maintaining([w], c))
            for w in writes if w.per_index is not None}


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
