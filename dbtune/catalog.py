"""The Catalog: tables, columns, indexes and statistics, from DDL or from a live server.

The same objects come out of :meth:`Catalog.from_ddl` (a schema dump parsed with sqlglot,
MySQL dialect) and :meth:`Catalog.from_server` (read-only queries on information_schema).

>>> cat = Catalog.from_ddl("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(20), KEY ka (a(8)))")
>>> cat.column_type("t", "a"), cat.tables["t"].indexes[1].to_ddl()
('varchar(20)', 'INDEX `ka` (`a`(8))')

Index sizes (:attr:`Index.bytes`) are measured where the server says so
(``mysql.innodb_index_stats``), otherwise estimated, see :func:`estimate_entry_bytes`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from dbtune.model import InputError

__all__ = [
    "Catalog",
    "Column",
    "ForeignKey",
    "Index",
    "InputError",
    "Partitioning",
    "Table",
    "estimate_entry_bytes",
    "load_catalog",
    "split_statements",
    "quote",
    "type_width",
]

#: Average fill of InnoDB B-tree pages under random inserts (pages split at 50%, fill to 100%).
PAGE_FILL = 0.7
#: Per-entry overhead of an InnoDB secondary index record: 5-byte header + ~2 bytes directory.
SECONDARY_OVERHEAD = 7
#: Per-row overhead of a clustered index record: header 5 + DB_TRX_ID 6 + DB_ROLL_PTR 7.
CLUSTERED_OVERHEAD = 18
#: Width of the hidden row id InnoDB uses as clustered key when a table has none.
ROW_ID_BYTES = 6


def quote(name: str) -> str:
    """An identifier quoted by sqlglot for MySQL: backticks, inner backticks doubled."""
    return exp.to_identifier(name, quoted=True).sql("mysql")


@dataclass
class Column:
    """One column: normalised type (``varchar(64)``, ``bigint unsigned``), nullability, NDV."""

    name: str
    type: str
    nullable: bool = True
    ndv: int | None = None
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
            part = f"({_safe_expression(col)})" if is_expr else quote(col)
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
        source, text = _read_source(path_or_text)
        if flavour is None:
            mariadb = re.search(r"MariaDB dump|\bIGNORED\b|\bPERSISTENT\b", text, re.I)
            flavour = "mariadb" if mariadb else "mysql"
        catalog = cls()
        for table in parse_ddl(text, source):
            table.flavour = flavour
            catalog.add(table)
        for name, count in (rows or {}).items():
            tbl = catalog.table(name)
            if tbl is None:
                raise InputError(f"{source}: row count given for unknown table {name!r}")
            tbl.rows = count
        for tbl in catalog.tables.values():
            tbl.finish()
        return catalog

    @classmethod
    def from_server(cls, connection, database: str) -> Catalog:
        """Read one schema from information_schema (read-only); vanished tables are skipped."""
        catalog = cls()
        for table in read_catalog(connection, database):
            catalog.add(table)
        return catalog


def load_catalog(
    schemas: list[str | Path] | tuple = (),
    *,
    dsn: str | None = None,
    database: str | None = None,
    defaults_file: str | None = None,
) -> Catalog:
    """A catalog from DDL files (merged in order) or from ``database`` on the server at ``dsn``.

    The server is only read. Raises InputError (bad DDL, no database) or SandboxError
    (bad DSN, cannot connect), each with a one-line message.
    """
    if dsn is None and not schemas:
        raise InputError("give DDL files, or a DSN and a database")
    if schemas:
        catalog = Catalog()
        for path in schemas:
            for table in Catalog.from_ddl(Path(path)).tables.values():
                catalog.add(table)
        return catalog
    import pymysql

    from dbtune.sandbox.dsn import ConnectionSpec

    spec = ConnectionSpec.resolve(dsn, defaults_file=defaults_file)
    database = database or spec.database
    if not database:
        raise InputError(f"no database given for {spec.dsn()}: use --database")
    connection = spec.connect()
    try:
        catalog = Catalog.from_server(connection, database)
    except pymysql.err.MySQLError as exc:
        raise InputError(
            f"cannot read the catalog of {database!r} on {spec.dsn()}: {exc.args[-1]}"
        ) from None
    finally:
        connection.close()
    if not catalog.tables:
        raise InputError(f"database {database!r} on {spec.dsn()} has no tables")
    return catalog


def _read_source(path_or_text: str | Path) -> tuple[str, str]:
    if isinstance(path_or_text, Path) or (
        "\n" not in path_or_text and not re.search(r"\bCREATE\b|\bALTER\b", path_or_text, re.I)
    ):
        path = Path(path_or_text)
        try:
            return str(path), path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise InputError(f"{path}: cannot read DDL file: {exc.strerror}") from None
    return "<ddl>", path_or_text


def _safe_expression(sql: str) -> str:
    """Re-render a functional key part through sqlglot so it stays one expression."""
    try:
        return exp.maybe_parse(sql, dialect="mysql").sql("mysql")
    except Exception:  # noqa: BLE001 - an unparsable expression must never be emitted raw
        raise InputError(f"cannot re-create functional key part {sql[:60]!r}") from None


# ---------------------------------------------------------------------------------------------
# Size estimate
# ---------------------------------------------------------------------------------------------
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
    elif name in (
        "geometry",
        "point",
        "linestring",
        "polygon",
        "multipoint",
        "multilinestring",
        "multipolygon",
        "geometrycollection",
    ):
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


# ---------------------------------------------------------------------------------------------
# DDL (sqlglot, MySQL dialect). Statements other than CREATE TABLE / CREATE INDEX / ALTER TABLE /
# DROP TABLE / USE are skipped, so a whole mysqldump can be read. A few MariaDB and
# SHOW CREATE TABLE forms sqlglot lacks are rewritten first (IGNORED, PERSISTENT, SRID, and
# PARTITION BY, which is parsed here).
# ---------------------------------------------------------------------------------------------
_DIALECT = MySQL()
_VERSIONED_COMMENT = re.compile(r"/\*M?!\d*(.*?)\*/", re.S)
_INT_TYPES = {
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.UTINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.USMALLINT,
    exp.DataType.Type.MEDIUMINT,
    exp.DataType.Type.UMEDIUMINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.UINT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.UBIGINT,
}
_T = TokenType
#: spatial column types sqlglot does not know: read as GEOMETRY, the type name kept
_SPATIAL_SUBTYPES = {
    "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
}  # fmt: skip


def normalize_type(type_sql: str | exp.DataType) -> str:
    """A column type as dbtune writes it: lower case, no integer display width.

    ``INT(11) UNSIGNED`` -> ``int unsigned``; ``ENUM('A','b')`` -> ``enum('A', 'b')``.
    """
    if isinstance(type_sql, exp.DataType):
        dtype = type_sql.copy()
    else:
        try:
            dtype = exp.DataType.build(type_sql, dialect="mysql")
        except (ParseError, TokenError, ValueError):
            return type_sql.strip().lower()
    if dtype.this in _INT_TYPES:
        dtype.set("expressions", [])
    rendered = dtype.sql("mysql")
    head, paren, tail = rendered.partition("(")
    return head.lower() + paren + (tail if "'" in tail else tail.lower())


def _sql(node: exp.Expression) -> str:
    """Canonical SQL of an expression: every identifier quoted, so DDL and server agree."""
    if isinstance(node, exp.Paren):
        node = node.this
    return node.sql("mysql", identify=True)


def expression_list(sql: str) -> tuple[str, list[str]]:
    """Canonical SQL of a comma-separated expression list (through sqlglot) and its columns."""
    if not sql.strip():
        return "", []
    try:
        select = _DIALECT.parse(f"SELECT {sql}")[0]
    except (ParseError, TokenError):
        raise ValueError(f"cannot parse expression {sql[:60]!r}") from None
    columns: list[str] = []
    for col in select.find_all(exp.Column):
        if col.name not in columns:
            columns.append(col.name)
    return ", ".join(_sql(e) for e in select.expressions), columns


def partition_expression(sql: str) -> tuple[str, list[str]]:
    """A PARTITION BY expression as written, normalised token by token, and its columns.

    ``to_days(`created_at`)`` and ``TO_DAYS(created_at)`` both give ``TO_DAYS(`created_at`)``
    (sqlglot would rewrite TO_DAYS into DATEDIFF, which no DBA wrote).
    """
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError:
        raise ValueError(f"cannot parse expression {sql[:60]!r}") from None
    out, columns = [], []
    for i, tok in enumerate(tokens):
        called = i + 1 < len(tokens) and tokens[i + 1].token_type == _T.L_PAREN
        if tok.token_type == _T.STRING:
            out.append("'" + tok.text.replace("'", "''") + "'")
        elif tok.token_type in (_T.VAR, _T.IDENTIFIER) and not called:
            out.append(quote(tok.text))
            if tok.text not in columns:
                columns.append(tok.text)
        elif tok.token_type == _T.SEMICOLON:
            raise ValueError(f"cannot parse expression {sql[:60]!r}")
        else:
            out.append(tok.text.upper())
    text = " ".join(out).replace("( ", "(").replace(" )", ")").replace(" ,", ",")
    return re.sub(r"(\w) \(", r"\1(", text), columns


#: what a semicolon can hide in: quoted strings and identifiers, comments
_SKIP_OR_SEMICOLON = re.compile(
    r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|--(?=\s|$)[^\n]*|#[^\n]*|/\*.*?\*/|;""",
    re.S | re.M,
)
_LEADING_NOISE = re.compile(r"(?:\s+|--(?=\s|$)[^\n]*|#[^\n]*|/\*.*?\*/)*", re.S | re.M)
_DDL_VERBS = ("CREATE", "ALTER", "DROP", "USE")
#: an ALTER TABLE sqlglot cannot parse is skipped unless it holds one of these words
_SCHEMA_CHANGING = {
    "ADD", "DROP", "CHANGE", "MODIFY", "RENAME", "INDEX", "KEY", "UNIQUE", "PRIMARY", "FOREIGN",
    "FULLTEXT", "SPATIAL", "CONSTRAINT", "COLUMN",
}  # fmt: skip


def _statement_spans(text: str) -> list[tuple[int, str]]:
    """(line, text) of each statement, leading comments stripped; a fast scan with one regex
    (a dump's INSERT data is never tokenised)."""
    out, start, line = [], 0, 1
    bounds = [m.start() for m in _SKIP_OR_SEMICOLON.finditer(text) if m.group() == ";"]
    for stop in [*bounds, len(text)]:
        begin = _LEADING_NOISE.match(text, start, stop).end()
        if begin < stop:
            line += text.count("\n", start, begin)
            out.append((line, text[begin:stop].rstrip()))
            line += text.count("\n", begin, stop)
        else:
            line += text.count("\n", start, stop)
        start = stop + 1
    return out


def _open_versioned_comments(text: str) -> str:
    """``/*!50100 PARTITION BY ... */`` -> its content (the server runs it), offsets kept."""

    def opened(m: re.Match) -> str:
        if m.group(1).startswith("\\"):  # /*M!999999\- enable the sandbox mode */
            return re.sub(r"[^\n]", " ", m.group())
        return " " * (m.start(1) - m.start()) + m.group(1) + "  "

    return _VERSIONED_COMMENT.sub(opened, text)


def split_statements(text: str) -> list[tuple[int, str]]:
    """(line, statement) for each statement of a script; quotes and comments respected."""
    return _statement_spans(_open_versioned_comments(text))


def parse_ddl(text: str, source: str = "<ddl>") -> list[Table]:
    """The tables a DDL script leaves behind, in creation order.

    Only CREATE / ALTER / DROP / USE statements are tokenised and parsed.
    """
    reader = _DdlReader(source)
    for line, statement in split_statements(text):
        if statement[:6].upper().startswith(_DDL_VERBS):
            try:
                tokens = _DIALECT.tokenize(statement)
            except TokenError as exc:
                start = " ".join(statement.split())[:60]
                raise InputError(
                    f"{source}:{line}: cannot tokenize DDL ({_first_line(exc)}) in statement "
                    f"{start!r}"
                ) from None
            if tokens:
                reader.statement(tokens, statement, line)
    return list(reader.tables.values())


def _closing(toks: list[Token], opening: int) -> int | None:
    """Index of the parenthesis closing the one at ``opening``."""
    depth = 0
    for i in range(opening, len(toks)):
        depth += (toks[i].token_type == _T.L_PAREN) - (toks[i].token_type == _T.R_PAREN)
        if depth == 0:
            return i
    return None


class _QuietCommandFallback(logging.Filter):
    """Hides sqlglot's "falling back to parsing as a Command" warning: dbtune reports it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


_QUIET = _QuietCommandFallback()


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or ["?"])[0][:200]


class _DdlReader:
    """Applies DDL statements one by one to a dict of tables."""

    def __init__(self, source: str) -> None:
        self.source, self.text, self.line = source, "", 1
        self.schema: str | None = None
        self.tables: dict[tuple[str, str], Table] = {}
        self.spatial_types: dict[str, str] = {}

    # -- dispatch ---------------------------------------------------------------------------
    def statement(self, toks: list[Token], text: str, line: int) -> None:
        """Apply one statement: its tokens, its text, the line it starts on."""
        self.text, self.line = text, line
        words = [t.text.upper() for t in toks[:5]]
        if words[0] == "USE" and len(toks) > 1:
            self.schema = toks[1].text
        elif words[0] == "CREATE" and "TABLE" in words[1:3]:
            self._create_table(toks)
        elif words[0] == "CREATE" and "INDEX" in words[1:4]:
            self._create_index(toks)
        elif words[0] == "ALTER" and "TABLE" in words[1:4]:
            try:
                tree = self._parse(toks, self._render(toks))
            except InputError:
                words = {t.text.upper() for t in toks if t.token_type != _T.STRING}
                if words & _SCHEMA_CHANGING:
                    raise
                return  # e.g. mysqldump's ALTER TABLE t DISABLE KEYS: nothing we model
            self._alter(tree, toks)
        elif words[0] == "DROP" and "TABLE" in words[1:3]:
            tree = self._parse(toks, self._render(toks))
            for node in tree.find_all(exp.Table):
                self.tables.pop(self._key(node), None)

    # -- parsing helpers --------------------------------------------------------------------
    def _fail(self, toks: list[Token], why: str) -> InputError:
        start = " ".join(self.text[toks[0].start : toks[-1].end + 1].split())[:60]
        line = self.line + toks[0].line - 1
        return InputError(f"{self.source}:{line}: {why} in statement {start!r}")

    def _parse(self, toks: list[Token], sql: str) -> exp.Expression:
        logger = logging.getLogger("sqlglot")
        logger.addFilter(_QUIET)
        try:
            tree = sqlglot.parse_one(sql, read=_DIALECT)
        except (ParseError, TokenError) as exc:
            errors = getattr(exc, "errors", None) or [{}]
            why = errors[0].get("description") or _first_line(exc)
            raise self._fail(toks, f"cannot parse DDL ({why})") from None
        finally:
            logger.removeFilter(_QUIET)
        if tree is None or isinstance(tree, exp.Command):
            raise self._fail(toks, "unsupported DDL syntax")
        return tree

    def _render(self, toks: list[Token], *, stop: int | None = None) -> str:
        """Statement text with MariaDB-only words rewritten; ``stop``: token index to end at."""
        end = toks[stop - 1].end + 1 if stop else toks[-1].end + 1
        out, pos = [], toks[0].start
        for start, stop_at, replacement in self._fixups(toks):
            if start >= end:
                break
            out += [self.text[pos:start], replacement]
            pos = stop_at
        out.append(self.text[pos:end])
        return "".join(out)

    def _fixups(self, toks: list[Token]) -> list[tuple[int, int, str]]:
        edits = []
        self.spatial_types: dict[str, str] = {}
        for i, tok in enumerate(toks):
            if tok.token_type in (_T.IDENTIFIER, _T.STRING):
                continue
            word = tok.text.upper()
            prev = toks[i - 1] if i else None
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if word == "IGNORED" and prev and prev.token_type not in (_T.COMMA, _T.L_PAREN):
                if prev.text.upper() == "NOT":
                    edits.append((prev.start, tok.end + 1, "VISIBLE"))
                else:
                    edits.append((tok.start, tok.end + 1, "INVISIBLE"))
            elif word == "PERSISTENT" and prev and prev.token_type == _T.R_PAREN:
                edits.append((tok.start, tok.end + 1, "STORED"))
            elif word == "SRID" and nxt and nxt.token_type == _T.NUMBER:
                edits.append((tok.start, nxt.end + 1, ""))
            elif (
                word in _SPATIAL_SUBTYPES
                and i > 1
                and toks[i - 2].token_type in (_T.COMMA, _T.L_PAREN)  # `name` POINT ...
            ):
                edits.append((tok.start, tok.end + 1, "GEOMETRY"))
                self.spatial_types[toks[i - 1].text.lower()] = word.lower()
        return edits

    def _key(self, node: exp.Table) -> tuple[str, str]:
        return ((node.db or self.schema or "").lower(), node.name.lower())

    # -- CREATE TABLE -----------------------------------------------------------------------
    def _create_table(self, toks: list[Token]) -> None:
        """The table body goes to sqlglot; table options after it are read here (ENGINE,
        COMMENT, PARTITION BY), so options sqlglot lacks (TABLESPACE, WITH SYSTEM
        VERSIONING, ...) cannot fail a statement."""
        opening = next((i for i, t in enumerate(toks) if t.token_type == _T.L_PAREN), None)
        head = {t.text.upper() for t in toks[: opening or len(toks)]}
        closing = _closing(toks, opening) if opening is not None else None
        if closing is None or head & {"LIKE", "AS", "SELECT"}:
            self._create_table_like(toks)
            return
        tree = self._parse(toks, self._render(toks, stop=closing + 1))
        node = tree.this.this
        table = Table(node.name, node.db or self.schema)
        options = toks[closing + 1 :]
        for i, tok in enumerate(options):
            word = tok.text.upper()
            nxt = options[i + 1] if i + 1 < len(options) else None
            value = options[i + 2] if nxt and nxt.text == "=" and i + 2 < len(options) else nxt
            if word == "ENGINE" and value is not None:
                table.engine = value.text
            elif word == "COMMENT" and value is not None and value.token_type == _T.STRING:
                table.comment = value.text
            elif tok.token_type == _T.PARTITION_BY or (word, nxt and nxt.text.upper()) == (
                "PARTITION",
                "BY",
            ):
                skip = 1 if tok.token_type == _T.PARTITION_BY else 2
                table.partitioning = self._partitioning(options[i + skip :], toks)
                break
        for element in tree.this.expressions:
            if isinstance(element, exp.ColumnDef):
                self._column(table, element)
            else:
                self._add_key(table, element, toks)
        _complete(table)
        self.tables[self._key(node)] = table

    def _create_table_like(self, toks: list[Token]) -> None:
        """CREATE TABLE ... LIKE copies a known table; CREATE TABLE ... AS SELECT is skipped."""
        tree = self._parse(toks, self._render(toks))
        like = tree.find(exp.LikeProperty)
        source = self.tables.get(self._key(like.this)) if like else None
        if source is not None and isinstance(tree.this, exp.Table):
            target = tree.this
            copy = Table(target.name, target.db or self.schema, **_clone(source))
            self.tables[self._key(target)] = copy

    def _column(self, table: Table, node: exp.ColumnDef) -> None:
        kind = node.args.get("kind")
        column = Column(node.name, normalize_type(kind) if kind else "unknown")
        column.type = self.spatial_types.get(node.name.lower(), column.type)
        for constraint in node.constraints:
            ckind = constraint.kind
            if isinstance(ckind, exp.NotNullColumnConstraint):
                column.nullable = bool(ckind.args.get("allow_null"))
            elif isinstance(ckind, exp.ComputedColumnConstraint):
                column.generated = _sql(ckind.this)
                column.stored = bool(ckind.args.get("persisted"))
            elif isinstance(ckind, exp.PrimaryKeyColumnConstraint):
                table.indexes.append(Index("PRIMARY", [node.name], unique=True, primary=True))
            elif isinstance(ckind, exp.UniqueColumnConstraint):
                name = _free_name(table, node.name)
                table.indexes.append(Index(name, [node.name], unique=True))
        table.columns[node.name] = column

    def _add_key(
        self, table: Table, node: exp.Expression, toks: list[Token], constraint: str | None = None
    ) -> None:
        if isinstance(node, exp.Constraint):
            for inner in node.expressions:
                self._add_key(table, inner, toks, node.name)
        elif isinstance(node, exp.PrimaryKey):
            table.indexes.append(_index("PRIMARY", node.expressions, unique=True, primary=True))
        elif isinstance(node, exp.IndexColumnConstraint):
            kind = (node.args.get("kind") or "BTREE").upper()
            name = node.name or constraint or _free_name(table, _part_name(node.expressions))
            table.indexes.append(
                _index(name, node.expressions, kind=kind, node=node, engine=table.engine)
            )
        elif isinstance(node, exp.UniqueColumnConstraint):
            schema = node.this
            parts = schema.expressions if isinstance(schema, exp.Schema) else []
            name = (schema.name if isinstance(schema, exp.Schema) else "") or constraint
            name = name or _free_name(table, _part_name(parts))
            table.indexes.append(_index(name, parts, unique=True, node=node, engine=table.engine))
        elif isinstance(node, exp.ForeignKey):
            ref = node.args.get("reference")
            ref_schema = ref.this if ref else None
            ref_table = ref_schema.this if isinstance(ref_schema, exp.Schema) else ref_schema
            # MariaDB and MySQL < 8.0.16 name an unnamed constraint after FOREIGN KEY's index name
            fk_name = constraint or node.name or f"{table.name}_ibfk_{len(table.foreign_keys) + 1}"
            table.foreign_keys.append(
                ForeignKey(
                    fk_name,
                    [e.name for e in node.expressions],
                    ref_table.name if ref_table is not None else "",
                    [e.name for e in ref_schema.expressions]
                    if isinstance(ref_schema, exp.Schema)
                    else [],
                    (ref_table.db or self.schema) if ref_table is not None else None,
                    node.name or None,
                )
            )

    def _partitioning(self, toks: list[Token], stmt: list[Token]) -> Partitioning:
        i, kind = 0, []
        while i < len(toks) and toks[i].token_type != _T.L_PAREN:
            if toks[i].text.upper() == "ALGORITHM":
                i += 3
                continue
            kind.append(toks[i].text.upper())
            i += 1
        j = _closing(toks, i) if i < len(toks) else None
        if j is None:
            raise self._fail(stmt, "cannot parse PARTITION BY")
        expression, columns = self._expression_list(
            self.text[toks[i].start + 1 : toks[j].start], stmt
        )
        names, count, depth = [], 0, 0
        rest = toks[j + 1 :]
        for k, tok in enumerate(rest):
            depth += (tok.token_type == _T.L_PAREN) - (tok.token_type == _T.R_PAREN)
            word = tok.text.upper()
            if depth == 1 and word == "PARTITION" and k + 1 < len(rest):
                names.append(rest[k + 1].text)
            elif depth == 0 and word == "PARTITIONS" and k + 1 < len(rest):
                count = int(rest[k + 1].text)
        names = names or [f"p{n}" for n in range(max(count, 1))]
        return Partitioning(" ".join(kind), expression, columns, names)

    def _expression_list(self, sql: str, stmt: list[Token]) -> tuple[str, list[str]]:
        try:
            return partition_expression(sql)
        except ValueError:
            raise self._fail(stmt, "cannot parse PARTITION BY expression") from None

    # -- CREATE INDEX / ALTER TABLE ---------------------------------------------------------
    def _create_index(self, toks: list[Token]) -> None:
        words = [t.text.upper() for t in toks]
        at_index = words.index("INDEX")
        kind = " ".join(w for w in words[1:at_index] if w in ("UNIQUE", "FULLTEXT", "SPATIAL"))
        if "ON" not in words or at_index + 1 >= len(toks):
            raise self._fail(toks, "cannot parse CREATE INDEX")
        at_on = words.index("ON")
        paren = next((i for i in range(at_on, len(toks)) if toks[i].token_type == _T.L_PAREN), None)
        if paren is None:
            raise self._fail(toks, "cannot parse CREATE INDEX")
        name = toks[at_index + 1]
        sql = (
            f"ALTER TABLE {self.text[toks[at_on + 1].start : toks[paren - 1].end + 1]} "
            f"ADD {kind} INDEX {self.text[name.start : name.end + 1]} " + self._render(toks[paren:])
        )
        self._alter(self._parse(toks, sql), toks)

    def _alter(self, tree: exp.Expression, toks: list[Token]) -> None:
        if not isinstance(tree, exp.Alter) or not isinstance(tree.this, exp.Table):
            return
        table = self.tables.get(self._key(tree.this))
        if table is None:
            raise self._fail(toks, f"ALTER of unknown table {tree.this.name!r}")
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.AddConstraint):
                for node in action.expressions:
                    self._add_key(table, node, toks)
            elif isinstance(action, exp.ColumnDef):
                self._column(table, action)
            elif isinstance(action, exp.DropPrimaryKey):
                table.indexes = [i for i in table.indexes if not i.primary]
            elif isinstance(action, exp.Drop):
                names = {t.name.lower() for t in action.args.get("tables") or []}
                kind = str(action.args.get("kind")).upper()
                if kind == "INDEX":
                    table.indexes = [i for i in table.indexes if i.name.lower() not in names]
                elif kind == "FOREIGN KEY":
                    table.foreign_keys = [
                        f for f in table.foreign_keys if f.name.lower() not in names
                    ]
                elif kind == "COLUMN":
                    for name in names:
                        _drop_column(table, name)
            elif isinstance(action, exp.RenameIndex) and table.index(action.name):
                table.index(action.name).name = action.args["to"].name
            elif isinstance(action, exp.AlterIndex) and table.index(action.name):
                table.index(action.name).visible = action.args.get("visible") is not False
            elif isinstance(action, exp.ModifyColumn):
                old = action.args.get("rename_from")
                if old is not None and old.name.lower() != action.this.name.lower():
                    _rename_column(table, old.name, action.this.name)
                self._column(table, action.this)
        _complete(table)


def _drop_column(table: Table, name: str) -> None:
    """ALTER TABLE ... DROP COLUMN: the column leaves every index; emptied indexes go."""
    column = table.column(name)
    if column is not None:
        del table.columns[column.name]
    for index in table.indexes:
        keep = [i for i, c in enumerate(index.columns)
                if index.expressions[i] or c.lower() != name.lower()]  # fmt: skip
        for attr in ("columns", "prefix_lengths", "descending", "expressions"):
            setattr(index, attr, [getattr(index, attr)[i] for i in keep])
    table.indexes = [i for i in table.indexes if i.columns]


def _rename_column(table: Table, old: str, new: str) -> None:
    """ALTER TABLE ... CHANGE old new: the position in the table and in indexes is kept."""
    table.columns = {(new if n.lower() == old.lower() else n): c for n, c in table.columns.items()}
    for index in table.indexes:
        index.columns = [
            new if not e and c.lower() == old.lower() else c
            for c, e in zip(index.columns, index.expressions, strict=True)
        ]


def _key_part(node: exp.Expression) -> tuple[str, int | None, bool, bool]:
    """(column or expression SQL, prefix length, descending, is expression)."""
    desc = False
    if isinstance(node, exp.Ordered):
        desc, node = bool(node.args.get("desc")), node.this
    if isinstance(node, exp.ColumnPrefix):
        return node.this.name, int(node.expression.name), desc, False
    if isinstance(node, (exp.Column, exp.Identifier)):
        return node.name, None, desc, False
    return _sql(node), None, desc, True


def _part_name(parts: list[exp.Expression]) -> str:
    if not parts:
        return "key"
    name, _, _, is_expr = _key_part(parts[0])
    return "functional_index" if is_expr else name


def _index(
    name: str,
    parts: list[exp.Expression],
    *,
    unique: bool = False,
    primary: bool = False,
    kind: str = "BTREE",
    node: exp.Expression | None = None,
    engine: str | None = None,
) -> Index:
    cols, prefixes, desc, exprs = (
        zip(*(_key_part(p) for p in parts), strict=True) if parts else ((), (), (), ())
    )
    options = node.args.get("options") or [] if node is not None else []
    visible = all(o.args.get("visible") is not False for o in options)
    using = str(node.args.get("index_type") or "") if node is not None else ""
    using = using or next((str(o.args["using"]) for o in options if o.args.get("using")), "")
    memory = (engine or "").upper() in ("MEMORY", "HEAP")
    if kind == "BTREE" and memory and using.upper() != "BTREE":
        kind = "HASH"
    return Index(
        name,
        list(cols),
        list(prefixes),
        unique or primary,
        primary,
        visible,
        kind,
        list(desc),
        list(exprs),
    )


def _free_name(table: Table, base: str) -> str:
    """MySQL's name for an unnamed index: the first column, then ``_2``, ``_3``..."""
    taken = {i.name.lower() for i in table.indexes}
    name, n = base, 2
    while name.lower() in taken or name.upper() == "PRIMARY":
        name, n = f"{base}_{n}", n + 1
    return name


def _complete(table: Table) -> None:
    """PRIMARY KEY columns are NOT NULL; a foreign key without a usable index gets one."""
    for col in table.primary_key:
        column = table.column(col)
        if column is not None:
            column.nullable = False
    for fk in table.foreign_keys:
        if not any(i.serves(fk.columns) for i in table.indexes):
            name = fk.name if not fk.name.startswith(f"{table.name}_ibfk_") else None
            table.indexes.append(
                Index(name or fk.index_name or _free_name(table, fk.columns[0]), list(fk.columns))
            )


def _clone(table: Table) -> dict:
    return {
        "columns": copy.deepcopy(table.columns),
        "indexes": copy.deepcopy(table.indexes),
        "partitioning": copy.deepcopy(table.partitioning),
        "engine": table.engine,
    }


# ---------------------------------------------------------------------------------------------
# Live server (information_schema, read-only)
# ---------------------------------------------------------------------------------------------
def read_catalog(connection, database: str) -> list[Table]:
    """The base tables of ``database`` with columns, indexes, FKs, partitions and statistics.

    Only SELECTs (and, on MySQL 8, ``information_schema_stats_expiry = 0`` for this session so
    row counts are fresh). A table listed but gone by the time its columns are read is skipped
    with a warning.
    """
    import pymysql

    def rows(sql: str, *args, optional: bool = False) -> list[dict]:
        try:
            with connection.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(sql, args)
                return [{k.upper(): v for k, v in r.items()} for r in cur.fetchall()]
        except (
            pymysql.err.OperationalError,
            pymysql.err.ProgrammingError,
            pymysql.err.InternalError,
        ):
            if optional:
                return []
            raise

    rows("SET SESSION information_schema_stats_expiry = 0", optional=True)
    version = rows("SELECT VERSION() AS V")[0]["V"]
    stat_cols = {
        r["COLUMN_NAME"].upper()
        for r in rows(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'STATISTICS'"
        )
    }
    extra = [c for c in ("IS_VISIBLE", "IGNORED", "EXPRESSION") if c in stat_cols]
    tables = rows(
        "SELECT TABLE_NAME, ENGINE, TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH, TABLE_COMMENT "
        "FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' "
        "ORDER BY TABLE_NAME",
        database,
    )
    columns = rows(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, EXTRA, GENERATION_EXPRESSION "
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
        "ORDER BY TABLE_NAME, ORDINAL_POSITION",
        database,
    )
    stats = rows(
        "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, NON_UNIQUE, "
        "CARDINALITY, INDEX_TYPE, COLLATION"
        + "".join(f", {c}" for c in extra)
        + " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s",
        database,
    )
    fks = rows(
        "SELECT CONSTRAINT_NAME, TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, "
        "REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME IS NOT NULL "
        "ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
        database,
    )
    parts = rows(
        "SELECT TABLE_NAME, PARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION "
        "FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = %s "
        "AND PARTITION_NAME IS NOT NULL ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION",
        database,
    )
    sizes = rows(
        "SELECT s.TABLE_NAME, s.INDEX_NAME, s.STAT_VALUE * @@innodb_page_size AS BYTES "
        "FROM mysql.innodb_index_stats s WHERE s.DATABASE_NAME = %s AND s.STAT_NAME = 'size'",
        database,
        optional=True,
    )
    histograms = rows(
        "SELECT TABLE_NAME, COLUMN_NAME, HISTOGRAM FROM information_schema.COLUMN_STATISTICS "
        "WHERE SCHEMA_NAME = %s",
        database,
        optional=True,
    )
    column_stats = rows(
        "SELECT table_name AS TABLE_NAME, column_name AS COLUMN_NAME, nulls_ratio AS NULLS, "
        "avg_frequency AS FREQ FROM mysql.column_stats WHERE db_name = %s",
        database,
        optional=True,
    )
    found = assemble(database, tables, columns, stats, fks, parts, sizes, histograms, column_stats)
    for table in found:
        table.flavour = "mariadb" if "mariadb" in version.lower() else "mysql"
    return found


def assemble(
    database: str,
    tables: list[dict],
    columns: list[dict],
    stats: list[dict],
    fks: list[dict] = (),
    parts: list[dict] = (),
    sizes: list[dict] = (),
    histograms: list[dict] = (),
    column_stats: list[dict] = (),
) -> list[Table]:
    """Build tables from information_schema rows (upper-case keys); see :func:`read_catalog`."""
    by_table: dict[str, Table] = {}
    for row in tables:
        by_table[row["TABLE_NAME"]] = Table(
            row["TABLE_NAME"],
            database,
            rows=_int(row["TABLE_ROWS"]),
            data_bytes=_int(row["DATA_LENGTH"]),
            index_bytes=_int(row["INDEX_LENGTH"]),
            engine=row["ENGINE"],
            comment=row["TABLE_COMMENT"] or None,
        )
    for row in columns:
        table = by_table.get(row["TABLE_NAME"])
        if table is None:
            continue
        generated = row.get("GENERATION_EXPRESSION") or None
        if generated:
            with contextlib.suppress(ValueError):
                generated = expression_list(generated)[0]
        table.columns[row["COLUMN_NAME"]] = Column(
            row["COLUMN_NAME"],
            normalize_type(row["COLUMN_TYPE"]),
            row["IS_NULLABLE"] == "YES",
            generated=generated,
            stored="STORED" in (row.get("EXTRA") or "").upper()
            or "PERSISTENT" in (row.get("EXTRA") or "").upper(),
        )
    for name in [n for n, t in by_table.items() if not t.columns]:
        warnings.warn(f"table {database}.{name} vanished while reading; skipped", stacklevel=2)
        del by_table[name]

    first_cardinality: dict[tuple[str, str], int] = {}
    for row in sorted(stats, key=lambda r: (r["TABLE_NAME"], r["SEQ_IN_INDEX"])):
        table = by_table.get(row["TABLE_NAME"])
        if table is None:
            continue
        index = table.index(row["INDEX_NAME"])
        if index is None:
            kind = (row["INDEX_TYPE"] or "BTREE").upper()
            index = Index(
                row["INDEX_NAME"],
                [],
                unique=not int(row["NON_UNIQUE"]),
                primary=row["INDEX_NAME"] == "PRIMARY",
                visible=row.get("IS_VISIBLE", "YES") != "NO" and row.get("IGNORED", "NO") != "YES",
                kind=kind if kind in ("FULLTEXT", "SPATIAL", "HASH") else "BTREE",
            )
            table.indexes.append(index)
        if row["COLUMN_NAME"] is None and row.get("EXPRESSION"):
            try:
                part = expression_list(row["EXPRESSION"])[0]
            except ValueError:
                part = row["EXPRESSION"]
            index.columns.append(part)
            index.expressions.append(True)
        else:
            index.columns.append(row["COLUMN_NAME"])
            index.expressions.append(False)
        # SPATIAL keys report SUB_PART 32 (the MBR), not a column prefix
        index.prefix_lengths.append(None if index.kind == "SPATIAL" else _int(row["SUB_PART"]))
        index.descending.append(row["COLLATION"] == "D")
        index.cardinality = _int(row["CARDINALITY"])
        if row["SEQ_IN_INDEX"] == 1 and row["COLUMN_NAME"] and index.cardinality is not None:
            key = (row["TABLE_NAME"], row["COLUMN_NAME"].lower())
            first_cardinality[key] = max(first_cardinality.get(key, 0), index.cardinality)

    for row in fks:
        table = by_table.get(row["TABLE_NAME"])
        if table is None:
            continue
        fk = next((f for f in table.foreign_keys if f.name == row["CONSTRAINT_NAME"]), None)
        if fk is None:
            fk = ForeignKey(
                row["CONSTRAINT_NAME"],
                [],
                row["REFERENCED_TABLE_NAME"],
                [],
                row["REFERENCED_TABLE_SCHEMA"],
            )
            table.foreign_keys.append(fk)
        fk.columns.append(row["COLUMN_NAME"])
        fk.ref_columns.append(row["REFERENCED_COLUMN_NAME"])

    for row in parts:
        table = by_table.get(row["TABLE_NAME"])
        if table is None:
            continue
        if table.partitioning is None:
            try:
                expression, cols = partition_expression(row["PARTITION_EXPRESSION"] or "")
            except ValueError:
                expression, cols = row["PARTITION_EXPRESSION"], []
            table.partitioning = Partitioning(row["PARTITION_METHOD"], expression, cols)
        table.partitioning.partitions.append(row["PARTITION_NAME"])

    ndv: dict[tuple[str, str], int] = {}
    for row in histograms:
        hist = row["HISTOGRAM"]
        hist = json.loads(hist) if isinstance(hist, (str, bytes)) else hist
        buckets = hist.get("buckets", [])
        count = (
            len(buckets)
            if hist.get("histogram-type") == "singleton"
            else sum(int(b[-1]) for b in buckets)
        )
        ndv[(row["TABLE_NAME"], row["COLUMN_NAME"].lower())] = count
    for row in column_stats:
        table = by_table.get(row["TABLE_NAME"])
        freq = float(row["FREQ"] or 0)
        if table is not None and table.rows is not None and freq > 0:
            non_null = table.rows * (1 - float(row["NULLS"] or 0))
            ndv[(row["TABLE_NAME"], row["COLUMN_NAME"].lower())] = max(round(non_null / freq), 1)

    measured: dict[str, dict[str, int]] = {}
    for row in sizes:
        base = row["TABLE_NAME"].split("#")[0]
        per_table = measured.setdefault(base, {})
        per_table[row["INDEX_NAME"]] = per_table.get(row["INDEX_NAME"], 0) + int(row["BYTES"])
    for name, table in by_table.items():
        for col in table.columns.values():
            key = (name, col.name.lower())
            col.ndv = ndv.get(key, first_cardinality.get(key))
        table.finish(measured.get(name))
    return list(by_table.values())


def _int(value) -> int | None:
    return None if value is None else int(value)
