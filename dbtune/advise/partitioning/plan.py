"""The result of :func:`~dbtune.advise.partitioning.advise_partitions`: one verdict per table.

:class:`PartitionPlan` renders through :func:`dbtune.report.render` (``to_document``,
``rows``, ``sections``) and gives its changes in the shared Advice shape (``to_advice``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dbtune.advise.partitioning.constraints import Check
from dbtune.advise.partitioning.pruning import ClassPruning
from dbtune.advise.partitioning.retention import Maintenance
from dbtune.advise.partitioning.scheme import Scheme
from dbtune.model import Advice, ClassEffect
from dbtune.report.document import Section

PARTITION = "partition"
DO_NOT = "do not partition"


@dataclass
class TableVerdict:
    """Partition this table (with the DDL) or not (with the reason)."""

    table: str
    verdict: str
    reasons: list[str] = field(default_factory=list)
    column: str | None = None
    scheme: Scheme | None = None
    checks: list[Check] = field(default_factory=list)
    pruning: list[ClassPruning] = field(default_factory=list)
    ddl: list[str] = field(default_factory=list)
    rollback: list[str] = field(default_factory=list)
    maintenance: Maintenance | None = None
    retention_days: float | None = None
    warnings: list[str] = field(default_factory=list)
    #: the index that serves the table better (from the index advisor or the catalog)
    better_index: str | None = None
    #: partitioning by the auto-increment primary key, weighed: its scheme and figures
    alternative: dict[str, Any] | None = None
    #: per class id: what EXPLAIN showed on the verification server
    measured: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the verification server's timings: alter_seconds, rollback_seconds
    verification: dict[str, Any] = field(default_factory=dict)

    @property
    def gain(self) -> float:
        """Estimated share of total query time won by the classes that win."""
        return sum(p.gain for p in self.pruning if p.gain > 0)

    @property
    def loss(self) -> float:
        """Estimated share of total query time lost by the classes that lose (>= 0)."""
        return -sum(p.gain for p in self.pruning if p.gain < 0)

    def to_advice(self) -> Advice:
        """The change in the shared Advice shape (only for the ``partition`` verdict)."""
        effects = [ClassEffect(p.class_id, p.share,
                               estimated={"partitions": p.touched, "of": p.total,
                                          "role": p.role, "gain": p.gain},
                               measured=self.measured.get(p.class_id), note=p.note)
                   for p in self.pruning]
        return Advice(kind="partition", table=self.table,
                      title=f"{self.table} by {self.scheme.method}({self.column}), "
                            f"{self.scheme.granularity}",
                      ddl=list(self.ddl), rollback=list(self.rollback), reasons=list(self.reasons),
                      effects=effects, warnings=list(self.warnings),
                      details=self.details())

    def details(self) -> dict[str, Any]:
        """The advisor's own figures, JSON-ready."""
        return {
            "column": self.column,
            "method": self.scheme.method if self.scheme else None,
            "granularity": self.scheme.granularity if self.scheme else None,
            "partitions": self.scheme.partition_count if self.scheme else None,
            "steady_partitions": self.scheme.steady if self.scheme else None,
            "retention_days": self.retention_days,
            "gain": self.gain, "loss": self.loss,
            "checks": [{"check": c.name, "status": c.status, "reason": c.reason}
                       for c in self.checks],
            "better_index": self.better_index,
            "alternative": self.alternative,
            "maintenance": self.maintenance.statements if self.maintenance else None,
            "event": self.maintenance.event if self.maintenance else None,
            "verification": self.verification or None,
        }

    def row(self) -> dict[str, Any]:
        """One flat row (csv)."""
        return {"table": self.table, "verdict": self.verdict, "column": self.column,
                "scheme": (f"{self.scheme.method} {self.scheme.granularity}"
                           if self.scheme else None),
                "partitions": self.scheme.partition_count if self.scheme else None,
                "gain": round(self.gain, 4), "loss": round(self.loss, 4),
                "reason": "; ".join(self.reasons), "ddl": ";\n".join(self.ddl)}


@dataclass
class PartitionPlan:
    """Every table's verdict, and the inputs that could not be advised on (one line each)."""

    tables: list[TableVerdict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def table(self, name: str) -> TableVerdict | None:
        """The verdict of ``name`` (catalog key or bare name)."""
        return next((t for t in self.tables
                     if name in (t.table, t.table.rpartition(".")[2])), None)

    def to_advice(self) -> list[Advice]:
        """The tables to partition, in the shared Advice shape."""
        return [t.to_advice() for t in self.tables if t.verdict == PARTITION]

    def to_document(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        return {"tables": [{**t.row(), "reasons": t.reasons, "warnings": t.warnings,
                            "ddl": t.ddl, "rollback": t.rollback,
                            "pruning": [_pruning_row(p, t) for p in t.pruning],
                            **t.details()} for t in self.tables],
                "skipped": self.skipped}

    def rows(self) -> list[dict[str, Any]]:
        """One row per table."""
        return [t.row() for t in self.tables]

    def sections(self) -> list[Section]:
        """Verdicts, then per table its pruning, checks, DDL, rollback and maintenance."""
        out = [Section("Partitioning verdicts", rows=[
            {k: v for k, v in t.row().items() if k != "ddl"} for t in self.tables])]
        for t in self.tables:
            if t.pruning:
                out.append(Section(f"{t.table}: pruning per class",
                                   rows=[_pruning_row(p, t) for p in t.pruning],
                                   floatfmt=".4f"))
            if t.checks:
                out.append(Section(f"{t.table}: checks", rows=[
                    {"check": c.name, "status": c.status, "reason": c.reason} for c in t.checks]))
            if t.warnings:
                out.append(Section(f"{t.table}: warnings", text="\n".join(t.warnings)))
            if t.alternative:
                out.append(Section(f"{t.table}: alternative, by the primary key",
                                   text=t.alternative["summary"]))
            if t.ddl:
                out.append(Section(f"{t.table}: apply", text=";\n".join(t.ddl) + ";",
                                   language="sql"))
                out.append(Section(f"{t.table}: rollback", text=";\n".join(t.rollback) + ";",
                                   language="sql"))
            if t.maintenance:
                out.append(Section(f"{t.table}: maintenance (review, then install)",
                                   text=t.maintenance.script(), language="sql"))
        if self.skipped:
            out.append(Section("Skipped", text="\n".join(self.skipped)))
        return out


def _pruning_row(p: ClassPruning, t: TableVerdict) -> dict[str, Any]:
    measured = t.measured.get(p.class_id) or {}
    return {"class": p.class_id[:12], "kind": p.kind, "share": p.share, "role": p.role,
            "partitions": f"{p.touched}/{p.total}", "gain": p.gain,
            "explain": measured.get("partitions_read"), "identical": measured.get("identical"),
            "note": p.note}
