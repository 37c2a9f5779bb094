"""Index hygiene: duplicate, redundant and unused indexes, with safe DROP and rollback DDL.

Each rule is a small function ``rule(table, indexes, usage) -> list[HygieneFinding]`` that
looks at the indexes still standing; :func:`find_hygiene` runs :data:`RULES` in order per
table, drops what each rule found from the standing set, and accepts a finding only when
:func:`protection` has no objection (primary key, uniqueness, foreign keys) and the index
that makes it redundant still stands.

>>> from dbtune.catalog import Catalog
>>> cat = Catalog.from_ddl("CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY ka (a), KEY kb (a, id))")
>>> [(f.index, f.kind, f.redundant_with) for f in find_hygiene(cat)]
[('ka', 'left-prefix', 'kb'), ('kb', 'clustered-suffix', 'PRIMARY')]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from dbtune.advise.ddl import add_foreign_key, drop_foreign_key, index_change
from dbtune.catalog import Catalog, Index, Table, estimate_entry_bytes, quote
from dbtune.model import Advice
from dbtune.report.document import Section

#: (table, index) -> reads, or a DataFrame with table/index/reads columns
#: (performance_schema names OBJECT_NAME/INDEX_NAME/COUNT_READ are accepted too).
Usage = Mapping[tuple[str, str], int] | pd.DataFrame

UNUSED_CAVEAT = (
    "usage counters only cover the time since the server started (or they were reset): "
    "an index used by a monthly job or a failover path looks unused; check uptime first"
)


@dataclass
class HygieneFinding:
    """One index that can go (or be shortened), with the DDL to do it and to undo it."""

    table: str
    index: str
    #: duplicate | unique-subsumed | unique-implied | left-prefix | clustered-suffix |
    #: unused | duplicate-fk (then ``index`` names the foreign key)
    kind: str
    columns: str
    redundant_with: str | None
    #: the ALTER TABLE that applies it and the one that undoes it (no trailing ';')
    drop_sql: str
    rollback_sql: str
    bytes_freed: int | None
    bytes_per_row: int
    reason: str
    #: the index that replaces the dropped one (clustered-suffix rule), if any
    replacement: Index | None = field(default=None, repr=False)


    def to_advice(self) -> Advice:
        """This finding in the shared Advice shape."""
        kind = ("drop_foreign_key" if self.kind == "duplicate-fk"
                else "replace_index" if self.replacement is not None else "drop_index")
        return Advice(
            kind=kind,
            table=self.table, title=f"{self.table.rpartition('.')[2]}.{self.index} ({self.kind})",
            ddl=[self.drop_sql], rollback=[self.rollback_sql], reasons=[self.reason],
            details={"index": self.index, "finding": self.kind,
                     "redundant_with": self.redundant_with, "bytes_freed": self.bytes_freed})


def hygiene_advice(finding: HygieneFinding) -> Advice:
    """A hygiene finding in the shared Advice shape (:meth:`HygieneFinding.to_advice`)."""
    return finding.to_advice()


Rule = Callable[[Table, list[Index], "Usage | None"], list[HygieneFinding]]


# ---------------------------------------------------------------------------------------------
# Comparing indexes
# ---------------------------------------------------------------------------------------------
def covers(long: Index, short: Index) -> bool:
    """True if every lookup ``short`` serves, ``long`` serves as well (left-prefix rule).

    Both BTREE; ``short``'s parts lead ``long`` with the same columns and directions, equal
    prefix lengths, except that the last part of ``short`` may be a shorter prefix of the
    matching part of ``long`` (``a(10)`` is covered by ``a(20)`` and by ``a``).
    """
    n = len(short.columns)
    if long.kind != "BTREE" or short.kind != "BTREE" or n == 0 or n > len(long.columns):
        return False
    for i in range(n):
        same = (
            short.columns[i].lower() == long.columns[i].lower()
            and short.expressions[i] == long.expressions[i]
            and short.descending[i] == long.descending[i]
        )
        if not same:
            return False
        mine, theirs = short.prefix_lengths[i], long.prefix_lengths[i]
        if i < n - 1 and mine != theirs:
            return False
        if i == n - 1 and theirs is not None and (mine is None or mine > theirs):
            return False
    return True


def _rank(index: Index) -> tuple:
    """Which of equal indexes to keep: primary, unique, visible, then the first by name."""
    return (not index.primary, not index.unique, not index.visible, index.name.lower())


def _usable_instead(keeper: Index, dropped: Index) -> bool:
    """A visible index must not be replaced by an invisible (ignored) one."""
    return keeper.visible or not dropped.visible


def _longest(indexes: list[Index]) -> Index:
    """The index to keep among those serving a dropped one: the longest, then by
    :func:`_rank`."""
    return min(indexes, key=lambda i: (-len(i.columns), *_rank(i)))


def _columns_text(index: Index) -> str:
    return index.parts_sql()[1:-1]


def _finding(
    table: Table,
    index: Index,
    kind: str,
    reason: str,
    redundant_with: Index | None = None,
    replacement: Index | None = None,
) -> HygieneFinding:
    if replacement is not None:
        drop = index_change(table, drop=[index.name], add=[replacement])
        undo = index_change(table, drop=[index.name], add=[index])
        freed = 0  # InnoDB stores the primary-key columns in every secondary index anyway
    else:
        drop, undo = index_change(table, drop=[index.name]), index_change(table, add=[index])
        freed = index.bytes
    return HygieneFinding(
        table=table.qualified_name,
        index=index.name,
        kind=kind,
        columns=_columns_text(index),
        redundant_with=redundant_with.name if redundant_with else None,
        drop_sql=drop,
        rollback_sql=undo,
        bytes_freed=freed,
        bytes_per_row=estimate_entry_bytes(table, index),
        reason=reason,
        replacement=replacement,
    )


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------
def duplicate_indexes(table: Table, indexes: list[Index], usage=None) -> list[HygieneFinding]:
    """Indexes with identical parts and the same uniqueness: keep one, drop the others.

    Two UNIQUE indexes on the same parts are duplicates too (one still enforces it); a
    PRIMARY KEY and a UNIQUE key on the same parts: the UNIQUE key goes.
    """
    found = []
    for group in _groups(indexes):
        for kind_unique in (True, False):
            same = sorted((i for i in group if i.unique == kind_unique), key=_rank)
            for dup in same[1:]:
                keeper = same[0]
                if _usable_instead(keeper, dup):
                    found.append(_finding(table, dup, "duplicate",
                                          f"{dup.name} is a duplicate of {keeper.name}", keeper))
    return found


def unique_subsumed_indexes(table: Table, indexes: list[Index], usage=None) -> list[HygieneFinding]:
    """A non-unique index on exactly the parts of a UNIQUE (or primary) key is redundant."""
    found = []
    for group in _groups(indexes):
        uniques = sorted((i for i in group if i.unique), key=_rank)
        for plain in (i for i in group if not i.unique):
            keeper = next((u for u in uniques if _usable_instead(u, plain)), None)
            if keeper is not None:
                what = "the primary key" if keeper.primary else f"unique key {keeper.name}"
                found.append(_finding(table, plain, "unique-subsumed",
                                      f"{plain.name} has the same columns as {what}", keeper))
    return found


def implied_unique_indexes(table: Table, indexes: list[Index], usage=None) -> list[HygieneFinding]:
    """A multi-column UNIQUE key holding a column that is unique by itself (the primary key
    or a one-column UNIQUE key, as pt-duplicate-key-checker calls it: a stronger constraint)
    enforces nothing more; when another index serves its lookups (it is a left prefix or a
    copy of it) it can go.

    >>> from dbtune.catalog import Catalog
    >>> t = Catalog.from_ddl("CREATE TABLE l (id INT PRIMARY KEY, a INT, b INT, "
    ...                      "UNIQUE KEY u (id, a), KEY k (id, a, b))").tables["l"]
    >>> [(f.index, f.redundant_with) for f in implied_unique_indexes(t, t.indexes)]
    [('u', 'k')]
    """
    found = []
    for index in indexes:
        strong = _stronger_constraint(index, indexes)
        if strong is None:
            continue
        plain = replace(index, unique=False)
        longer = [i for i in indexes if i is not index and i is not strong
                  and covers(i, plain) and _usable_instead(i, index)]
        if longer:
            keeper = _longest(longer)
            found.append(_finding(
                table, index, "unique-implied",
                f"uniqueness of {index.name} is implied by {strong.name} (a stronger "
                f"constraint on {strong.columns[0]}) and {keeper.name} serves its lookups",
                keeper))
    return found


def _stronger_constraint(index: Index, others: list[Index]) -> Index | None:
    """A one-column unique key (or primary key) on a column of the multi-column UNIQUE
    ``index``: it makes ``index``'s uniqueness redundant."""
    if not index.unique or index.primary or len(index.columns) < 2 or any(index.expressions):
        return None
    columns = {c.lower() for c in index.columns}
    return next((o for o in others if o is not index and o.unique and len(o.columns) == 1
                 and o.prefix_lengths[0] is None and not o.expressions[0]
                 and o.columns[0].lower() in columns), None)


def duplicate_foreign_keys(catalog: Catalog, table: Table) -> list[HygieneFinding]:
    """The same foreign key twice (columns, referenced table and columns, actions): every
    write checks both; drop all but the first (the index they use stays)."""
    found, seen = [], {}
    for fk in table.foreign_keys:
        first = seen.setdefault(fk.key, fk)
        if first is fk:
            continue
        found.append(HygieneFinding(
            table=table.qualified_name, index=fk.name, kind="duplicate-fk",
            columns=", ".join(quote(c) for c in fk.columns), redundant_with=first.name,
            drop_sql=drop_foreign_key(table, fk.name),
            rollback_sql=add_foreign_key(table, fk), bytes_freed=0, bytes_per_row=0,
            reason=f"foreign key {fk.name} is a duplicate of {first.name}: "
                   f"{fk.to_ddl().split(' FOREIGN KEY ', 1)[1]}"))
    return found


def left_prefix_indexes(table: Table, indexes: list[Index], usage=None) -> list[HygieneFinding]:
    """A non-unique BTREE index that is a left prefix of another (prefix lengths considered)."""
    found = []
    for short in indexes:
        if short.unique or short.kind != "BTREE":
            continue
        longer = [i for i in indexes if i is not short and covers(i, short)
                  and i.key != short.key and _usable_instead(i, short)]
        if longer:
            keeper = _longest(longer)
            found.append(_finding(table, short, "left-prefix",
                                  f"{short.name} is a left prefix of {keeper.name}", keeper))
    return found


def clustered_suffix_indexes(
    table: Table, indexes: list[Index], usage=None
) -> list[HygieneFinding]:
    """InnoDB: a secondary index ending in the primary-key columns equals itself without them.

    Every InnoDB secondary index already carries the clustered key, so ``(a, id)`` with
    ``PRIMARY KEY (id)`` is ``(a)``; the fix shortens it (no space saved, clearer DDL).
    UNIQUE indexes are left alone.
    """
    clustered = table.clustered_index
    if not table.is_innodb or clustered is None:
        return []
    tail = clustered.columns
    found = []
    for index in indexes:
        n = len(index.columns) - len(tail)
        if index is clustered or index.unique or index.kind != "BTREE" or n < 1:
            continue
        suffix = Index(
            index.name,
            index.columns[n:],
            index.prefix_lengths[n:],
            expressions=index.expressions[n:],
        )
        if (
            [c.lower() for c in suffix.columns] != [c.lower() for c in tail]
            or any(p is not None for p in suffix.prefix_lengths)
            or any(suffix.expressions)
        ):
            continue
        shorter = replace(
            index,
            columns=index.columns[:n],
            prefix_lengths=index.prefix_lengths[:n],
            descending=index.descending[:n],
            expressions=index.expressions[:n],
            bytes=None,
        )
        found.append(
            _finding(
                table,
                index,
                "clustered-suffix",
                f"{index.name} ends with the clustered index columns "
                f"({', '.join(tail)}), which InnoDB appends to every secondary "
                f"index: same as {_columns_text(shorter)}",
                clustered,
                shorter,
            )
        )
    return found


def unused_indexes(table: Table, indexes: list[Index], usage=None) -> list[HygieneFinding]:
    """Non-unique indexes the usage data saw zero reads of (absent from the data: unknown)."""
    if usage is None:
        return []
    reads = _usage_lookup(usage)
    found = []
    for index in indexes:
        if index.primary or index.unique:
            continue
        count = reads.get((table.qualified_name.lower(), index.name.lower()))
        if count is None:
            count = reads.get((table.name.lower(), index.name.lower()))
        if count == 0:
            found.append(_finding(table, index, "unused",
                                  f"{index.name} had no reads in the usage data; "
                                  f"{UNUSED_CAVEAT}"))
    return found


#: Applied in this order; each rule sees only the indexes the earlier ones left standing.
RULES: list[Rule] = [
    unique_subsumed_indexes,
    duplicate_indexes,
    implied_unique_indexes,
    left_prefix_indexes,
    clustered_suffix_indexes,
    unused_indexes,
]


def _groups(indexes: list[Index]) -> list[list[Index]]:
    groups: dict[tuple, list[Index]] = {}
    for index in indexes:
        groups.setdefault(index.key, []).append(index)
    return [g for g in groups.values() if len(g) > 1]


class _Reads(dict):
    """Usage normalised once: (table, index) -> reads, lower case."""


def _usage_lookup(usage: Usage) -> _Reads:
    """(table, index) -> reads, lower case; schema-qualified rows are also keyed by bare name."""
    if isinstance(usage, _Reads):
        return usage
    if isinstance(usage, pd.DataFrame):
        frame = usage.rename(columns=str.lower)
        reads = next((c for c in ("count_read", "count_star") if c in frame), "reads")
        frame = frame.rename(
            columns={"object_name": "table", "index_name": "index", reads: "reads"}
        )
        if "object_schema" in frame:
            frame = frame.assign(table=frame["object_schema"] + "." + frame["table"])
        pairs = list(zip(frame["table"], frame["index"], frame["reads"], strict=True))
    else:
        pairs = [(t, i, r) for (t, i), r in usage.items()]
    lookup = _Reads()
    for table, index, count in pairs:
        if index is None or pd.isna(index):
            continue
        key = (str(table).lower(), str(index).lower())
        lookup[key] = int(count)
        lookup.setdefault((key[0].rpartition(".")[2], key[1]), int(count))
    return lookup


# ---------------------------------------------------------------------------------------------
# Guarantees and composition
# ---------------------------------------------------------------------------------------------
def protection(catalog: Catalog, table: Table, index: Index, others: list[Index]) -> str | None:
    """Why ``index`` must stay when only ``others`` remain, or None if it may go.

    Never dropped: the primary key; a UNIQUE index unless an identical unique one remains;
    the only index that serves a foreign key of this table, or the referenced columns of a
    foreign key pointing at this table.
    """
    if index.primary:
        return "it is the primary key"
    if (index.unique and not any(o.unique and o.key == index.key for o in others)
            and _stronger_constraint(index, others) is None):
        return "it enforces a UNIQUE constraint"
    for name, columns in _fk_column_sets(catalog, table):
        if index.serves(columns) and not any(o.serves(columns) for o in others):
            return f"foreign key {name} needs it"
    return None


def _fk_column_sets(catalog: Catalog, table: Table) -> list[tuple[str, list[str]]]:
    sets = [(fk.name, fk.columns) for fk in table.foreign_keys]
    for child in catalog.tables.values():
        for fk in child.foreign_keys:
            same_schema = (
                fk.ref_schema is None
                or table.schema is None
                or (fk.ref_schema.lower() == table.schema.lower())
            )
            if fk.ref_table.lower() == table.name.lower() and same_schema:
                sets.append((fk.name, fk.ref_columns))
    return sets


def find_hygiene(
    catalog: Catalog, usage: Usage | None = None, rules: list[Rule] | None = None
) -> list[HygieneFinding]:
    """Every hygiene finding of a catalog, rules applied in order, guarantees enforced.

    An index kept because another was redundant with it is never dropped as unused (its
    reads may be low only because the other one took them). When a kept index is itself
    dropped as redundant, the first finding names the index that finally remains.
    """
    findings = []
    usage = _usage_lookup(usage) if usage is not None else None
    for table in catalog.tables.values():
        standing, accepted = list(table.indexes), {}
        for rule in rules or RULES:
            for finding in rule(table, standing, usage):
                index = table.index(finding.index)
                keeper = table.index(finding.redundant_with) if finding.redundant_with else None
                if index not in standing or (keeper is not None and keeper not in standing):
                    continue
                kept_for = [f for f in accepted.values() if f.redundant_with == index.name]
                if finding.kind == "unused" and kept_for:
                    continue
                others = [i for i in standing if i is not index]
                if finding.replacement is not None:
                    others.append(finding.replacement)
                if protection(catalog, table, index, others) is None:
                    standing = (
                        others
                        if finding.replacement is None
                        else [finding.replacement if i is index else i for i in standing]
                    )
                    for earlier in kept_for:
                        if finding.replacement is None:
                            earlier.redundant_with = finding.redundant_with
                            earlier.reason += f" (dropped too: {finding.redundant_with} remains)"
                    accepted[index.name] = finding
        findings.extend(accepted.values())
        findings.extend(duplicate_foreign_keys(catalog, table))
    return findings


def hygiene_frame(findings: list[HygieneFinding]) -> pd.DataFrame:
    """One row per finding: table, index, kind, columns, redundant_with, bytes, reason, DDL."""
    columns = [
        "table",
        "index",
        "kind",
        "columns",
        "redundant_with",
        "bytes_freed",
        "bytes_per_row",
        "reason",
        "drop_sql",
        "rollback_sql",
    ]
    return pd.DataFrame(
        [{c: getattr(f, c) for c in columns} for f in findings], columns=columns
    ).astype({"bytes_freed": "Int64"})


@dataclass
class HygieneReport:
    """The hygiene findings of a catalog as a report result (``to_document``, ``rows``,
    ``sections``: :func:`dbtune.report.document.render`), with notes on what was known."""

    findings: list[HygieneFinding]
    #: what the report rests on (where usage came from, its caveat, or that none was read)
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One row per finding (:func:`hygiene_frame`'s columns)."""
        frame = hygiene_frame(self.findings)
        return frame.astype(object).where(frame.notna(), None).to_dict("records")

    def to_document(self) -> dict[str, Any]:
        return {"findings": self.rows(), "notes": self.notes,
                "statements": [f.drop_sql for f in self.findings],
                "rollback": [f.rollback_sql for f in reversed(self.findings)]}

    def sections(self) -> list[Section]:
        """The findings, the DDL to apply and to undo, the notes."""
        rows = [{k: v for k, v in r.items() if k not in ("bytes_per_row", "drop_sql",
                                                          "rollback_sql")}
                for r in self.rows()]
        out = [Section("Index hygiene", rows=rows)]
        if self.findings:
            out += [Section("Apply", text="".join(f"{f.drop_sql};\n" for f in self.findings),
                            language="sql"),
                    Section("Roll back", language="sql", text="".join(
                        f"{f.rollback_sql};\n" for f in reversed(self.findings)))]
        if self.notes:
            out.append(Section("Notes", text="".join(f"- {n}\n" for n in self.notes)))
        return out


def hygiene_report(catalog: Catalog, usage: Usage | None = None,
                   notes: Sequence[str] = ()) -> HygieneReport:
    """:func:`find_hygiene` as a :class:`HygieneReport`."""
    return HygieneReport(find_hygiene(catalog, usage), list(notes))
