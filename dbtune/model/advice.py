"""The one Advice shape every advisor returns (index add, hygiene drop, partitioning).

An :class:`Advice` is one change a DBA can review on its own: the DDL that applies it and
the DDL that undoes it (already built, identifiers quoted: see :mod:`dbtune.advise.ddl`),
the reasons in words, and the query classes it touches with their estimated and, where a
disposable server measured them, measured effects.

>>> a = Advice(kind="add_index", table="shop.orders", title="orders (status, created_at)",
...            ddl=["ALTER TABLE `shop`.`orders` ADD INDEX `ix` (`status`, `created_at`)"],
...            rollback=["ALTER TABLE `shop`.`orders` DROP INDEX `ix`"],
...            reasons=["serves 2 classes (31% of time)"],
...            effects=[ClassEffect("A1B2", share=0.31, estimated={"rows_after": 12.0})])
>>> a.basis, a.to_dict()["effects"][0]["class_id"]
('estimated', 'A1B2')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: What an Advice does; ``propose`` orders migrations by this list.
KINDS = ("drop_foreign_key", "drop_index", "replace_index", "add_index", "partition")
Kind = Literal["drop_foreign_key", "drop_index", "replace_index", "add_index", "partition"]


@dataclass
class ClassEffect:
    """What one change does for one query class.

    ``estimated`` and ``measured`` hold named figures (``rows_before``, ``rows_after``,
    ``ms_before``, ``ms_after``, ``partitions``, ...); ``measured`` is None where no server
    measured them.
    """

    class_id: str
    share: float = 0.0
    estimated: dict[str, Any] = field(default_factory=dict)
    measured: dict[str, Any] | None = None
    note: str = ""


@dataclass
class Advice:
    """One reviewable change: DDL, rollback, reasons and the classes it touches."""

    kind: Kind
    #: the catalog key of the table ("schema.name" or "name")
    table: str
    #: a short label, e.g. "orders (status, created_at)"
    title: str
    #: statements that apply the change, in order, without a trailing ';'
    ddl: list[str]
    #: statements that undo it, in order, without a trailing ';'
    rollback: list[str]
    reasons: list[str] = field(default_factory=list)
    effects: list[ClassEffect] = field(default_factory=list)
    #: what a DBA must know before running it (locks, lost uniqueness, write cost, ...)
    warnings: list[str] = field(default_factory=list)
    #: the advisor's own figures (size_bytes, write_cost, pruning table, ...)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def basis(self) -> str:
        """``measured`` when a disposable server measured any effect, else ``estimated``."""
        return "measured" if any(e.measured for e in self.effects) else "estimated"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, plus ``basis``."""
        return {**asdict(self), "basis": self.basis}
