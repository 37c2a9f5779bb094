"""The index advisor's result: :class:`IndexPlan` of :class:`IndexAdvice` (one index to add
each, with the :class:`ClassEffect` on every class it serves), hygiene drops and
:class:`ClassFinding` (shapes no index can serve).

An IndexPlan is a report result: ``to_document()``, ``rows()`` and ``sections()`` feed
:func:`dbtune.report.document.render` (table, markdown, json, csv, html), and
``to_advice()`` gives it in the shared :class:`~dbtune.model.Advice` shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from dbtune.advise.ddl import ONLINE_INDEX, add_index, alter_table, drop_index, table_sql
from dbtune.advise.hygiene import HygieneFinding, hygiene_advice
from dbtune.model import Advice
from dbtune.model import ClassEffect as Effect
from dbtune.report.document import Section


@dataclass
class ClassEffect:
    """What one index does for one query class (estimates; EXPLAIN figures when verified)."""

    class_id: str
    #: the class's share of total query time
    share: float
    #: estimated rows examined per execution on this table: today, and with the index
    rows_before: float
    rows_after: float
    #: the part of ``share`` spent on this table (all of it for a one-table statement)
    weight: float = 0.0
    #: rows examined per execution as the log saw it (mean over the class), if known
    rows_examined_logged: float | None = None
    sql: str = ""
    db: str | None = None
    explain_before: dict[str, Any] | None = None
    explain_after: dict[str, Any] | None = None
    #: estimated share of total query time the index saves this class (the selection's
    #: figure: weight x (1 - cost after / cost before)); None: from the rows
    saved: float | None = None
    #: (ms without, ms with the index): the class's statement timed by ANALYZE on a
    #: disposable server (:mod:`dbtune.advise.measure`); None: the benefit is estimated
    measured_ms: tuple[float, float] | None = None

    @property
    def basis(self) -> str:
        """"measured" (timed on the server) or "estimated" (the cost model)."""
        return "measured" if self.measured_ms is not None else "estimated"

    def measured(self) -> dict[str, Any] | None:
        """What a server measured for this class, if anything: the EXPLAIN figures of
        verification, the ANALYZE times of the what-if."""
        out: dict[str, Any] = {}
        if self.explain_before is not None or self.explain_after is not None:
            out |= {"explain_before": self.explain_before, "explain_after": self.explain_after}
        if self.measured_ms is not None:
            out |= {"ms_before": self.measured_ms[0], "ms_after": self.measured_ms[1]}
        return out or None


@dataclass
class IndexAdvice:
    """One index to add, with its DDL, rollback, estimate and reason."""

    table: str
    schema: str | None
    name: str
    columns: tuple[str, ...]
    classes: list[ClassEffect]
    size_bytes: float
    write_share: float
    write_classes: list[str]
    reason: str = ""
    #: None: not verified; True/False: the optimizer used it on the verification server
    verified: bool | None = None
    #: the other classes that read this table (verification checks their plans too)
    others: list[ClassEffect] = field(default_factory=list)
    #: classes whose plan got worse with this index on the verification server, in words
    regresses: list[str] = field(default_factory=list)
    #: the ids of those classes
    regressed: list[str] = field(default_factory=list)
    #: estimated share of workload time added to the writes on this table
    #: (:mod:`dbtune.advise.writecost`)
    write_cost: float = 0.0
    #: what a DBA must know besides the regressions (an existing index it makes redundant)
    warnings: list[str] = field(default_factory=list)
    #: the table's row count was assumed (no statistics), so are the rows and the size
    rows_assumed: bool = False
    #: how ``write_cost`` was priced: "measured", "estimated", "partly measured" or "none"
    #: (:func:`dbtune.advise.writecost.write_basis`)
    write_basis: str = "none"
    #: measured write classes -> the extra time this index adds to each statement
    #: (relative: 1.0 = twice as slow)
    write_slowdown: dict[str, float] = field(default_factory=dict)

    @property
    def benefit_basis(self) -> str:
        """"measured" (every class it serves timed on the server), "estimated", or "partly
        measured"."""
        kinds = {c.basis for c in self.classes}
        return kinds.pop() if len(kinds) == 1 else "partly measured"

    @property
    def table_sql(self) -> str:
        """The table, quoted and schema-qualified."""
        return table_sql(self.table, self.schema)

    @property
    def ddl(self) -> str:
        """``ALTER TABLE ... ADD INDEX ... (...), ALGORITHM=INPLACE, LOCK=NONE``."""
        return self.add_ddl()

    def add_ddl(self, *, invisible: bool = False) -> str:
        """The ADD INDEX statement; ``invisible`` for MySQL 8 verification builds."""
        return alter_table(self.table_sql, [add_index(self.name, self.columns,
                                                      invisible=invisible)], **ONLINE_INDEX)

    @property
    def rollback_ddl(self) -> str:
        return alter_table(self.table_sql, [drop_index(self.name)], **ONLINE_INDEX)

    @property
    def share(self) -> float:
        """Share of total workload time spent in the classes this index helps."""
        return sum(c.share for c in self.classes)

    @property
    def saved_share(self) -> float:
        """Estimated share of total workload time saved: the cost model's figure the
        selection used (:attr:`ClassEffect.saved`), else rows-examined proportional."""
        return sum(c.saved if c.saved is not None
                   else c.weight * (1 - c.rows_after / c.rows_before) if c.rows_before else 0.0
                   for c in self.classes)

    @property
    def net_share(self) -> float:
        """:attr:`saved_share` minus :attr:`write_cost`: what ``min_gain`` is checked on."""
        return self.saved_share - self.write_cost

    def to_advice(self) -> Advice:
        """This index in the shared Advice shape."""
        effects = [Effect(c.class_id, c.share,
                          estimated={"rows_before": c.rows_before, "rows_after": c.rows_after},
                          measured=c.measured()) for c in self.classes]
        return Advice(
            kind="add_index", table=self.table,
            title=f"{self.table.rpartition('.')[2]} ({', '.join(self.columns)})",
            ddl=[self.ddl], rollback=[self.rollback_ddl], reasons=[self.reason],
            effects=effects, warnings=[*self.regresses, *self.warnings],
            details={"index": self.name, "columns": list(self.columns),
                     "size_bytes": self.size_bytes, "write_cost": self.write_cost,
                     "write_classes": self.write_classes, "verified": self.verified,
                     "benefit_basis": self.benefit_basis, "write_basis": self.write_basis,
                     "write_slowdown": self.write_slowdown})

    def row(self) -> dict[str, Any]:
        """One flat row (the csv format, :meth:`IndexPlan.rows`)."""
        return {
            "table": self.table, "index": self.name, "columns": ", ".join(self.columns),
            "classes": ", ".join(c.class_id for c in self.classes), "share": self.share,
            "saved_share": self.saved_share,
            "rows_before": sum(c.rows_before for c in self.classes),
            "rows_after": sum(c.rows_after for c in self.classes),
            "write_cost": self.write_cost, "benefit_basis": self.benefit_basis,
            "write_basis": self.write_basis, "size_mb": self.size_bytes / 2**20,
            "rows_assumed": self.rows_assumed,
            "verified": self.verified, "regresses": "; ".join(self.regresses),
            "ddl": self.ddl, "rollback": self.rollback_ddl, "reason": self.reason,
        }


@dataclass
class ClassFinding:
    """A non-sargable shape (or an unanalysable statement) found in a class's sample."""

    class_id: str
    share: float
    kind: str
    table: str | None
    column: str | None
    message: str


@dataclass
class IndexPlan:
    """The advice for a workload: indexes to add, hygiene drops, findings."""

    advice: list[IndexAdvice]
    findings: list[ClassFinding] = field(default_factory=list)
    drops: list[HygieneFinding] = field(default_factory=list)
    #: the figures the estimates rest on that nobody measured (assumed row counts, ...)
    assumptions: list[str] = field(default_factory=list)
    #: the limits the selection ran under, in words (count, size budget, min gain)
    limits: list[str] = field(default_factory=list)
    #: what the measured what-if did per table on the disposable server, in words
    #: (:mod:`dbtune.advise.measure`); empty offline
    measured: list[str] = field(default_factory=list)
    #: indexes left out after selection, with the reason: below min_gain, a left prefix of
    #: another index of the plan, or not used by the verification server's optimizer
    rejected: list[tuple[IndexAdvice, str]] = field(default_factory=list)

    def statements(self) -> list[str]:
        """The whole plan as DDL: new indexes first, then the hygiene drops."""
        return [a.ddl for a in self.advice] + [d.drop_sql for d in self.drops]

    def rollback(self) -> list[str]:
        """The statements that undo :meth:`statements`, in reverse order."""
        return [d.rollback_sql for d in reversed(self.drops)] + [
            a.rollback_ddl for a in reversed(self.advice)]

    def to_advice(self) -> list[Advice]:
        """The plan in the shared Advice shape: hygiene drops first, then new indexes."""
        return [hygiene_advice(d) for d in self.drops] + [a.to_advice() for a in self.advice]

    def rows(self) -> list[dict[str, Any]]:
        """One row per recommended index."""
        return [a.row() for a in self.advice]

    def to_frame(self) -> pd.DataFrame:
        """One row per recommended index (see :func:`advice_frame`)."""
        return advice_frame(self.advice)

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready plan: advice with its classes, drops, findings, rejected, DDL."""
        return {
            "advice": [{
                **{k: v for k, v in a.row().items() if k != "classes"},
                "columns": list(a.columns),
                "classes": [asdict(c) for c in a.classes],
                "write_classes": a.write_classes,
                "regresses": a.regresses,
                "warnings": a.warnings,
            } for a in self.advice],
            "drops": [{"table": d.table, "index": d.index, "kind": d.kind,
                       "redundant_with": d.redundant_with, "drop": d.drop_sql,
                       "rollback": d.rollback_sql, "reason": d.reason} for d in self.drops],
            "findings": [asdict(f) for f in self.findings],
            "rejected": [{"table": a.table, "columns": list(a.columns), "reason": why}
                         for a, why in self.rejected],
            "assumptions": self.assumptions,
            "limits": self.limits,
            "measured": self.measured,
            "statements": self.statements(),
            "rollback": self.rollback(),
        }

    def sections(self) -> list[Section]:
        """Indexes, their reasons, the DDL to run and to undo, rejected, findings."""
        rows = [{
            "index": f"{a.table} ({', '.join(a.columns)})", "classes": len(a.classes),
            "time share": f"{a.share:.1%}", "saved": f"{a.saved_share:.1%}",
            "rows/exec before -> after": (
                f"{sum(c.rows_before for c in a.classes):,.0f} -> "
                f"{sum(c.rows_after for c in a.classes):,.0f}{'*' if a.rows_assumed else ''}"),
            "est. size MB": f"{a.size_bytes / 2**20:,.1f}{'*' if a.rows_assumed else ''}",
            "benefit": a.benefit_basis,
            "write cost": f"{a.write_cost:.2%}" + ("" if a.write_basis == "none"
                                                   else f" {a.write_basis}"),
            "verified": {None: "-", True: "yes", False: "no"}[a.verified],
        } for a in self.advice]
        out = [Section("Index advice", rows=rows, preformatted=True)]
        if self.limits:
            out.append(Section("Limits", text="".join(f"- {n}\n" for n in self.limits)))
        if self.measured:
            out.append(Section("Measured on the server (what-if)",
                               text="".join(f"- {n}\n" for n in self.measured)))
        if self.assumptions:
            marked = any(a.rows_assumed for a in self.advice)
            out.append(Section("Assumed, not measured", text="".join(
                f"- {n}\n" for n in self.assumptions) + (
                "(* figures on an assumed row count)\n" if marked else "")))
        if self.advice:
            out.append(Section(text="".join(
                f"{a.name}: {a.reason}{''.join(f'; warning: {w}' for w in a.warnings)}\n\n"
                for a in self.advice).rstrip() + "\n"))
        if self.statements():
            out += [Section("Apply", text="".join(f"{s};\n" for s in self.statements()),
                            language="sql"),
                    Section("Roll back", text="".join(f"{s};\n" for s in self.rollback()),
                            language="sql")]
        if self.rejected:
            out.append(Section("Left out of the plan", rows=[
                {"table": a.table, "columns": ", ".join(a.columns), "reason": why}
                for a, why in self.rejected]))
        if self.findings:
            out.append(Section("Findings (not indexable as written)", rows=[
                {"class": f.class_id, "time share": f"{f.share:.1%}", "kind": f.kind,
                 "table": f.table or "-", "message": f.message} for f in self.findings],
                preformatted=True))
        return out


def advice_frame(advice: list[IndexAdvice]) -> pd.DataFrame:
    """One row per recommended index (:meth:`IndexAdvice.row`), as a DataFrame."""
    return pd.DataFrame([a.row() for a in advice], columns=ADVICE_COLUMNS)


#: the columns of :func:`advice_frame` and of the csv format
ADVICE_COLUMNS = ["table", "index", "columns", "classes", "share", "saved_share", "rows_before",
                  "rows_after", "write_cost", "benefit_basis", "write_basis", "size_mb",
                  "rows_assumed", "verified", "regresses", "ddl", "rollback", "reason"]
