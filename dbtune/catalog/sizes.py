"""Index size estimates: stored width of a value by type, bytes per index entry.

Measured sizes (``mysql.innodb_index_stats``) win where the server has them; these formulas
fill in from column types and a row count.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from dbtune.catalog.sqltext import SPATIAL_SUBTYPES

if TYPE_CHECKING:
    from dbtune.catalog.model import Index, Table

#: Average fill of InnoDB B-tree pages under random inserts (pages split at 50%, fill to 100%).
PAGE_FILL = 0.7
#: Per-entry overhead of an InnoDB secondary index record: 5-byte header + ~2 bytes directory.
SECONDARY_OVERHEAD = 7
#: Per-row overhead of a clustered index record: header 5 + DB_TRX_ID 6 + DB_ROLL_PTR 7.
CLUSTERED_OVERHEAD = 18
#: Width of the hidden row id InnoDB uses as clustered key when a table has none.
ROW_ID_BYTES = 6

_FIXED_WIDTH = {
    "tinyint": 1,
    "bool": 1,
    "boolean": 1,
    "smallint": 2,
    "mediumint": 3,
    "int": 4,
    "integer": 4,
    "bigint": 8,
    "float": 4,
    "double": 8,
    "real": 8,
    "date": 3,
    "year": 1,
    "time": 3,
    "datetime": 5,
    "timestamp": 4,
    "json": 8,
    "uuid": 16,
    "inet4": 4,
    "inet6": 16,
}
_VARIABLE = ("varchar", "varbinary", "char", "binary")
_LOBS = ("text", "blob", "tinytext", "tinyblob", "mediumtext", "mediumblob", "longtext", "longblob")


def type_width(type_sql: str, prefix: int | None = None) -> int:
    """Estimated stored width in bytes of one value of a type (``varchar(64)`` -> 34).

    Fixed types use their storage size; DECIMAL 4 bytes per 9 digits; CHAR/BINARY(n) n
    bytes; VARCHAR/VARBINARY(n) 2 + half of min(n, 255) (a guess without data); TEXT/BLOB
    only through a prefix (prefix + 2); index prefixes cap the width; unknown types 8.
    """
    match = re.match(r"\s*(\w+)\s*(?:\(([^)]*)\))?", type_sql.lower())
    name = match.group(1) if match else ""
    params = [int(p) for p in re.findall(r"\d+", match.group(2) or "")] if match else []
    if name in ("decimal", "numeric", "dec", "fixed"):
        precision, scale = (params + [10, 0])[:2] if params else (10, 0)
        width = _decimal_bytes(precision - scale) + _decimal_bytes(scale)
    elif name in _FIXED_WIDTH:
        width = _FIXED_WIDTH[name]
        if name in ("time", "datetime", "timestamp") and params:
            width += math.ceil(params[0] / 2)
    elif name in ("char", "binary"):
        width = params[0] if params else 1
    elif name in _VARIABLE:
        width = 2 + min(params[0] if params else 255, 255) // 2
    elif name in _LOBS:
        width = 2 + (prefix or 255)
    elif name == "bit":
        width = math.ceil((params[0] if params else 1) / 8)
    elif name == "enum":
        width = 1 if type_sql.count("'") // 2 < 256 else 2
    elif name == "set":
        width = math.ceil(max(type_sql.count("'") // 2, 1) / 8)
    elif name == "geometry" or name.upper() in SPATIAL_SUBTYPES:
        width = 32
    else:
        width = 8
    if prefix is not None and name in _VARIABLE + _LOBS:
        width = min(width, prefix + 2)
    return width


def _decimal_bytes(digits: int) -> int:
    return (digits // 9) * 4 + (0, 1, 1, 2, 2, 3, 3, 4, 4)[digits % 9]


def estimate_entry_bytes(table: Table, index: Index) -> int:
    """Bytes per row of an index.

    Secondary index: the key parts + the clustered-key columns not already in the key (a
    6-byte row id without one) + :data:`SECONDARY_OVERHEAD`. Clustered index: every column
    + :data:`CLUSTERED_OVERHEAD`. FULLTEXT: 8 bytes per row (doc id + word positions, rough).
    Size = rows x entry / :data:`PAGE_FILL`.
    """
    if index.kind == "FULLTEXT":
        return 8 * len(index.columns)
    clustered = table.clustered_index
    if index is clustered:
        return CLUSTERED_OVERHEAD + sum(type_width(c.type) for c in table.columns.values())
    width = SECONDARY_OVERHEAD
    for col, prefix, is_expr in zip(
        index.columns, index.prefix_lengths, index.expressions, strict=True
    ):
        column = None if is_expr else table.column(col)
        width += type_width(column.type, prefix) if column else 8
    if clustered is None:
        return width + ROW_ID_BYTES
    in_key = {c.lower() for c in index.columns}
    for col in clustered.columns:
        column = table.column(col)
        if col.lower() not in in_key:
            width += type_width(column.type) if column else 8
    return width
