"""The catalog's objects: Catalog, Table, Column, Index, ForeignKey, Partitioning.

The same objects come out of :meth:`Catalog.from_ddl` (:mod:`dbtune.catalog.ddl`) and
:meth:`Catalog.from_server` (:mod:`dbtune.catalog.server`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from dbtune.catalog.sizes import PAGE_FILL, estimate_entry_bytes
from dbtune.catalog.sqltext import quote, safe_expression
from dbtune.model import InputError


@dataclass
class Column:
    """One column: normalised type (``varchar(64)``, ``bigint unsigned``), nullability, NDV."""

    name: str
    type: str
    nullable: bool = True
    ndv: int | None = None
    #: cumulative value distribution from the server's statistics (MariaDB column_stats,
    #: MySQL histograms): ``(value, fraction of rows <= value)`` on the axis of
    #: :func:`dbtune.catalog.histogram.axis_value`; empty when not known
    distribution: tuple[tuple[float, float], ...] = ()
    #: generation expression of a generated column (SQL), else None
    generated: str | None = None
    stored: bool = False


@dataclass
class Index:
    """One index. ``columns[i]`` is a column name, or an expression's SQL for a functional part."""

    name: str
    columns: list[str]
    prefix_lengths: list[int | None] = field(default_factory=list)
    unique: bool = False
    primary: bool = False
    visible: bool = True
    kind: str = "BTREE"  # BTREE | FULLTEXT | SPATIAL | HASH
    descending: list[bool] = field(default_factory=list)
    #: positions of functional key parts (``KEY k ((a + b))``)
    expressions: list[bool] = field(default_factory=list)
    #: size in bytes: measured (``bytes_measured``) or estimated; None when rows are unknown
    bytes: int | None = None
    bytes_measured: bool = False
    #: server statistics: cardinality of the full key (None from DDL)
    cardinality: int | None = None

    def __post_init__(self) -> None:
        n = len(self.columns)
        self.prefix_lengths = list(self.prefix_lengths) or [None] * n
        self.descending = list(self.descending) or [False] * n
        self.expressions = list(self.expressions) or [False] * n

    @property
    def key(self) -> tuple:
        """What makes two indexes equal for lookups: kind, parts, prefix lengths, directions."""
        parts = tuple(
            (c.lower(), p, d)
            for c, p, d in zip(self.columns, self.prefix_lengths, self.descending, strict=True)
        )
        if self.kind == "FULLTEXT":
            parts = tuple(sorted(parts))
        return (self.kind, parts)

    def serves(self, columns: list[str]) -> bool:
        """True if a foreign key on ``columns`` can use this index: they lead it, unprefixed."""
        n = len(columns)
        return (
            self.kind == "BTREE"
            and len(self.columns) >= n
            and [c.lower() for c in self.columns[:n]] == [c.lower() for c in columns]
            and all(p is None for p in self.prefix_lengths[:n])
            and not any(self.expressions[:n])
        )

    def parts_sql(self) -> str:
        """The parenthesised key-part list, identifiers quoted by sqlglot."""
        out = []
        for col, prefix, desc, is_expr in zip(
            self.columns, self.prefix_lengths, self.descending, self.expressions, strict=True
        ):
            part = f"({safe_expression(col)})" if is_expr else quote(col)
            if prefix is not None:
                part += f"({int(prefix)})"
            if desc:
                part += " DESC"
            out.append(part)
        return "(" + ", ".join(out) + ")"

    def to_ddl(self, flavour: str = "mysql") -> str:
        """The index definition as used in CREATE/ALTER TABLE, e.g. ``UNIQUE INDEX `k` (`a`)``.

        An invisible index is written ``INVISIBLE`` (MySQL) or ``IGNORED`` (``mariadb``).
        """
        if self.primary:
            return f"PRIMARY KEY {self.parts_sql()}"
        head = {"FULLTEXT": "FULLTEXT INDEX", "SPATIAL": "SPATIAL INDEX"}.get(self.kind, "INDEX")
        if self.unique:
            head = "UNIQUE INDEX"
        ddl = f"{head} {quote(self.name)} {self.parts_sql()}"
        if self.kind == "HASH":
            ddl += " USING HASH"
        if not self.visible:
            ddl += " IGNORED" if flavour == "mariadb" else " INVISIBLE"
        return ddl


@dataclass
class ForeignKey:
    """A foreign key constraint of the child table it belongs to."""

    name: str
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    ref_schema: str | None = None
    #: the index name written in ``FOREIGN KEY name (...)``, if any
    index_name: str | None = None
    #: ON DELETE / ON UPDATE actions ("CASCADE", "SET NULL", ...); None: the default
    on_delete: str | None = None
    on_update: str | None = None

    @property
    def rules(self) -> tuple[str, str]:
        """(ON DELETE, ON UPDATE) with the defaults spelled out (RESTRICT = NO ACTION)."""
        def norm(rule: str | None) -> str:
            return "RESTRICT" if rule is None or rule.upper() == "NO ACTION" else rule.upper()
        return norm(self.on_delete), norm(self.on_update)

    @property
    def key(self) -> tuple:
        """What makes two foreign keys the same constraint: columns, referenced table and
        columns, actions."""
        return (tuple(c.lower() for c in self.columns), (self.ref_schema or "").lower(),
                self.ref_table.lower(), tuple(c.lower() for c in self.ref_columns), self.rules)

    def to_ddl(self) -> str:
        """``CONSTRAINT `n` FOREIGN KEY (`a`) REFERENCES `s`.`t` (`id`) [ON DELETE ..]``."""
        ref = (f"{quote(self.ref_schema)}.{quote(self.ref_table)}" if self.ref_schema
               else quote(self.ref_table))
        ddl = (f"CONSTRAINT {quote(self.name)} FOREIGN KEY "
               f"({', '.join(quote(c) for c in self.columns)}) REFERENCES {ref} "
               f"({', '.join(quote(c) for c in self.ref_columns)})")
        for word, rule in (("DELETE", self.on_delete), ("UPDATE", self.on_update)):
            if rule and rule.upper() in FK_ACTIONS:
                ddl += f" ON {word} {rule.upper()}"
        return ddl


#: the referential actions a foreign key may name
FK_ACTIONS = ("RESTRICT", "CASCADE", "SET NULL", "NO ACTION", "SET DEFAULT")


@dataclass
class Partitioning:
    """PARTITION BY: kind (``RANGE``, ``RANGE COLUMNS``, ``HASH``, ``KEY``...), expression."""

    kind: str
    expression: str
    columns: list[str] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)


@dataclass
class Table:
    """One table with its columns (in order), indexes, foreign keys and sizes."""

    name: str
    schema: str | None = None
    columns: dict[str, Column] = field(default_factory=dict)
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    partitioning: Partitioning | None = None
    rows: int | None = None
    data_bytes: int | None = None
    index_bytes: int | None = None
    engine: str | None = None
    comment: str | None = None
    #: "mysql" or "mariadb": which dialect generated DDL should use
    flavour: str = "mysql"

    @property
    def qualified_name(self) -> str:
        """``schema.table`` (unquoted) or just ``table``."""
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def sql_name(self) -> str:
        """The table name quoted by sqlglot, schema-qualified when known."""
        return f"{quote(self.schema)}.{quote(self.name)}" if self.schema else quote(self.name)

    def column(self, name: str) -> Column | None:
        """The column of that name (case-insensitive, as MySQL compares column names)."""
        if name in self.columns:
            return self.columns[name]
        lowered = name.lower()
        return next((c for n, c in self.columns.items() if n.lower() == lowered), None)

    def index(self, name: str) -> Index | None:
        """The index of that name (case-insensitive)."""
        return next((i for i in self.indexes if i.name.lower() == name.lower()), None)

    @property
    def primary_key(self) -> list[str]:
        """The PRIMARY KEY columns, or [] when the table has none."""
        pk = next((i for i in self.indexes if i.primary), None)
        return list(pk.columns) if pk else []

    @property
    def clustered_index(self) -> Index | None:
        """InnoDB's clustered index: the PRIMARY KEY, else the first UNIQUE NOT NULL index."""
        pk = next((i for i in self.indexes if i.primary), None)
        if pk or not self.is_innodb:
            return pk
        for idx in self.indexes:
            cols = [self.column(c) for c in idx.columns]
            if (
                idx.unique
                and idx.kind == "BTREE"
                and not any(idx.expressions)
                and all(p is None for p in idx.prefix_lengths)
                and all(c is not None and not c.nullable for c in cols)
            ):
                return idx
        return None

    @property
    def is_innodb(self) -> bool:
        """True for InnoDB tables (and when the engine is not stated: the default)."""
        return self.engine is None or self.engine.lower() == "innodb"

    def estimate_bytes(self, index: Index) -> int | None:
        """Estimated size of an index from row count and column types (None without rows)."""
        if self.rows is None:
            return None
        if index is self.clustered_index and self.data_bytes:
            return self.data_bytes
        return math.ceil(self.rows * estimate_entry_bytes(self, index) / PAGE_FILL)

    def finish(self, measured: dict[str, int] | None = None) -> None:
        """Fill :attr:`Index.bytes` from measured sizes (by index name) or the estimate."""
        measured = measured or {}
        for idx in self.indexes:
            if idx.name in measured:
                idx.bytes, idx.bytes_measured = measured[idx.name], True
            else:
                idx.bytes, idx.bytes_measured = self.estimate_bytes(idx), False


@dataclass
class Catalog:
    """Tables by name. Keys are bare table names; a name seen in two schemas is qualified."""

    tables: dict[str, Table] = field(default_factory=dict)

    def add(self, table: Table) -> None:
        """Add (or replace) a table under its bare name, or ``schema.name`` on a clash."""
        existing = self.tables.get(table.name)
        if existing is not None and existing.schema != table.schema:
            self.tables[table.qualified_name] = table
        else:
            self.tables[table.name] = table

    def table(self, name: str) -> Table | None:
        """Look a table up by ``name`` or ``schema.name`` (backticks allowed, case-insensitive
        as a fallback)."""
        if name in self.tables:
            return self.tables[name]
        if "`" in name:
            try:
                node = exp.to_table(name, dialect="mysql")
            except (ParseError, TokenError):
                return None
            schema, bare = node.db, node.name
        else:
            schema, _, bare = name.rpartition(".")
        candidates = [
            t
            for t in self.tables.values()
            if t.name.lower() == bare.lower()
            and (not schema or (t.schema or "").lower() == schema.lower())
        ]
        exact = [t for t in candidates if t.name == bare]
        if len(exact) == 1:
            return exact[0]
        return candidates[0] if len(candidates) == 1 else None

    def column_type(self, table: str, column: str) -> str | None:
        """The normalised type of ``table.column`` (e.g. ``int unsigned``), or None."""
        tbl = self.table(table)
        col = tbl.column(column) if tbl else None
        return col.type if col else None

    @classmethod
    def from_ddl(
        cls,
        path_or_text: str | Path,
        *,
        rows: dict[str, int] | None = None,
        flavour: str | None = None,
    ) -> Catalog:
        """Parse CREATE TABLE / CREATE INDEX / ALTER TABLE statements (a file path or text).

        ``rows`` (table name -> row count) enables size estimates. ``flavour`` ("mysql" or
        "mariadb", the dialect of generated DDL) defaults to "mariadb" for a MariaDB dump or
        DDL using IGNORED / PERSISTENT, else "mysql". Raises InputError with file:line and
        the start of the statement when a statement does not parse.
        """
        from dbtune.catalog.ddl import parse_ddl, read_source  # ddl.py builds on this module

        source, text = read_source(path_or_text)
        if flavour is None:
            mariadb = re.search(r"MariaDB dump|\bIGNORED\b|\bPERSISTENT\b", text, re.I)
            flavour = "mariadb" if mariadb else "mysql"
        catalog = cls()
        for table in parse_ddl(text, source):
            table.flavour = flavour
            catalog.add(table)
        for tbl in catalog.tables.values():
            tbl.finish()
        catalog.set_rows(rows or {}, source)
        return catalog

    def set_rows(self, rows: dict[str, int], source: str = "row counts") -> None:
        """Give tables their row counts (``name`` or ``schema.name`` -> rows) and estimate
        their index sizes from them. Raises InputError naming ``source`` for an unknown
        table."""
        for name, count in rows.items():
            tbl = self.table(name)
            if tbl is None:
                raise InputError(f"{source}: row count given for unknown table {name!r}")
            tbl.rows = count
            tbl.finish({i.name: i.bytes for i in tbl.indexes if i.bytes_measured})

    @classmethod
    def from_server(cls, connection, database: str) -> Catalog:
        """Read one schema from information_schema (read-only); vanished tables are skipped."""
        from dbtune.catalog.server import read_catalog  # server.py builds on this module

        catalog = cls()
        for table in read_catalog(connection, database):
            catalog.add(table)
        return catalog
