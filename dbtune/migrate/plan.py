"""A proposal: the advice as numbered steps, each with up/down SQL, online-DDL notes and
lint findings; the result object ``dbtune propose`` renders (README.md is its Markdown).

Steps are ordered by :data:`dbtune.model.KINDS` (drops first: they free space and write
cost; then replacements, new indexes, partitioning), then by table and title, so the same
advice always gives the same names in the same order.

>>> from dbtune.model import Advice
>>> a = Advice("add_index", "shop.orders", "orders (status)",
...            ["ALTER TABLE `shop`.`orders` ADD INDEX `ix_s` (`status`)"],
...            ["ALTER TABLE `shop`.`orders` DROP INDEX `ix_s`"], details={"index": "ix_s"})
>>> p = build_proposal([a], target=Target("mysql", "8.0"))
>>> p.steps[0].name
'001_add_index_orders_ix_s'
>>> print(p.steps[0].up[0])
ALTER TABLE `orders` ADD INDEX `ix_s` (`status`), ALGORITHM=INPLACE, LOCK=NONE
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dbtune.catalog import Catalog, quote
from dbtune.migrate.lint import REFUSE, Draft, Finding, LintContext, lint
from dbtune.migrate.online import (
    LARGE_TABLE_BYTES,
    OnlineNote,
    Target,
    online_note,
    with_online_clauses,
)
from dbtune.model import KINDS, Advice
from dbtune.report.document import Section

FORMAT = "dbtune-proposal"
VERSION = 1


@dataclass
class Step:
    """One numbered migration."""

    number: int
    slug: str
    advice: Advice
    up: list[str]
    down: list[str]
    online: OnlineNote
    findings: list[Finding] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.number:03d}_{self.slug}"

    @property
    def targets(self) -> list[str]:
        """Ids of the classes this step is meant to speed up."""
        return [e.class_id for e in self.advice.effects]

    def files(self) -> dict[str, str]:
        """File name -> role (``up``, ``down``, ``test``)."""
        return {f"{self.name}.up.sql": "up", f"{self.name}.down.sql": "down",
                f"test_{self.name}.py": "test"}

    def to_manifest(self) -> dict[str, Any]:
        return {"number": self.number, "name": self.name, "kind": self.advice.kind,
                "table": self.advice.table.rpartition(".")[2], "title": self.advice.title,
                "index": self.advice.details.get("index"), "targets": self.targets,
                "up": self.up, "down": self.down, "files": self.files(),
                "online": self.online.to_dict(),
                "lint": [f.__dict__ for f in self.findings]}


@dataclass
class Proposal:
    """Steps, lint findings, and (once written) what was written where."""

    steps: list[Step]
    target: Target
    classes: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    #: steps of the input already in the directory (same up SQL), not written again
    already: list[str] = field(default_factory=list)
    directory: str | None = None
    written: list[str] = field(default_factory=list)

    @property
    def refused(self) -> list[Finding]:
        return [f for s in self.steps for f in s.findings if f.level == REFUSE]

    def to_document(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "target": str(self.target),
                "directory": self.directory, "written": self.written,
                "already": self.already, "data": self.data,
                "steps": [s.to_manifest() for s in self.steps]}

    def rows(self) -> list[dict[str, Any]]:
        return [{"step": s.name, "kind": s.advice.kind, "table": s.advice.table,
                 "what": s.advice.title, "algorithm": s.online.algorithm,
                 "lock": s.online.lock, "est_seconds": s.online.est_seconds,
                 "classes": len(s.targets), "lint": "; ".join(
                     f"{f.level}: {f.rule}" for f in s.findings)} for s in self.steps]

    def sections(self) -> list[Section]:
        sections = [Section(f"Plan ({len(self.steps)} steps, for {self.target})",
                            rows=[{k: v for k, v in r.items() if k != "est_seconds"}
                                  for r in self.rows()] or None,
                            text=None if self.steps else "nothing new to propose")]
        shares = {c["id"]: c.get("share") for c in self.classes}
        for s in self.steps:
            why = [*s.advice.reasons, *(f"warning: {w}" for w in s.advice.warnings),
                   *(f"lint {f.level}: {f.message} [{f.rule}]" for f in s.findings),
                   *(f"online: {line}" for line in s.online.lines)]
            sections.append(Section(f"{s.name}: {s.advice.title}",
                                    rows=effect_rows(s.advice, shares) or None,
                                    text="\n".join(f"- {w}" for w in why)))
            sql = ";\n".join(s.up) + ";\n" + "".join(f"-- {c}\n" for c in s.online.commands)
            sections.append(Section(None, text=sql, language="sql"))
        if self.already:
            sections.append(Section("Already proposed in this directory",
                                    text="\n".join(f"- {a}" for a in self.already)))
        return sections


def effect_rows(advice: Advice, shares: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per class the advice targets: share, estimated and measured rows."""
    rows = []
    for e in advice.effects:
        measured = e.measured or {}
        before, after = (measured.get("explain_before"), measured.get("explain_after"))
        share = e.share or shares.get(e.class_id) or 0
        rows.append({"class": e.class_id, "share": f"{share:.1%}",
                     "est_rows_before": _num(e.estimated.get("rows_before")),
                     "est_rows_after": _num(e.estimated.get("rows_after")),
                     "measured_rows_before": _rows(before), "measured_rows_after": _rows(after),
                     "basis": "measured" if e.measured else "estimated"})
    return rows


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.0f}"


def _rows(plan: Any) -> str:
    """Rows per execution from an EXPLAIN summary (a list of table accesses, or one)."""
    if not plan:
        return "-"
    tables = plan if isinstance(plan, list) else [plan]
    total = 1.0
    for t in tables:
        if isinstance(t, dict) and isinstance(t.get("rows"), int | float):
            total *= max(float(t["rows"]), 1.0)
    return f"{total:,.0f}"


def slug(advice: Advice) -> str:
    """``<kind>_<table>_<index or title>``, lower case, [a-z0-9_], at most 60 characters.

    >>> slug(Advice("drop_index", "shop.users", "users.idx_email (duplicate)", ["x"], [],
    ...             details={"index": "idx_email"}))
    'drop_index_users_idx_email'
    """
    table = advice.table.rpartition(".")[2]
    what = str(advice.details.get("index") or advice.title).lower()
    what = what.removeprefix(f"ix_{table.lower()}_")
    text = f"{advice.kind}_{table}_{what}".lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    return text[:60].rstrip("_")


def unqualified(statement: str, table: str) -> str:
    """``statement`` with ``table``'s schema qualifier removed, so the migration applies to
    the database it is run in (``mysql db < 001_....up.sql``).

    >>> unqualified("ALTER TABLE `shop`.`orders` ADD INDEX `i` (`a`)", "orders")
    'ALTER TABLE `orders` ADD INDEX `i` (`a`)'
    """
    name = quote(table.rpartition(".")[2])
    return re.sub(r"`(?:[^`]|``)*`\." + re.escape(name), lambda _: name, statement)


def ordered(advice: Sequence[Advice]) -> list[Advice]:
    """Advice in step order: by kind (:data:`KINDS`), table, title; exact repeats once."""
    seen, out = set(), []
    for a in sorted(advice, key=lambda a: (KINDS.index(a.kind), a.table, a.title)):
        key = tuple(a.ddl)
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


def table_bytes(catalog: Catalog | None, table: str) -> int | None:
    """Data + index bytes of ``table`` in ``catalog`` (None when unknown)."""
    found = catalog.table(table) if catalog else None
    if found is None or found.data_bytes is None:
        return None
    return int(found.data_bytes + (found.index_bytes or 0))


def build_proposal(advice: Sequence[Advice], *, target: Target | None = None,
                   catalog: Catalog | None = None, classes: Sequence[Any] = (),
                   context: LintContext | None = None, first_number: int = 1,
                   existing_up: Sequence[Sequence[str]] = (),
                   large_bytes: int = LARGE_TABLE_BYTES) -> Proposal:
    """The steps of ``advice``, numbered from ``first_number``; advice whose up SQL equals
    one of ``existing_up`` (a proposal already in the directory) is skipped."""
    target = target or Target()
    known = {tuple(u) for u in existing_up}
    steps, already, number = [], [], first_number
    for a in ordered(advice):
        up = [with_online_clauses(unqualified(s, a.table), target) for s in a.ddl]
        if tuple(up) in known:
            already.append(a.title)
            continue
        down = [with_online_clauses(unqualified(s, a.table), target) for s in a.rollback]
        size = table_bytes(catalog, a.table)
        note = online_note(up, table=a.table, target=target, table_bytes=size,
                           index_bytes=_int(a.details.get("size_bytes")), large_bytes=large_bytes)
        steps.append(Step(number, slug(a), a, up, down, note))
        number += 1
    context = context or LintContext(catalog=catalog, classes=classes)
    context.large_bytes = large_bytes
    drafts = [Draft(s.advice, s.online.table_bytes, s.online.algorithm, s.name) for s in steps]
    for finding in lint(drafts, context):
        next(s for s in steps if s.name == finding.step).findings.append(finding)
    return Proposal(steps, target, classes=[class_record(c) for c in classes], already=already)


def class_record(query_class: Any) -> dict[str, Any]:
    """What the generated tests need of a class: id, sample SQL, its database, share."""
    return {"id": query_class.id, "sample": query_class.sample,
            "db": getattr(query_class, "sample_db", None) or getattr(query_class, "db", None),
            "share": getattr(query_class, "share", None)}


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
