"""Which tables are worth considering, and on which column: size and the time-weighted workload.

A table is a candidate when it is large (:class:`Thresholds`, defaults after the MySQL and
MariaDB manuals' advice that partitioning pays for tables of millions of rows, not small
ones) and one column - temporal, or a monotonically growing integer key - carries the range
predicates of most of its workload's time, or the purge (``DELETE ... WHERE col < ...``).

>>> from dbtune.catalog import Catalog
>>> cat = Catalog.from_ddl("CREATE TABLE log (id BIGINT PRIMARY KEY, at DATETIME NOT NULL)")
>>> uses = [ClassUse("a", 0.6, "select", "SELECT * FROM log WHERE at >= '2026-05-01'",
...                  ranges={"at"}), ClassUse("b", 0.4, "select", "SELECT * FROM log WHERE id = 3",
...                  equality={"id"})]
>>> best_column(cat.tables["log"], uses)
('at', 0.6)
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbtune.access import access_patterns
from dbtune.advise.indexes import class_shares
from dbtune.catalog import Catalog, Table

TEMPORAL = ("date", "datetime", "timestamp")
INTEGER = re.compile(r"^(tiny|small|medium|big)?int\b")
_UPSERT = re.compile(r"\bON\s+DUPLICATE\s+KEY\b|^\s*REPLACE\b", re.I)


@dataclass(frozen=True)
class Thresholds:
    """What makes a table large enough, and its workload range-bound enough, to consider.

    ``min_rows`` / ``min_bytes``: either one qualifies the table (MySQL's and MariaDB's
    manuals: partitioning helps tables too large for one index tree to stay in memory, of
    millions of rows; a small table only pays the per-partition overhead). ``min_range_share``:
    the share of the table's read time whose predicates hold a range on the column.
    """

    min_rows: int = 1_000_000
    min_bytes: int = 1 << 30
    min_range_share: float = 0.5

    def large(self, table: Table) -> bool | None:
        """True/False, or None when the catalog has no size (a DDL file without rows)."""
        if self.min_rows <= 0 or self.min_bytes <= 0:
            return True
        if table.rows is None and table.data_bytes is None:
            return None
        return ((table.rows or 0) >= self.min_rows
                or (table.data_bytes or 0) + (table.index_bytes or 0) >= self.min_bytes)


@dataclass
class ClassUse:
    """How one query class uses one table."""

    class_id: str
    #: the class's share of total query time
    share: float
    #: select | insert | update | delete | other
    kind: str
    sample: str
    ranges: set[str] = field(default_factory=set)
    equality: set[str] = field(default_factory=set)
    #: names the statement refers to the table by (its name and alias)
    names: tuple[str, ...] = ()
    #: an INSERT ... ON DUPLICATE KEY UPDATE or REPLACE: relies on a unique key
    upsert: bool = False
    fingerprint: str = ""

    @property
    def purge(self) -> bool:
        """A DELETE by range: the statement DROP PARTITION replaces."""
        return self.kind == "delete" and bool(self.ranges)


def table_uses(classes: Iterable[Any], catalog: Catalog) -> dict[str, list[ClassUse]]:
    """Per catalog table key, the classes that touch it (sqlglot once per class)."""
    classes = list(classes)
    out: dict[str, list[ClassUse]] = defaultdict(list)
    for cls, share in zip(classes, class_shares(classes), strict=True):
        access = access_patterns(cls.sample, default_db=getattr(cls, "sample_db", None),
                                 catalog=catalog)
        for name in dict.fromkeys([*access.tables, *access.written]):
            table = catalog.table(name) or catalog.table(name.rpartition(".")[2])
            if table is None:
                continue
            key = next(k for k, t in catalog.tables.items() if t is table)
            pattern = access.tables.get(name)
            written = name in access.written
            ranges = set(pattern.range) | set(pattern.is_null) if pattern else set()
            out[key].append(ClassUse(
                cls.id, share, access.kind if written else "select", cls.sample, ranges,
                set(pattern.equality) if pattern else set(),
                tuple(n for n in (table.name, pattern and pattern.alias) if n),
                bool(_UPSERT.search(cls.sample)), getattr(cls, "fingerprint", "")))
    return dict(out)


def partitionable_columns(table: Table) -> list[str]:
    """Temporal columns and a single-column integer primary key (the auto-increment key)."""
    cols = [c.name for c in table.columns.values() if c.type.split("(")[0] in TEMPORAL]
    pk = table.primary_key
    if len(pk) == 1 and (col := table.column(pk[0])) and INTEGER.match(col.type):
        cols.append(col.name)
    return cols


def best_column(table: Table, uses: Sequence[ClassUse]) -> tuple[str | None, float]:
    """The column whose range predicates (and purge) carry most of the table's time, with the
    share of the table's non-insert time they carry; ``(None, 0.0)`` when no class has one."""
    weight: dict[str, float] = defaultdict(float)
    for use in uses:
        for col in use.ranges:
            real = table.column(col)
            if real is not None:
                weight[real.name] += use.share
    if not weight:
        return None, 0.0
    column = max(weight, key=lambda c: (weight[c], c))
    total = sum(u.share for u in uses if u.kind != "insert") or 1.0
    return column, weight[column] / total
