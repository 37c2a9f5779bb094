"""The one DDL builder every advisor uses: identifiers quoted by sqlglot, ALGORITHM and
LOCK only where the server accepts them for that change.

>>> alter_table("`shop`.`orders`", [add_index("ix_o", ["status", "day"])],
...             algorithm="INPLACE", lock="NONE")
'ALTER TABLE `shop`.`orders` ADD INDEX `ix_o` (`status`, `day`), ALGORITHM=INPLACE, LOCK=NONE'
>>> alter_table("`t`", [drop_index("ix`x")])
'ALTER TABLE `t` DROP INDEX `ix``x`'
>>> from dbtune.catalog import Catalog
>>> t = Catalog.from_ddl("CREATE TABLE t (id INT PRIMARY KEY, a INT, b TEXT)").tables["t"]
>>> index_change(t, drop=["k"], add=[Index("k", ["a"])])
'ALTER TABLE `t` DROP INDEX `k`, ADD INDEX `k` (`a`), ALGORITHM=INPLACE, LOCK=NONE'
>>> index_change(t, add=[Index("ft", ["b"], kind="FULLTEXT")])
'ALTER TABLE `t` ADD FULLTEXT INDEX `ft` (`b`)'
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from dbtune.catalog import ForeignKey, Index, Table, quote

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


def table_sql(table: str, schema: str | None) -> str:
    """``table`` (a catalog key, maybe "schema.name") quoted by sqlglot, schema-qualified.

    >>> table_sql("shop.orders", "shop"), table_sql("a`b", None)
    ('`shop`.`orders`', '`a``b`')
    """
    name = table.rpartition(".")[2] if schema else table
    return exp.table_(name, db=schema, quoted=True).sql(dialect="mysql")


def online(table: Table, added: Sequence[Index] = ()) -> dict[str, str]:
    """ALGORITHM/LOCK for dropping indexes and adding ``added`` on ``table``: INPLACE without
    a lock on InnoDB when every added index is a B-tree; none otherwise (a FULLTEXT or
    SPATIAL build takes a shared lock; other engines copy the table)."""
    if table.is_innodb and all(i.kind == "BTREE" for i in added):
        return ONLINE_INDEX
    return {}


def index_change(table: Table, *, drop: Sequence[str] = (), add: Sequence[Index] = ()) -> str:
    """One ALTER TABLE that drops the indexes named ``drop`` and adds ``add`` (full
    definitions, invisible ones written the table's flavour's way), online where valid."""
    clauses = [drop_index(name) for name in drop]
    clauses += [f"ADD {index.to_ddl(table.flavour)}" for index in add]
    return alter_table(table.sql_name(), clauses, **online(table, add))


def drop_foreign_key(table: Table, name: str) -> str:
    """``ALTER TABLE t DROP FOREIGN KEY `name``` (online on InnoDB; its index stays)."""
    return alter_table(table.sql_name(), [f"DROP FOREIGN KEY {quote(name)}"],
                       **online(table))


def add_foreign_key(table: Table, fk: ForeignKey) -> str:
    """``ALTER TABLE t ADD CONSTRAINT ... FOREIGN KEY ...`` (no ALGORITHM: INPLACE needs
    foreign_key_checks=0, which this statement must not assume)."""
    return alter_table(table.sql_name(), [f"ADD {fk.to_ddl()}"])
