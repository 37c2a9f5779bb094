"""The Catalog: tables, columns, indexes and statistics, from DDL or from a live server.

The same objects come out of :meth:`Catalog.from_ddl` (a schema dump parsed with sqlglot,
MySQL dialect) and :meth:`Catalog.from_server` (read-only queries on information_schema).

>>> cat = Catalog.from_ddl("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(20), KEY ka (a(8)))")
>>> cat.column_type("t", "a"), cat.tables["t"].indexes[1].to_ddl()
('varchar(20)', 'INDEX `ka` (`a`(8))')

Index sizes (:attr:`Index.bytes`) are measured where the server says so
(``mysql.innodb_index_stats``), otherwise estimated, see :func:`estimate_entry_bytes`.

Modules: :mod:`~dbtune.catalog.model` (the objects), :mod:`~dbtune.catalog.ddl` (DDL text),
:mod:`~dbtune.catalog.server` (information_schema, :func:`load_catalog`),
:mod:`~dbtune.catalog.sizes` (size estimates), :mod:`~dbtune.catalog.sqltext` (quoting and
normalising), :mod:`~dbtune.catalog.statements` (:func:`split_statements`).
"""

from dbtune.catalog.ddl import parse_ddl
from dbtune.catalog.model import Catalog, Column, ForeignKey, Index, Partitioning, Table
from dbtune.catalog.server import assemble, load_catalog, read_catalog
from dbtune.catalog.sizes import (
    CLUSTERED_OVERHEAD,
    PAGE_FILL,
    ROW_ID_BYTES,
    SECONDARY_OVERHEAD,
    estimate_entry_bytes,
    type_width,
)
from dbtune.catalog.sqltext import expression_list, normalize_type, partition_expression, quote
from dbtune.catalog.statements import split_statements
from dbtune.model import InputError

__all__ = [
    "CLUSTERED_OVERHEAD",
    "PAGE_FILL",
    "ROW_ID_BYTES",
    "SECONDARY_OVERHEAD",
    "Catalog",
    "Column",
    "ForeignKey",
    "Index",
    "InputError",
    "Partitioning",
    "Table",
    "assemble",
    "estimate_entry_bytes",
    "expression_list",
    "load_catalog",
    "normalize_type",
    "parse_ddl",
    "partition_expression",
    "quote",
    "read_catalog",
    "split_statements",
    "type_width",
]
