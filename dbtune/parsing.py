"""sqlglot parsing of statements, once per distinct text (MySQL dialect, cached).

The hot path never calls this: the digest asks for the tables of a class's sample
after aggregation, once per class. sqlglot is imported on first use, and
:func:`tables_in` reads the tables of plain statements (one SELECT over named tables
and joins, single-table INSERT / UPDATE / DELETE) without it, so a slow-log report
of such statements never imports it (tests/test_slowlog_tables.py compares both ways).

>>> tables_in("SELECT * FROM shop.orders o JOIN users u ON u.id = o.user_id")
['shop.orders', 'users']
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

# Fallback for statements sqlglot cannot parse: names after FROM/JOIN/INTO/UPDATE/TABLE.
_TABLE_REF = re.compile(
    r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+((?:`[^`]+`|\w+)(?:\.(?:`[^`]+`|\w+))?)", re.I
)


@lru_cache(maxsize=4096)
def parse_statement(sql: str) -> exp.Expression | None:
    """The sqlglot expression of one MySQL statement, or None if it does not parse."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

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
    plain = plain_tables(sql)
    if plain is not None:
        return plain
    from sqlglot import exp

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


# --- plain statements, read without sqlglot ------------------------------------------
# Strings, quoted names and everything else, left to right (a string may hold anything).
_TOKEN = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`[^`]+`|[^'\"`]+", re.S)
_NAME = r"(?:`[^`.]+`|[A-Za-z_][A-Za-z0-9_]*)"
_PLAIN_QUOTED = re.compile(r"`(?!(?:from|join|select|where|on|set|into|update)`)[A-Za-z0-9_]+`",
                           re.I)
#: Words never read as a table name or an alias.
_KEYWORDS = frozenset((
    "select", "from", "where", "group", "order", "by", "having", "limit", "offset", "join",
    "inner", "cross", "left", "right", "outer", "natural", "straight_join", "on", "using",
    "as", "set", "values", "value", "into", "union", "with", "for", "lock", "in", "share",
    "mode", "update", "delete", "insert", "replace", "ignore", "low_priority", "quick",
    "partition", "use", "force", "index", "key", "window", "over", "procedure", "dual",
    "lateral", "table", "exists", "not", "and", "or", "is", "null", "like", "between", "case",
    "when", "then", "else", "end", "asc", "desc", "distinct", "all", "interval",
))
#: A table: name or db.name, then an optional alias (AS name, or a name that is no keyword).
_TABLE = re.compile(rf"\s*({_NAME}(?:\.{_NAME})?)"
                    rf"(?:\s+(?:AS\s+)?(?!(?:{'|'.join(sorted(_KEYWORDS))})\b){_NAME})?", re.I)
#: Words after which no plain reading is tried (subqueries, unions, CTEs, odd syntax).
_UNPLAIN = re.compile(
    r"\b(?:SELECT|UNION|WITH|LATERAL|DUAL|NATURAL|STRAIGHT_JOIN|PARTITION|INDEX|KEY|INTO|"
    r"OUTFILE|USING|PROCEDURE|WINDOW|OVER|VALUES?|TABLE|EXISTS|RECURSIVE|LOCK|FOR)\b"
    r"|/\*|--|#|;|\?|@|\{|\$",
    re.I)
#: Statements without tables: admin commands, the no-query placeholder, transactions.
_NO_TABLES = re.compile(
    r"\s*(?:administrator command: [A-Za-z]+(?: [A-Za-z_]+)*|/\* No query \*/|COMMIT|ROLLBACK"
    r"|BEGIN|START TRANSACTION|SET\s+(?:NAMES\s+\w+|autocommit\s*=\s*[01]))\s*", re.I)
_CLAUSE_END = re.compile(r"\s+(?:WHERE|GROUP\s+BY|ORDER\s+BY|HAVING|LIMIT)\b", re.I)
_SELECT = re.compile(r"\s*SELECT\s", re.I)
_INSERT = re.compile(rf"\s*INSERT\s+(?:IGNORE\s+)?INTO\s+({_NAME}(?:\.{_NAME})?)\s*\(", re.I)
_UPDATE = re.compile(rf"\s*UPDATE\s+({_NAME}(?:\.{_NAME})?)\s+SET\s", re.I)
_DELETE = re.compile(rf"\s*DELETE\s+FROM\s+({_NAME}(?:\.{_NAME})?)(?:\s+WHERE\s|\s*$)", re.I)
_ON = re.compile(r"\s+ON\s", re.I)
_JOIN_WORDS = r"\s+(?:(?:INNER|CROSS|LEFT(?:\s+OUTER)?|RIGHT(?:\s+OUTER)?)\s+)?JOIN\b"
_JOIN = re.compile(r"\s*,|" + _JOIN_WORDS, re.I)
_CONDITION_TOKEN = re.compile(r"[(),]|" + _JOIN_WORDS, re.I)
_FROM_TOKEN = re.compile(r"[()]|\bFROM\b", re.I)
_FROM_WORD = re.compile(r"\b(?:FROM|JOIN|UPDATE)\b", re.I)
_INSERT_TAIL = re.compile(r"\)\s*VALUES?\s*\(", re.I)


def plain_tables(sql: str) -> list[str] | None:
    """:func:`tables_in` of a plain statement without sqlglot; None if it is not plain.

    Plain: a statement without tables (an admin command, COMMIT, ...); one ``SELECT``
    whose FROM clause is named tables joined by commas or [INNER|CROSS|LEFT|RIGHT] JOIN
    (with ON conditions); ``INSERT INTO t (...) VALUES (...)``, ``UPDATE t SET ...`` or
    ``DELETE FROM t WHERE ...``; and no
    comment, subquery, placeholder or variable.

    >>> plain_tables("UPDATE `shop`.`stock` SET qty = qty - 1 WHERE id = 7")
    ['shop.stock']
    >>> plain_tables("SELECT * FROM (SELECT 1) AS x") is None
    True
    """
    if _NO_TABLES.fullmatch(sql) and not _TABLE_REF.search(sql):
        return []
    masked = _masked(sql)
    if masked is None:
        return None
    if _SELECT.match(masked):
        return _select_tables(masked[masked.upper().index("SELECT") + 6:])
    for pattern in (_INSERT, _UPDATE, _DELETE):
        m = pattern.match(masked)
        if m is None:
            continue
        rest = masked[m.end():]
        if pattern is _INSERT:  # the column list, VALUES, the rows
            rest, found = _INSERT_TAIL.subn(") (", rest, count=1)
            if not found:
                return None
        if _UNPLAIN.search(rest) or _FROM_WORD.search(rest):
            return None
        return [_unquoted(m.group(1))]
    return None


def _masked(sql: str) -> str | None:
    """``sql`` with every string literal as ``''``; None if a quote is left open."""
    out = []
    end = 0
    for m in _TOKEN.finditer(sql):
        if m.start() != end:
            return None
        token = m.group()
        if token[0] == "`" and not _PLAIN_QUOTED.fullmatch(token):
            return None
        out.append("''" if token[0] in "'\"" else token)
        end = m.end()
    return "".join(out) if end == len(sql) else None


def _select_tables(rest: str) -> list[str] | None:
    """The tables of a plain SELECT, given what follows the SELECT keyword."""
    if _UNPLAIN.search(rest):
        return None
    start = _top_level_from(rest)
    if start is None:
        return None if _FROM_WORD.search(rest) else []
    end = _CLAUSE_END.search(rest, start)
    clause = rest[start:end.start() if end else len(rest)]
    names: list[str] = []
    pos = 0
    while True:
        m = _TABLE.match(clause, pos)
        if m is None or m.group(1).lower() in _KEYWORDS:
            return None
        names.append(_unquoted(m.group(1)))
        pos = m.end()
        on = _ON.match(clause, pos)
        if on is not None:  # an ON condition runs to the next JOIN at depth 0
            pos = _condition_end(clause, on.end())
            if pos is None:
                return None
        if pos == len(clause.rstrip()):
            return list(dict.fromkeys(names))
        join = _JOIN.match(clause, pos)
        if join is None:
            return None
        pos = join.end()


def _top_level_from(rest: str) -> int | None:
    """Where the FROM clause of a SELECT starts (after the first FROM outside
    parentheses), or None if there is none."""
    depth = 0
    for m in _FROM_TOKEN.finditer(rest):
        token = m.group()
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif depth == 0:
            return m.end()
    return None


def _condition_end(clause: str, pos: int) -> int | None:
    """The end of an ON condition starting at ``pos``: the next JOIN or comma outside
    parentheses, or the clause's end; None if a parenthesis does not pair."""
    depth = 0
    for m in _CONDITION_TOKEN.finditer(clause, pos):
        token = m.group()
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0:
            return None if token == "," else m.start()
    return len(clause.rstrip()) if depth == 0 else None


def _unquoted(name: str) -> str:
    return name.replace("`", "")
