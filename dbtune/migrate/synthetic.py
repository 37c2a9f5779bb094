"""Synthetic rows for a schema loaded on a disposable server, following the catalog's
statistics where it has them: row count per table, distinct values per column (NDV).

Values follow the column's type (integers, decimals, strings within their length, dates,
ENUM members); columns of a PRIMARY KEY or UNIQUE index get distinct values; generated
columns are left to the server. Seeded: the same schema and statistics give the same rows.

>>> fill(connection, "shop", {"orders": {"rows": 500, "ndv": {"status": 4}}})  # doctest: +SKIP
{'orders': 500}
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import Any

from dbtune.catalog import quote

BATCH = 500
_BASE = datetime(2026, 1, 1)


def fill(connection: Any, database: str, tables: dict[str, dict[str, Any]],
         seed: int = 1, default_rows: int = 1000) -> dict[str, int]:
    """Insert synthetic rows into every base table of ``database``; rows inserted per table.

    ``tables``: table -> ``{"rows": n, "ndv": {column: distinct values}}`` (a table not
    named gets ``default_rows``). Rows the server rejects (a partition or constraint they
    miss) are skipped (INSERT IGNORE).
    """
    rng = random.Random(seed)
    columns = _columns(connection, database)
    unique = _unique_columns(connection, database)
    counts = {}
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION foreign_key_checks = 0")
        for table, cols in columns.items():
            spec = tables.get(table, {})
            n = int(spec.get("rows", default_rows))
            ndv = spec.get("ndv", {})
            makers = [(c["name"], _maker(c, n, ndv.get(c["name"]), c["name"] in unique[table],
                                         rng)) for c in cols]
            names = ", ".join(quote(name) for name, _ in makers)
            marks = ", ".join(["%s"] * len(makers))
            sql = f"INSERT IGNORE INTO {quote(database)}.{quote(table)} ({names}) VALUES ({marks})"
            counts[table] = 0
            for start in range(0, n, BATCH):
                rows = [tuple(make(i) for _, make in makers)
                        for i in range(start, min(n, start + BATCH))]
                counts[table] += cursor.executemany(sql, rows) or 0
        cursor.execute("SET SESSION foreign_key_checks = 1")
    return counts


def _columns(connection: Any, database: str) -> dict[str, list[dict[str, Any]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name, c.data_type, c.column_type, "
            "c.character_maximum_length, c.extra FROM information_schema.columns c JOIN "
            "information_schema.tables t ON t.table_schema = c.table_schema AND "
            "t.table_name = c.table_name WHERE c.table_schema = %s AND t.table_type = "
            "'BASE TABLE' ORDER BY c.table_name, c.ordinal_position", (database,))
        out: dict[str, list[dict[str, Any]]] = {}
        for table, name, data_type, column_type, length, extra in cursor.fetchall():
            out.setdefault(table, [])
            if re.search(r"GENERATED|VIRTUAL|STORED", extra or "", re.I):
                continue
            out[table].append({"name": name, "type": data_type.lower(),
                               "column_type": column_type, "length": length})
    return out


def _unique_columns(connection: Any, database: str) -> dict[str, set[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, column_name FROM information_schema.statistics "
                       "WHERE table_schema = %s AND non_unique = 0", (database,))
        out: dict[str, set[str]] = {}
        for table, column in cursor.fetchall():
            out.setdefault(table, set()).add(column)
    return _default(out)


class _default(dict):  # noqa: N801 - a dict with set() for a missing table
    def __missing__(self, key: str) -> set[str]:
        return set()


def _maker(column: dict[str, Any], rows: int, ndv: int | None, unique: bool,
           rng: random.Random):
    """A function row index -> value for ``column``."""
    kind, distinct = column["type"], max(1, int(ndv or max(rows // 10, 1)))

    def key(i: int) -> int:
        return i + 1 if unique else rng.randint(1, distinct)

    if kind in ("enum", "set"):
        members = re.findall(r"'((?:[^']|'')*)'", column["column_type"]) or [""]
        members = members[:distinct]
        return lambda i: members[(i if unique else rng.randrange(len(members))) % len(members)]
    if "int" in kind or kind == "bit":
        top = 127 if kind == "tinyint" else None
        if kind == "bit":
            return lambda i: 0
        return lambda i: key(i) if top is None else (key(i) % top)
    if kind in ("decimal", "numeric", "float", "double", "real"):
        return lambda i: round(key(i) * 1.37 % 10_000, 2)
    if kind in ("date", "datetime", "timestamp"):
        return lambda i: (_BASE - timedelta(minutes=7 * key(i))).strftime(
            "%Y-%m-%d" if kind == "date" else "%Y-%m-%d %H:%M:%S")
    if kind == "time":
        return lambda i: f"{key(i) % 24:02d}:00:00"
    if kind == "year":
        return lambda i: 2000 + key(i) % 27
    if kind == "json":
        return lambda i: f'{{"k": {key(i)}}}'
    length = int(column["length"] or 64)
    prefix = column["name"][: max(1, min(8, length - 8))]
    return lambda i: f"{prefix}{key(i)}"[:length]
