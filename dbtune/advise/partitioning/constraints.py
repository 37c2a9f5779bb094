"""What the catalog allows: each check a small named function, composed by :data:`CHECKS`.

A check takes the :class:`Context` of one table and its proposed column and returns a
:class:`Check`: ``ok``, ``warns`` (a DBA must know), ``changes`` (keys that must change, with
the change) or ``blocks`` (no partitioning possible; nothing is proposed).

>>> from dbtune.catalog import Catalog
>>> cat = Catalog.from_ddl("CREATE TABLE s (id INT PRIMARY KEY, at DATETIME NOT NULL)")
>>> check_unique_keys(Context(cat.tables["s"], "at", cat)).changes[0].columns
['id', 'at']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dbtune.advise.partitioning.candidates import INTEGER, TEMPORAL, ClassUse
from dbtune.advise.partitioning.scheme import PARTITION_LIMIT, Scheme
from dbtune.catalog import Catalog, Index, Table


@dataclass
class Context:
    """One table, the proposed partition column, and what the checks may look at."""

    table: Table
    column: str
    catalog: Catalog
    uses: list[ClassUse] = field(default_factory=list)
    scheme: Scheme | None = None


@dataclass
class KeyChange:
    """A unique key (or the primary key) that must take the partition column."""

    index: Index
    columns: list[str]
    #: what no longer holds, in words
    lost: str
    #: classes (ids) and foreign keys that relied on the old uniqueness
    relied_on: list[str] = field(default_factory=list)


@dataclass
class Check:
    """The outcome of one check."""

    name: str
    status: str  # ok | warns | changes | blocks
    reason: str
    changes: list[KeyChange] = field(default_factory=list)


def check_engine(ctx: Context) -> Check:
    """Only InnoDB (and NDB) tables partition natively on MySQL 8; MariaDB adds MyISAM/Aria.

    >>> from dbtune.catalog import Catalog
    >>> c = Catalog.from_ddl("CREATE TABLE m (at DATE NOT NULL) ENGINE=MEMORY")
    >>> check_engine(Context(c.tables["m"], "at", c)).status
    'blocks'
    """
    engine = (ctx.table.engine or "InnoDB").lower()
    allowed = {"innodb", "ndb", "ndbcluster"} | (
        {"myisam", "aria"} if ctx.table.flavour == "mariadb" else set())
    if engine in allowed:
        return Check("engine", "ok", f"engine {ctx.table.engine or 'InnoDB'} supports partitioning")
    return Check("engine", "blocks", f"engine {ctx.table.engine} does not support partitioning "
                 f"on {ctx.table.flavour}")


def check_foreign_keys(ctx: Context) -> Check:
    """InnoDB: a partitioned table has no foreign keys, and none may reference it.

    >>> from dbtune.catalog import Catalog
    >>> c = Catalog.from_ddl("CREATE TABLE p (id INT PRIMARY KEY); CREATE TABLE k (id INT "
    ...     "PRIMARY KEY, at DATE NOT NULL, p INT, FOREIGN KEY fk (p) REFERENCES p (id))")
    >>> check_foreign_keys(Context(c.tables["p"], "id", c)).reason
    'foreign key k.fk references it: InnoDB does not partition tables with foreign keys'
    """
    table = ctx.table
    own = [f"{fk.name} ({', '.join(fk.columns)}) -> {fk.ref_table}" for fk in table.foreign_keys]
    refs = [f"{other.name}.{fk.name}" for other in ctx.catalog.tables.values()
            for fk in other.foreign_keys if fk.ref_table.lower() == table.name.lower()
            and (fk.ref_schema or table.schema) == table.schema and other is not table]
    if not (own or refs) or not table.is_innodb:
        return Check("foreign_keys", "ok", "no foreign keys to or from the table")
    parts = ([f"it has foreign key {', '.join(own)}"] if own else []) + (
        [f"foreign key {', '.join(refs)} references it"] if refs else [])
    return Check("foreign_keys", "blocks",
                 f"{'; '.join(parts)}: InnoDB does not partition tables with foreign keys")


def check_fulltext_spatial(ctx: Context) -> Check:
    """Partitioned tables take no FULLTEXT index and (InnoDB) no SPATIAL index."""
    found = [f"{i.kind} {i.name}" for i in ctx.table.indexes if i.kind in ("FULLTEXT", "SPATIAL")]
    if not found:
        return Check("fulltext_spatial", "ok", "no FULLTEXT or SPATIAL index")
    return Check("fulltext_spatial", "blocks", f"{', '.join(found)}: partitioned tables do not "
                 "support FULLTEXT or SPATIAL indexes")


def check_column_type(ctx: Context) -> Check:
    """The column must be a date, datetime, timestamp or integer."""
    col = ctx.table.column(ctx.column)
    base = col.type.split("(")[0] if col else ""
    if col is not None and (base in TEMPORAL or INTEGER.match(col.type)):
        return Check("column_type", "ok", f"{col.name} is {col.type}")
    what = col.type if col else "missing"
    return Check("column_type", "blocks", f"column {ctx.column} is {what}: RANGE partitioning "
                 "takes a date, datetime, timestamp or integer column")


def check_nullable(ctx: Context) -> Check:
    """A NULL in a RANGE column goes to the lowest partition: say where, and what it costs.

    >>> from dbtune.catalog import Catalog
    >>> c = Catalog.from_ddl("CREATE TABLE n (id INT PRIMARY KEY, at DATETIME NULL)")
    >>> check_nullable(Context(c.tables["n"], "at", c)).status
    'warns'
    """
    col = ctx.table.column(ctx.column)
    if col is None or not col.nullable:
        return Check("nullable", "ok", f"{ctx.column} is NOT NULL")
    if ctx.table.primary_key and col.name.lower() not in {c.lower() for c in
                                                          ctx.table.primary_key}:
        return Check("nullable", "warns", f"{col.name} is NULLable and joins the PRIMARY KEY, "
                     f"which makes it NOT NULL: the ALTER fails while any row holds NULL "
                     f"(give those rows a value first: SELECT COUNT(*) ... WHERE {col.name} IS "
                     "NULL)")
    return Check("nullable", "warns", f"{col.name} is NULLable: RANGE puts NULL rows in the "
                 "first partition (p_start), which is then not empty, every `IS NULL` query reads "
                 "it, and retention never drops them; make the column NOT NULL if no row is NULL")


def check_unique_keys(ctx: Context) -> Check:
    """Every unique key, the primary key included, must contain the partition column."""
    table, col = ctx.table, ctx.table.column(ctx.column)
    name = col.name if col else ctx.column
    changes = []
    for index in table.indexes:
        if not (index.unique or index.primary):
            continue
        if any(c.lower() == name.lower() for c in index.columns):
            continue
        old = ", ".join(index.columns)
        what = "PRIMARY KEY" if index.primary else f"UNIQUE {index.name}"
        relied = [u.class_id for u in ctx.uses
                  if u.upsert or (u.kind == "select" and {c.lower() for c in index.columns}
                                  <= {e.lower() for e in u.equality})]
        relied += [f"foreign key {o.name}.{fk.name}" for o in ctx.catalog.tables.values()
                   for fk in o.foreign_keys if fk.ref_table.lower() == table.name.lower()
                   and {c.lower() for c in fk.ref_columns} == {c.lower() for c in index.columns}]
        changes.append(KeyChange(index, [*index.columns, name],
                                 f"{what} ({old}) becomes ({old}, {name}): ({old}) alone is no "
                                 "longer unique, two rows may share it in different partitions",
                                 relied))
    if not changes:
        return Check("unique_keys", "ok", f"every unique key contains {name}")
    return Check("unique_keys", "changes", "; ".join(c.lost for c in changes), changes)


def check_partition_count(ctx: Context) -> Check:
    """At most 8192 partitions; many more than ~50 live ones cost every unpruned statement."""
    n = ctx.scheme.partition_count if ctx.scheme else 0
    if n > PARTITION_LIMIT:
        return Check("partition_count", "blocks",
                     f"{n} partitions exceed the server's limit of {PARTITION_LIMIT}")
    if n > 60:
        return Check("partition_count", "warns", f"{n} partitions at first (the maintenance "
                     "drops the expired ones); above ~50 every unpruned statement pays for each")
    return Check("partition_count", "ok", f"{n} partitions (limit {PARTITION_LIMIT})")


#: Every check, in report order.
CHECKS: list[Callable[[Context], Check]] = [
    check_engine, check_column_type, check_foreign_keys, check_fulltext_spatial,
    check_unique_keys, check_nullable, check_partition_count,
]


def run_checks(ctx: Context) -> list[Check]:
    """Every check of :data:`CHECKS` on ``ctx``."""
    return [check(ctx) for check in CHECKS]
