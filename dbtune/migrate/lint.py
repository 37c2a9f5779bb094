"""Lint of a proposal's steps, in the manner of skeema's and Atlas's schema-change checks.

Each rule is a small function ``rule(step, context) -> list[Finding]``; :data:`RULES` is the
plain list :func:`lint` runs. A finding's ``level`` is ``refuse`` (``propose`` writes
nothing unless ``--force``) or ``warn`` (written into the step's notes and the README).

>>> from dbtune.model import Advice
>>> step = Draft(Advice("add_index", "t", "t (id)", ["ALTER TABLE `t` DROP PRIMARY KEY, "
...              "ADD PRIMARY KEY (`id`, `day`)"], ["..."]), table_bytes=None, algorithm="INPLACE")
>>> [f.rule for f in lint([step], LintContext())]
['primary_key_change']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbtune.catalog import Catalog, quote
from dbtune.migrate.online import LARGE_TABLE_BYTES
from dbtune.model import Advice

REFUSE, WARN = "refuse", "warn"


@dataclass
class Finding:
    """One thing a rule found in one step."""

    rule: str
    level: str
    message: str
    step: str = ""

    def __str__(self) -> str:
        return f"{self.step}: {self.level}: {self.message} [{self.rule}]"


@dataclass
class Draft:
    """What a rule sees of a step: its advice, statements, table size and algorithm."""

    advice: Advice
    table_bytes: int | None
    algorithm: str
    name: str = ""

    @property
    def statements(self) -> list[str]:
        return self.advice.ddl


@dataclass
class LintContext:
    """The workload and schema the rules check against.

    ``classes``: query classes (``id``, ``sample``, ``sample_db``); ``connection``: an open
    read-only connection to a server holding the data (``database`` on it), for the data
    checks; ``uses``: (table, index) -> ids of classes whose plan uses it, where a server
    was asked (EXPLAIN); otherwise a class "uses" an index when its sample reads the table
    and names the index's first column in a WHERE, ON, GROUP BY or ORDER BY.
    """

    catalog: Catalog | None = None
    classes: Sequence[Any] = ()
    connection: Any = None
    database: str | None = None
    uses: dict[tuple[str, str], list[str]] | None = None
    large_bytes: int = LARGE_TABLE_BYTES
    #: indexes other steps drop, (table, index)
    dropped: set[tuple[str, str]] = field(default_factory=set)

    def users_of(self, table: str, index: str) -> list[str]:
        """Ids of the classes that use ``index`` of ``table``."""
        bare = table.rpartition(".")[2].lower()
        if self.uses is not None:
            return sorted(self.uses.get((bare, index.lower()), []))
        found = self.catalog.table(table) if self.catalog else None
        idx = found.index(index) if found else None
        if idx is None or not idx.columns:
            return []
        lead = re.compile(rf"\b{re.escape(idx.columns[0])}\b", re.IGNORECASE)
        return sorted(c.id for c in self.classes
                      if bare in {t.rpartition(".")[2].lower() for t in c.tables}
                      and lead.search(_filtering(c.sample or "")))


def _filtering(sql: str) -> str:
    """The part of ``sql`` from its first WHERE / ON / GROUP BY / ORDER BY on."""
    match = re.search(r"\b(WHERE|ON|GROUP\s+BY|ORDER\s+BY)\b", sql, re.IGNORECASE)
    return sql[match.start():] if match else ""


Rule = Callable[[Draft, LintContext], list[Finding]]


def dropped_index_in_use(step: Draft, context: LintContext) -> list[Finding]:
    """A drop of an index a workload class uses: refused unless the index it is redundant
    with stays (then a warning: the optimizer should switch to that one).

    >>> from dbtune.model import Advice
    >>> from dbtune.catalog import Catalog
    >>> cat = Catalog.from_ddl("CREATE TABLE t (a INT, b INT, KEY ix (a))")
    >>> class C: id, sample, tables = "Q1", "SELECT b FROM t WHERE a = 1", ["t"]
    >>> d = Draft(Advice("drop_index", "t", "t.ix", ["ALTER TABLE `t` DROP INDEX `ix`"], [],
    ...           details={"index": "ix"}), None, "INPLACE")
    >>> dropped_index_in_use(d, LintContext(cat, [C()]))[0].level
    'refuse'
    """
    index = step.advice.details.get("index")
    if step.advice.kind not in ("drop_index", "replace_index") or not index:
        return []
    users = context.users_of(step.advice.table, index)
    if not users:
        return []
    other = step.advice.details.get("redundant_with")
    bare = step.advice.table.rpartition(".")[2].lower()
    kept = other and (bare, str(other).lower()) not in context.dropped
    if step.advice.kind == "replace_index":
        return [Finding("dropped_index_in_use", WARN,
                        f"{index} is rebuilt narrower; {len(users)} class(es) use it today "
                        f"({', '.join(users[:3])}): the generated test checks their plans")]
    if kept:
        return [Finding("dropped_index_in_use", WARN,
                        f"{len(users)} class(es) use {index} ({', '.join(users[:3])}); "
                        f"{other}, which stays, serves the same lookups")]
    return [Finding("dropped_index_in_use", REFUSE,
                    f"drops {index}, which {len(users)} class(es) of the workload use "
                    f"({', '.join(users[:3])}) and no remaining index replaces")]


def unique_on_duplicates(step: Draft, context: LintContext) -> list[Finding]:
    """A UNIQUE index on columns whose data is not unique: the ALTER fails (or, with IGNORE,
    deletes rows). Checked on the data when a server is at hand, else a warning.

    >>> from dbtune.model import Advice
    >>> d = Draft(Advice("add_index", "t", "t (a)", ["ALTER IGNORE TABLE `t` ADD UNIQUE "
    ...           "INDEX `ux` (`a`)"], []), None, "INPLACE")
    >>> unique_on_duplicates(d, LintContext())[0].message[:38]
    'ALTER IGNORE deletes the rows that dup'
    """
    findings = []
    for statement in step.statements:
        for match in re.finditer(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?UNIQUE\s+(?:INDEX|KEY)?\s*"
                                 r"(`(?:[^`]|``)*`|\w+)?\s*\(([^)]*)\)", statement, re.I):
            columns = [c.strip().strip("`") for c in match.group(2).split(",")]
            if re.match(r"\s*ALTER\s+IGNORE\b", statement, re.I):
                findings.append(Finding("unique_on_duplicates", REFUSE,
                                        "ALTER IGNORE deletes the rows that duplicate "
                                        f"({', '.join(columns)}): it changes the data"))
                continue
            duplicates = _duplicates(context, step.advice.table, columns)
            if duplicates is None:
                findings.append(Finding("unique_on_duplicates", WARN,
                                        f"UNIQUE ({', '.join(columns)}) not checked against "
                                        "data (no server): the ALTER fails on duplicates"))
            elif duplicates:
                findings.append(Finding("unique_on_duplicates", REFUSE,
                                        f"UNIQUE ({', '.join(columns)}): {duplicates} value(s) "
                                        "occur more than once in the data"))
    return findings


def _duplicates(context: LintContext, table: str, columns: list[str]) -> int | None:
    if context.connection is None:
        return None
    name = table.rpartition(".")[2]
    target = f"{quote(context.database)}.{quote(name)}" if context.database else quote(name)
    cols = ", ".join(quote(c) for c in columns)
    with context.connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {target} GROUP BY {cols} "
                       "HAVING COUNT(*) > 1 LIMIT 1000) d")
        return int(cursor.fetchone()[0])


def primary_key_change(step: Draft, context: LintContext) -> list[Finding]:
    """A change to a primary key: the table is rebuilt, every secondary index with it, and
    row identity changes for replication and applications: refused unless --force.

    >>> from dbtune.model import Advice
    >>> d = Draft(Advice("partition", "t", "t", ["ALTER TABLE t ADD INDEX i (a)"], []),
    ...           None, "INPLACE")
    >>> primary_key_change(d, LintContext())
    []
    """
    if not any(re.search(r"\bPRIMARY\s+KEY\b", s, re.I) for s in step.statements):
        return []
    return [Finding("primary_key_change", REFUSE,
                    "changes the primary key: rebuilds the table and all its indexes and "
                    "changes row identity (replication, application keys)")]


def copy_on_large_table(step: Draft, context: LintContext) -> list[Finding]:
    """ALGORITHM=COPY on a table at least ``large_bytes`` big: writes wait for the whole
    copy; refused (use the pt-online-schema-change / gh-ost lines in the step's notes).

    >>> from dbtune.model import Advice
    >>> d = Draft(Advice("partition", "t", "t", ["ALTER TABLE t PARTITION BY HASH(id)"], []),
    ...           5 << 30, "COPY")
    >>> copy_on_large_table(d, LintContext())[0].level
    'refuse'
    """
    if step.algorithm != "COPY":
        return []
    if step.table_bytes is None:
        return [Finding("copy_on_large_table", WARN,
                        "ALGORITHM=COPY: writes wait for the whole table copy (size unknown)")]
    if step.table_bytes < context.large_bytes:
        return []
    return [Finding("copy_on_large_table", REFUSE,
                    f"ALGORITHM=COPY on a {step.table_bytes / (1 << 30):.1f} GB table: writes "
                    "wait for the whole copy; run it with gh-ost or pt-online-schema-change")]


RULES: list[Rule] = [dropped_index_in_use, unique_on_duplicates, primary_key_change,
                     copy_on_large_table]


def lint(steps: Sequence[Draft], context: LintContext,
         rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Every finding of every rule on every step, in step order."""
    context.dropped |= {(s.advice.table.rpartition(".")[2].lower(),
                         str(s.advice.details.get("index", "")).lower())
                        for s in steps if s.advice.kind == "drop_index"}
    findings = []
    for step in steps:
        for rule in rules:
            for finding in rule(step, context):
                finding.step = step.name
                findings.append(finding)
    return findings
