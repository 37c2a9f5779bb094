"""Access patterns: which columns of which table a statement filters, joins, sorts and reads.

Extracted with sqlglot once per query class (results are cached by statement text), for the
index advisor::

    >>> a = access_patterns("SELECT id FROM orders WHERE customer_id = 7 ORDER BY created_at DESC")
    >>> a.tables["orders"].equality, a.tables["orders"].order_by
    ({'customer_id': 1}, (('created_at', 'desc'),))
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from dbtune.access.analyzer import DEEP_OFFSET, Analyzer
from dbtune.access.model import (
    FINDING_KINDS,
    AccessPattern,
    Finding,
    JoinColumn,
    StatementAccess,
)

__all__ = [
    "DEEP_OFFSET", "FINDING_KINDS", "AccessPattern", "Finding", "JoinColumn", "StatementAccess",
    "access_patterns",
]

_CACHE_SIZE = 4096
#: (sql, default_db, id(catalog)) -> (catalog, result); holding the catalog keeps its id unique
_cache: OrderedDict[tuple[str, str | None, int], tuple[Any, StatementAccess]] = OrderedDict()
_REPLACE = re.compile(r"^((?:\s*/\*.*?\*/)*\s*)REPLACE\b", re.IGNORECASE | re.DOTALL)
_DML_WORDS = ("select", "with", "insert", "update", "delete", "replace", "(")


def access_patterns(sql: str, *, default_db: str | None = None,
                    catalog: Any = None) -> StatementAccess:
    """Access patterns of one statement (MySQL dialect); never raises.

    ``catalog`` (anything with ``.tables`` and ``.column_type(table, column)``, e.g.
    :class:`dbtune.catalog.Catalog`) resolves unqualified columns in joins and enables the
    implicit-conversion check. ``default_db`` prefixes unqualified table names. A statement
    sqlglot cannot parse yields ``kind="other"`` and an ``"unparsable"`` finding.
    The result is cached and shared: treat it as read-only.
    """
    key = (sql, default_db, id(catalog))
    hit = _cache.get(key)
    if hit is not None and hit[0] is catalog:
        _cache.move_to_end(key)
        return hit[1]
    result = _analyse(sql, default_db, catalog)
    _cache[key] = (catalog, result)
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return result


def _unparsable(reason: str) -> StatementAccess:
    return StatementAccess(kind="other", findings=[Finding("unparsable", reason)])


def _analyse(sql: str, default_db: str | None, catalog: Any) -> StatementAccess:
    text = _REPLACE.sub(r"\1INSERT", sql, count=1)  # sqlglot parses REPLACE INTO as a Command
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # "falling back to parsing as a Command": reported below
    try:
        parsed = [s for s in sqlglot.parse(text, read="mysql") if s is not None]
    except (SqlglotError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _unparsable(f"sqlglot cannot parse the statement: {first}")
    except RecursionError:
        return _unparsable("statement nested too deeply to parse")
    finally:
        logger.setLevel(level)
    if not parsed:
        return _unparsable("empty statement")
    if any(isinstance(s, (exp.Condition, exp.Alias)) for s in parsed):
        return _unparsable("not an SQL statement (sqlglot read it as a bare expression)")
    statements = []
    for statement in parsed:
        if isinstance(statement, exp.Use):
            default_db = statement.this.name if statement.this else default_db
        elif not isinstance(statement, exp.Set):
            statements.append(statement)
    if not statements:  # only USE / SET
        return StatementAccess(kind="other")
    if len(statements) > 1:
        return _unparsable(f"expected one statement, found {len(statements)}")
    statement = statements[0]
    if isinstance(statement, exp.Command):
        if str(statement.this).lower().startswith(_DML_WORDS):
            return _unparsable(f"sqlglot does not understand this {statement.this} statement")
        return StatementAccess(kind="other")
    try:
        return Analyzer(catalog, default_db).statement(statement)
    except RecursionError:
        return _unparsable("statement nested too deeply to analyse")
