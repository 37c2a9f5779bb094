"""The one DDL builder every advisor uses: identifiers quoted by sqlglot, ALGORITHM and
LOCK only where the server accepts them for that change.

>>> alter_table("`shop`.`orders`", [add_index("ix_o", ["status", "day"])],
...             algorithm="INPLACE", lock="NONE")
'ALTER TABLE `shop`.`orders` ADD INDEX `ix_o` (`status`, `day`), ALGORITHM=INPLACE, LOCK=NONE'
>>> alter_table("`t`", [drop_index("ix`x")])
'ALTER TABLE `t` DROP INDEX `ix``x`'
"""

from __future__ import annotations

from collections.abc import Sequence

from dbtune.catalog import quote

#: ADD/DROP of a secondary index: online on MySQL 5.6+ and MariaDB 10.0+.
ONLINE_INDEX = {"algorithm": "INPLACE", "lock": "NONE"}


def alter_table(table_sql: str, clauses: Sequence[str], *, algorithm: str | None = None,
                lock: str | None = None) -> str:
    """``ALTER TABLE <table_sql> <clause>, <clause>[, ALGORITHM=..][, LOCK=..]``.

    ``table_sql`` is already quoted (``Table.sql_name()``); no trailing ``;``.
    """
    parts = list(clauses)
    if algorithm:
        parts.append(f"ALGORITHM={algorithm}")
    if lock:
        parts.append(f"LOCK={lock}")
    return f"ALTER TABLE {table_sql} " + ", ".join(parts)


def add_index(name: str, columns: Sequence[str], *, unique: bool = False,
              invisible: bool = False) -> str:
    """``ADD [UNIQUE] INDEX `name` (`a`, `b`)[ INVISIBLE]`` (plain column parts)."""
    cols = ", ".join(quote(c) for c in columns)
    kind = "UNIQUE INDEX" if unique else "INDEX"
    return f"ADD {kind} {quote(name)} ({cols}){' INVISIBLE' if invisible else ''}"


def drop_index(name: str) -> str:
    """``DROP INDEX `name```."""
    return f"DROP INDEX {quote(name)}"
