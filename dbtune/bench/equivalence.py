"""Result equivalence, as pt-upgrade checks it but per class: same reads, same rows.

Each check statement runs before and after the migration; its result is reduced to a
checksum of its rows, sorted (so a different plan returning the same rows in another order
still matches), together with the row count. An error counts as a result (its code), so a
statement failing after the change is a difference too.

A ``LIMIT`` picks among rows that tie on its ``ORDER BY`` (or among all rows, without one)
as the plan happens to meet them, so a new index could change which rows come back without
any data changing. Such a SELECT is checked with every output column appended to its
``ORDER BY`` as a tie-breaker (``ORDER BY units DESC, 1, 2``): the same rewritten statement
runs before and after, and now compares data, not plan order.

Statements calling a function whose value changes from one call to the next (``NOW()``,
``RAND()``, ``UUID()``, ...), reading performance_schema or information_schema, or SHOW
statements would differ without any change at all: they are not checked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pymysql
from sqlglot import exp

from dbtune.parsing import parse_statement

_VOLATILE = re.compile(
    r"\b(?:NOW|SYSDATE|CURDATE|CURTIME|UTC_(?:DATE|TIME|TIMESTAMP)|CURRENT_(?:DATE|TIME|"
    r"TIMESTAMP|USER)|LOCALTIME(?:STAMP)?|UNIX_TIMESTAMP|RAND|UUID(?:_SHORT)?|SYS_GUID|"
    r"CONNECTION_ID|LAST_INSERT_ID|FOUND_ROWS|ROW_COUNT|SLEEP|BENCHMARK)\s*\("
    # the server's own counters and metadata change as the bench runs
    r"|`?\b(?:performance_schema|information_schema)\b`?\s*\.|^\s*SHOW\b",
    re.IGNORECASE)


def is_repeatable(sql: str) -> bool:
    """False when ``sql``'s result changes between calls whatever the schema: NOW(), RAND()...,
    server counters and metadata (performance_schema, information_schema, SHOW)."""
    return not _VOLATILE.search(sql)


@dataclass(frozen=True)
class Outcome:
    """The reduced result of one statement: row count and checksum, or an error."""

    rows: int
    checksum: str

    def describe(self) -> str:
        if self.checksum.startswith("error "):
            return self.checksum
        return f"{self.rows} rows, checksum {self.checksum[:12]}"


@dataclass
class Difference:
    """A class whose results changed: how many of its statements, and one example."""

    name: str
    label: str
    statements: int
    differing: int
    example_sql: str
    before: str
    after: str

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.name, "label": self.label, "statements": self.statements,
                "differing": self.differing, "example_sql": self.example_sql,
                "before": self.before, "after": self.after}


@dataclass
class Equivalence:
    """What the check compared and the classes whose results differ."""

    statements: int = 0
    classes: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {"statements": self.statements, "classes": self.classes,
                "differences": [d.to_dict() for d in self.differences]}


def outcome(connection: Any, sql: str) -> Outcome:
    """Run ``sql`` (tie-broken when it has a LIMIT) and reduce its result to
    (rows, sha1 of the sorted row representations)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall() if cursor.description else ()
            stable = tie_broken(sql, len(cursor.description or ()))
            if stable is not None:
                cursor.execute(stable)
                rows = cursor.fetchall()
    except pymysql.err.MySQLError as exc:
        code = exc.args[0] if exc.args else "?"
        return Outcome(0, f"error {code}")
    digest = hashlib.sha1()
    for line in sorted(repr(tuple(row)) for row in rows):
        digest.update(line.encode("utf-8", "surrogatepass"))
        digest.update(b"\n")
    return Outcome(len(rows), digest.hexdigest())


def tie_broken(sql: str, columns: int) -> str | None:
    """``sql`` with output columns 1..``columns`` appended to its ORDER BY, when it is a
    SELECT with a LIMIT; None otherwise (no LIMIT, not a plain SELECT, unparsable)."""
    tree = parse_statement(sql)
    if not isinstance(tree, exp.Select) or tree.args.get("limit") is None or columns < 1:
        return None
    keys = [exp.Literal.number(i) for i in range(1, columns + 1)]
    return tree.copy().order_by(*keys, append=True).sql(dialect="mysql")


def run_checks(connection: Any, statements: Sequence[tuple[str, str]]) -> list[Outcome]:
    """The outcome of every (class name, SQL) check statement, in order."""
    return [outcome(connection, sql) for _, sql in statements]


def compare(statements: Sequence[tuple[str, str]], before: Sequence[Outcome],
            after: Sequence[Outcome], labels: dict[str, str] | None = None) -> Equivalence:
    """Compare outcomes statement by statement; one Difference per class that changed."""
    labels = labels or {}
    per_class: dict[str, list[tuple[str, Outcome, Outcome]]] = {}
    for (name, sql), b, a in zip(statements, before, after, strict=True):
        per_class.setdefault(name, []).append((sql, b, a))
    result = Equivalence(statements=len(statements), classes=len(per_class))
    for name, checks in per_class.items():
        changed = [(sql, b, a) for sql, b, a in checks if b != a]
        if changed:
            sql, b, a = changed[0]
            result.differences.append(Difference(
                name, labels.get(name, name), len(checks), len(changed), sql,
                b.describe(), a.describe()))
    return result
