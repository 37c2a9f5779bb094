"""What a query class asks of a table (:class:`Need`) and what dbtune knows about the
table (:class:`TableInfo`): the two inputs of every candidate rule and of the estimator.

>>> info = TableInfo("t", rows=1e6, ndv={"a": 10})
>>> info.cardinality("a"), info.cardinality("status"), info.width("missing")
(10.0, 5.0, 8)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

#: rows assumed when the catalog has no row count (DDL without statistics)
DEFAULT_ROWS = 100_000.0


@dataclass(frozen=True)
class Need:
    """What one query class asks of one table (from its access pattern)."""

    class_id: str
    table: str
    kind: str = "select"
    #: equality columns: =, <=>, IN, IS NULL, and join columns (order is irrelevant)
    eq: tuple[str, ...] = ()
    #: IN-list sizes for the equality columns that are IN lists
    in_lists: Mapping[str, int] = field(default_factory=dict)
    ranges: tuple[str, ...] = ()
    #: ORDER BY (column, "ASC"|"DESC"), only when the index could deliver it
    order: tuple[tuple[str, str], ...] = ()
    group: tuple[str, ...] = ()
    #: every column the statement touches on this table; None = all (SELECT *)
    reads: frozenset[str] | None = None
    limit: int | None = None
    #: share of the workload's total time spent in this class on this table
    weight: float = 0.0
    #: times the table is looked up per execution: the rows reaching it from the tables a
    #: join reads before it (:func:`dbtune.advise.joinorder.join_order`); 1 when read first
    lookups: float = 1.0
    #: range column -> fraction of the table the class's constant range on it keeps, by the
    #: catalog's value distribution (:mod:`dbtune.advise.rangestats`); measured ones win
    range_estimates: Mapping[str, float] = field(default_factory=dict)
    #: the join columns among ``eq`` (towards the tables read before this one)
    joined: tuple[str, ...] = ()
    #: join column towards a filtered table read after this one -> that table's rows: the
    #: lookups were the optimizer to read it first (:attr:`JoinStep.flips`)
    flips: Mapping[str, float] = field(default_factory=dict)


@dataclass
class TableInfo:
    """The statistics the estimator needs about one table."""

    name: str
    rows: float = DEFAULT_ROWS
    ndv: dict[str, float] = field(default_factory=dict)
    #: average stored bytes per column; None = not indexable without a prefix (TEXT, BLOB, JSON)
    widths: dict[str, int | None] = field(default_factory=dict)
    pk: tuple[str, ...] = ()
    #: visible BTREE indexes: (name, columns, prefix-length per column or None)
    existing: list[tuple[str, tuple[str, ...], tuple[int | None, ...]]] = field(
        default_factory=list
    )
    schema: str | None = None
    #: sum(p_i^2) per column, where measured: the fraction of rows an equality meets when
    #: its value is drawn the way the rows are (popular values looked up more often)
    repeat: dict[str, float] = field(default_factory=dict)
    #: (class id, column) -> fraction of the table the class's sample's range predicates on
    #: that column keep, where measured
    ranges: dict[tuple[str, str], float] = field(default_factory=dict)
    _cardinality: dict[str, float] = field(default_factory=dict, repr=False)

    def measured(self, column: str, *, repeat: float, ndv: float | None = None) -> None:
        """Record a value distribution measured on a server: ``repeat`` (sum(p_i^2)) and,
        where the catalog had none, ``ndv``; cardinalities are computed again."""
        self.repeat[column] = repeat
        if ndv is not None:
            self.ndv.setdefault(column, ndv)
        self._cardinality.clear()

    def guessed(self, column: str) -> bool:
        """Is the cardinality of ``column`` a guess with nothing to go on: no statistics, no
        measurement, not the primary key, and a name that hints at neither few values nor
        unique ones (:func:`guess_ndv`'s :data:`DEFAULT_NDV`)?"""
        return (not self.ndv.get(column) and column not in self.repeat
                and not (len(self.pk) == 1 and column == self.pk[0])
                and guess_ndv(column, self.widths.get(column)) == DEFAULT_NDV)

    def cardinality(self, column: str) -> float:
        """Distinct values of ``column``: the catalog's, else a guess from type and name."""
        if column not in self._cardinality:
            known = self.ndv.get(column)
            if known:
                value = max(1.0, min(float(known), self.rows or 1.0))
            elif len(self.pk) == 1 and column == self.pk[0]:
                value = max(1.0, self.rows)
            else:
                value = max(1.0, min(guess_ndv(column, self.widths.get(column)),
                                     self.rows or 1.0))
            self._cardinality[column] = value
        return self._cardinality[column]

    def width(self, column: str) -> int:
        """Bytes an index entry spends on ``column`` (unknown columns count 8)."""
        return self.widths.get(column) or 8


#: the cardinality guessed for a column nothing is known about
DEFAULT_NDV = 1000.0
#: ...and for one whose name says it holds few values
LOW_NDV = 5.0
_LOW_CARDINALITY = re.compile(r"(^|_)(status|state|type|kind|flag|marketplace|channel|level|"
                              r"region|country|currency|locale|language|gender|role|priority|"
                              r"severity|tier)$|^(is|has)_", re.I)
_HIGH_CARDINALITY = re.compile(r"(^|_)(token|uuid|guid|email|sku|hash|external_id|code)$", re.I)


def guess_ndv(column: str, width: int | None) -> float:
    """A cardinality guess when no statistics exist: flags and statuses low, tokens unique.

    >>> guess_ndv("status", 1), guess_ndv("customer_id", 8), guess_ndv("token", 40)
    (5.0, 1000.0, inf)
    """
    if _LOW_CARDINALITY.search(column) or width == 1:
        return LOW_NDV
    if _HIGH_CARDINALITY.search(column):
        return float("inf")
    return DEFAULT_NDV
