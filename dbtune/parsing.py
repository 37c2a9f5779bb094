"""sqlglot parsing of statements, once per distinct text (MySQL dialect, cached).

The hot path never calls this: the digest asks for the tables of a class's sample
after aggregation, once per class.

>>> tables_in("SELECT * FROM shop.orders o JOIN users u ON u.id = o.user_id")
['shop.orders', 'users']
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

# Fallback for statements sqlglot cannot parse: names after FROM/JOIN/INTO/UPDATE/TABLE.
_TABLE_REF = re.compile(
    r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+((?:`[^`]+`|\w+)(?:\.(?:`[^`]+`|\w+))?)", re.I
)


@lru_cache(maxsize=4096)
def parse_statement(sql: str) -> exp.Expression | None:
    """The sqlglot expression of one MySQL statement, or None if it does not parse."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # "falling back to parsing as a Command" is not news here
    try:
        parsed = sqlglot.parse_one(sql, read="mysql")
    except (SqlglotError, ValueError, RecursionError):
        return None
    finally:
        logger.setLevel(level)
    return None if isinstance(parsed, exp.Command) else parsed


def tables_in(sql: str) -> list[str]:
    """Tables a statement reads or writes, as "db.table" or "table", each once (depth-first order).

    CTE names and derived tables are not tables; a statement sqlglot cannot parse
    falls back to the names after FROM/JOIN/INTO/UPDATE.
    """
    tree = parse_statement(sql)
    if tree is None:
        names = [m.group(1).replace("`", "") for m in _TABLE_REF.finditer(sql)]
        return list(dict.fromkeys(names))
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    names = []
    for table in tree.find_all(exp.Table, bfs=False):
        if not table.name or (not table.db and table.name in ctes):
            continue
        names.append(f"{table.db}.{table.name}" if table.db else table.name)
    return list(dict.fromkeys(names))
