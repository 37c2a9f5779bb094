"""What the generated tests (and users' own suites) check on a disposable server.

Plain functions over an open connection, plus :class:`ProposalDatabase`, which loads a
proposal's data once and walks its steps:

- :func:`show_create` - ``SHOW CREATE TABLE`` of every table (AUTO_INCREMENT counters
  left out), to compare a schema before up and after down;
- :func:`explain_rows` / :func:`index_keys` / :func:`partitions_read` - the optimizer's plan;
- :func:`replay` - each repeatable statement's result (row count and checksum, sorted, as
  ``dbtune bench`` compares results) and the rows it read (the session's ``Handler_read_*``
  counters: the same figure on every run of the same plan on the same data, unlike time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from dbtune.bench.equivalence import is_repeatable, outcome
from dbtune.catalog import quote, split_statements
from dbtune.model import InputError

_AUTO_INCREMENT = re.compile(r"\s*AUTO_INCREMENT=\d+")


_KEY_LINE = re.compile(r"^\s*(PRIMARY KEY|UNIQUE KEY|KEY|FULLTEXT KEY|SPATIAL KEY|CONSTRAINT)\b")


def normalized(create: str) -> str:
    r"""``SHOW CREATE TABLE`` text with AUTO_INCREMENT=N removed and the index lines sorted:
    an index dropped and added back comes last, the same index all the same.

    >>> normalized("CREATE TABLE `t` (\n  `a` int,\n  KEY `b` (`a`),\n  KEY `a` (`a`)\n)"
    ...            " AUTO_INCREMENT=5")
    'CREATE TABLE `t` (\n  `a` int,\n  KEY `a` (`a`),\n  KEY `b` (`a`)\n)'
    """
    lines = _AUTO_INCREMENT.sub("", create).split("\n")
    keys = sorted(i for i, line in enumerate(lines) if _KEY_LINE.match(line))
    if keys:
        ordered = sorted(lines[i].rstrip(",") for i in keys)
        last = max(keys) == len(lines) - 2 and not lines[max(keys)].endswith(",")
        for n, i in enumerate(keys):
            lines[i] = ordered[n] + ("" if last and n == len(keys) - 1 else ",")
    return "\n".join(lines)


def show_create(connection: Any, database: str) -> dict[str, str]:
    """Table name -> its ``SHOW CREATE TABLE``, :func:`normalized`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema"
                       " = %s AND table_type = 'BASE TABLE' ORDER BY table_name", (database,))
        names = [row[0] for row in cursor.fetchall()]
        out = {}
        for name in names:
            cursor.execute(f"SHOW CREATE TABLE {quote(database)}.{quote(name)}")
            out[name] = normalized(cursor.fetchone()[1])
    return out


def explain_rows(connection: Any, sql: str, *, partitions: bool = False,
                 flavour: str = "mariadb") -> list[dict[str, Any]]:
    """The rows of ``EXPLAIN sql`` as dicts with lower-case keys (``EXPLAIN PARTITIONS`` on
    MariaDB when ``partitions``; MySQL 8 always shows the column)."""
    verb = "EXPLAIN PARTITIONS " if partitions and flavour == "mariadb" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(verb + sql)
        names = [d[0].lower() for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def index_keys(connection: Any, sql: str, table: str | None = None) -> set[str]:
    """Lower-case names of the indexes EXPLAIN says ``sql`` reads (of ``table``, or any)."""
    keys = set()
    for row in explain_rows(connection, sql):
        if table is None or str(row.get("table") or "").lower() in (table.lower(), ""):
            keys |= {k.strip().lower() for k in str(row.get("key") or "").split(",") if k}
    return keys


def partitions_read(connection: Any, sql: str, table: str, database: str,
                    flavour: str = "mariadb") -> tuple[int, int]:
    """(partitions EXPLAIN reads of ``table`` for ``sql``, partitions the table has)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.partitions WHERE "
                       "table_schema = %s AND table_name = %s AND partition_name IS NOT NULL",
                       (database, table))
        total = int(cursor.fetchone()[0])
    read = 0
    for row in explain_rows(connection, sql, partitions=True, flavour=flavour):
        if str(row.get("table") or "").lower() == table.lower():
            read = max(read, len(str(row.get("partitions") or "").split(",")))
    return read, total


def explain_uses(connection: Any, database: str, statements: Iterable[tuple[str, str]],
                 index_tables: dict[str, set[str]]) -> dict[tuple[str, str], list[str]]:
    """(table, index) -> ids of the classes whose EXPLAIN reads that index. Only repeatable
    reads are EXPLAINed (nothing executes: safe on a production server, read-only);
    ``index_tables``: lower-case index name -> the tables having an index of that name."""
    uses: dict[tuple[str, str], list[str]] = {}
    connection.select_db(database)
    for class_id, sql in statements:
        if not is_read(sql):
            continue
        try:
            keys = index_keys(connection, sql)
        except pymysql.MySQLError:
            continue
        for key in sorted(keys):
            for table in sorted(index_tables.get(key, ())):
                uses.setdefault((table, key), []).append(class_id)
    return uses


def rows_read(connection: Any) -> int:
    """The session's ``Handler_read_*`` total so far."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE 'Handler_read%'")
        return sum(int(value) for _, value in cursor.fetchall())


@dataclass
class Replay:
    """Per class: (before, after) of the result (row count + checksum) and of rows read."""

    results: dict[str, tuple[str, str]] = field(default_factory=dict)
    reads: dict[str, tuple[int, int]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def replay(connection: Any, statements: Iterable[tuple[str, str]]) -> dict[str, tuple[str, int]]:
    """Run each (class id, sql) that is a repeatable read; class id -> (result, rows read).
    Writes and volatile statements (NOW(), RAND(), ...) are not run."""
    out = {}
    for class_id, sql in statements:
        if not is_read(sql):
            continue
        start = rows_read(connection)
        result = outcome(connection, sql).describe()
        out[class_id] = (result, rows_read(connection) - start)
    return out


def is_read(sql: str) -> bool:
    """True for a SELECT (or WITH) whose result does not change between calls."""
    return bool(re.match(r"\s*(\(\s*)*(SELECT|WITH)\b", sql, re.I)) and is_repeatable(sql)


def apply(connection: Any, statements: Sequence[str], what: str) -> None:
    """Run ``statements`` in order; :class:`InputError` naming ``what`` and the statement."""
    with connection.cursor() as cursor:
        for sql in statements:
            try:
                cursor.execute(sql)
            except pymysql.MySQLError as exc:
                raise InputError(f"{what}: {exc.args[-1] if exc.args else exc} in: "
                                 f"{sql[:200]}") from None


def analyze(connection: Any, database: str, flavour: str,
            tables: Sequence[str] | None = None) -> None:
    """Fresh optimizer statistics for ``tables`` (default: every table; engine-independent
    ones too on MariaDB)."""
    extra = " PERSISTENT FOR ALL" if flavour == "mariadb" else ""
    with connection.cursor() as cursor:
        for name in tables if tables is not None else show_create(connection, database):
            cursor.execute(f"ANALYZE TABLE {quote(database)}.{quote(name)}{extra}")
            cursor.fetchall()


def load_script(connection: Any, path: str | Path) -> int:
    """Run a schema/data SQL script in the connection's database; statements run.
    :class:`InputError` ``path:line: message`` for the first statement the server rejects."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    statements = split_statements(text)
    with connection.cursor() as cursor:
        for line, sql in statements:
            try:
                cursor.execute(sql)
            except pymysql.MySQLError as exc:
                first = str(exc.args[-1] if exc.args else exc).splitlines()[0]
                raise InputError(f"{path}:{line}: the server rejects this: {first}") from None
    return len(statements)
