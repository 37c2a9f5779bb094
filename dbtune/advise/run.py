"""What the index advisor's stages pass along: one :class:`Advising` per call of
:func:`~dbtune.advise.indexes.advise_indexes`.

Each stage (a function ``stage(run: Advising) -> None`` in its own module, listed in
:data:`dbtune.advise.indexes.STAGES`) reads what earlier stages left on the run and adds its
own part: the needs per class, the per-table search state, the chosen indexes, the plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dbtune.advise.hygiene import HygieneFinding
from dbtune.advise.need import Need, TableInfo
from dbtune.advise.plan import ClassFinding, IndexPlan
from dbtune.advise.tables import TableState
from dbtune.catalog import Catalog, Index, Table


@dataclass(frozen=True)
class Limits:
    """How far the selection may go."""

    #: None: no count limit (the search stops on min_gain or the size budget)
    max_indexes: int | None = None
    max_per_table: int | None = None
    #: None: a budget derived from the sizes of the tables read (:func:`default_budget`),
    #: unless a count limit is given
    budget_mb: float | None = None
    #: the least share of total query time a new index must save
    min_gain: float = 0.005
    #: no write class may get slower than this factor by the measured upkeep of the new
    #: indexes on its table (None: no cap; estimated write costs are never capped)
    max_slowdown: float | None = None

    @property
    def budget_bytes(self) -> float | None:
        return self.budget_mb * 2**20 if self.budget_mb is not None else None

    @property
    def index_cap(self) -> float:
        return math.inf if self.max_indexes is None else self.max_indexes

    @property
    def table_cap(self) -> float:
        return math.inf if self.max_per_table is None else self.max_per_table


@dataclass
class Analysed:
    """One query class after the needs stage."""

    cls: Any
    share: float
    #: (need, table) per table it reads
    needs: list[tuple[Need, Table]]
    #: tables it writes
    written: list[Table]


@dataclass
class Advising:
    """One advisor run: inputs, then what each stage adds."""

    classes: list[Any]
    #: each class's share of total query time (:func:`~dbtune.advise.needs.class_shares`)
    shares: list[float]
    catalog: Catalog
    limits: Limits = field(default_factory=Limits)
    #: hygiene findings to merge (None: no hygiene)
    hygiene: list[HygieneFinding] | None = None
    #: a disposable Server to measure and verify on, or None
    server: Any = None
    analysed: list[Analysed] = field(default_factory=list)
    findings: list[ClassFinding] = field(default_factory=list)
    #: per table (its qualified name): the search state, and the catalog table
    tables: dict[str, TableState] = field(default_factory=dict)
    catalog_tables: dict[str, Table] = field(default_factory=dict)
    plan: IndexPlan | None = None
    #: (table key, columns) -> why the repair stage added the index
    repairs: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)
    #: the limits the selection ran under, in words (shown in the report)
    limit_notes: list[str] = field(default_factory=list)
    #: what the measured what-if (:mod:`dbtune.advise.measure`) did per table, in words
    measure_notes: list[str] = field(default_factory=list)

    @property
    def drops(self) -> list[HygieneFinding]:
        return list(self.hygiene or [])

    def index_drops(self, table: Table) -> dict[str, HygieneFinding]:
        """The hygiene findings that drop or rewrite an index of ``table``, by index name
        (a duplicate foreign key's drop leaves its index)."""
        return {d.index: d for d in self.drops if d.kind != "duplicate-fk"
                and d.table in (table.name, table.qualified_name)}

    def standing(self, table: Table) -> list[Index]:
        """The indexes ``table`` keeps after the hygiene drops, a rewritten one (the
        clustered-suffix rule) as rewritten."""
        drops = self.index_drops(table)
        out = []
        for index in table.indexes:
            drop = drops.get(index.name)
            if drop is None:
                out.append(index)
            elif drop.replacement is not None:
                out.append(drop.replacement)
        return out

    def key_of(self, table: str, schema: str | None) -> str:
        """The state key of the table an advice names."""
        return next(k for k, t in self.catalog_tables.items() if (t.name, t.schema) == (table,
                                                                                        schema))

    def state(self, table: Table, info: TableInfo) -> TableState:
        """The search state of ``table`` (created from ``info`` the first time)."""
        key = table.qualified_name
        if key not in self.tables:
            self.tables[key], self.catalog_tables[key] = TableState(info, []), table
        return self.tables[key]

    def share_of(self) -> dict[str, float]:
        """Class id -> share of total query time."""
        return {c.id: s for c, s in zip(self.classes, self.shares, strict=True)}

    def about(self) -> dict[str, tuple[str, str | None, float | None]]:
        """Class id -> (sample, sample_db, rows examined per execution as logged)."""
        return {c.id: (getattr(c, "sample", ""), getattr(c, "sample_db", None),
                       (getattr(c, "metrics", None) or {}).get("rows_examined", {}).get("mean"))
                for c in self.classes}


def chosen_count(tables: Sequence[TableState]) -> int:
    """Indexes chosen so far over ``tables``."""
    return sum(len(t.chosen) for t in tables)
