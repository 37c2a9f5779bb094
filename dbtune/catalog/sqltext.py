"""SQL text helpers shared by the catalog: identifier quoting, type and expression normalising.

Everything goes through sqlglot (MySQL dialect), so DDL files and the server give the same text.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from dbtune.model import InputError

DIALECT = MySQL()
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
SPATIAL_SUBTYPES = {
    "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
}  # fmt: skip


def quote(name: str) -> str:
    """An identifier quoted by sqlglot for MySQL: backticks, inner backticks doubled."""
    return exp.to_identifier(name, quoted=True).sql("mysql")


def safe_expression(sql: str) -> str:
    """Re-render a functional key part through sqlglot so it stays one expression."""
    try:
        return exp.maybe_parse(sql, dialect="mysql").sql("mysql")
    except Exception:  # noqa: BLE001 - an unparsable expression must never be emitted raw
        raise InputError(f"cannot re-create functional key part {sql[:60]!r}") from None


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


def canonical_sql(node: exp.Expression) -> str:
    """Canonical SQL of an expression: every identifier quoted, so DDL and server agree."""
    if isinstance(node, exp.Paren):
        node = node.this
    return node.sql("mysql", identify=True)


def expression_list(sql: str) -> tuple[str, list[str]]:
    """Canonical SQL of a comma-separated expression list (through sqlglot) and its columns."""
    if not sql.strip():
        return "", []
    try:
        select = DIALECT.parse(f"SELECT {sql}")[0]
    except (ParseError, TokenError):
        raise ValueError(f"cannot parse expression {sql[:60]!r}") from None
    columns: list[str] = []
    for col in select.find_all(exp.Column):
        if col.name not in columns:
            columns.append(col.name)
    return ", ".join(canonical_sql(e) for e in select.expressions), columns


def partition_expression(sql: str) -> tuple[str, list[str]]:
    """A PARTITION BY expression as written, normalised token by token, and its columns.

    ``to_days(`created_at`)`` and ``TO_DAYS(created_at)`` both give ``TO_DAYS(`created_at`)``
    (sqlglot would rewrite TO_DAYS into DATEDIFF, which no DBA wrote).
    """
    try:
        tokens = DIALECT.tokenize(sql)
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
