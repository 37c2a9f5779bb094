"""The fraction of a table a class's constant range keeps, read off the column's value
distribution in the catalog (:attr:`dbtune.catalog.Column.distribution`: the server's
statistics, read-only) - not the fixed 1/3 (:data:`~dbtune.advise.estimate.RANGE_SELECTIVITY`).

Only ranges against constants (``col >= '1995-09-01'``, ``CAST('1995-10-01' AS date)``,
``DATE '1995-09-01'``, ``BETWEEN``) are priced; a bound that is an expression (``NOW() -
INTERVAL 1 DAY``, a parameter, another column) leaves that side open, and a range with no
constant bound at all keeps the default. A measured fraction (``--verify``) replaces this one.

>>> from dbtune.access import access_patterns
>>> from dbtune.catalog import Column, Table
>>> t = Table("o", columns={"d": Column("d", "date",
...     distribution=((727198.0, 0.0), (729390.0, 1.0)))})
>>> sql = "SELECT 1 FROM o WHERE d >= DATE '1995-01-01' AND d < '1995-04-01'"
>>> f = range_fractions(sql, access_patterns(sql).accesses[0], t)
>>> round(f["d"], 3)
0.041
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from dbtune.catalog import Table
from dbtune.catalog.histogram import axis_value, fraction_between
from dbtune.parsing import parse_statement

#: the smallest fraction a priced range keeps (a range that misses every bucket still
#: reads something: statistics are a sample and go stale)
MIN_FRACTION = 1e-4


def range_fractions(sql: str, pattern: Any, table: Table) -> dict[str, float]:
    """Column (catalog spelling) -> fraction of ``table`` the sample's constant range
    predicates on it keep, for the range columns of ``pattern`` with a known distribution."""
    wanted = {}
    for name in pattern.range:
        column = table.column(name)
        if column is not None and column.distribution:
            wanted[column.name.lower()] = column
    if not wanted:
        return {}
    tree = parse_statement(sql)
    if tree is None:
        return {}
    names = {n.lower() for n in (pattern.alias, table.name) if n}
    bounds: dict[str, list[float | None]] = {}
    for node in tree.find_all(exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between):
        for column, low, high in _bounds(node):
            if column.name.lower() not in wanted or (column.table
                                                     and column.table.lower() not in names):
                continue
            col = wanted[column.name.lower()]
            pair = bounds.setdefault(col.name, [None, None])
            low = axis_value(low, col.type) if low is not None else None
            high = axis_value(high, col.type) if high is not None else None
            if low is not None:
                pair[0] = low if pair[0] is None else max(pair[0], low)
            if high is not None:
                pair[1] = high if pair[1] is None else min(pair[1], high)
    out = {}
    for name, (low, high) in bounds.items():
        if low is None and high is None:
            continue
        points = table.column(name).distribution
        out[name] = max(MIN_FRACTION, fraction_between(points, low, high))
    return out


def _bounds(node: exp.Expression) -> list[tuple[exp.Column, str | None, str | None]]:
    """(column, lower bound text, upper bound text) a comparison puts on a column."""
    if isinstance(node, exp.Between):
        if isinstance(node.this, exp.Column):
            return [(node.this, _constant(node.args.get("low")),
                     _constant(node.args.get("high")))]
        return []
    left, right = node.this, node.expression
    upper = isinstance(node, (exp.LT, exp.LTE))
    if isinstance(left, exp.Column) and (value := _constant(right)) is not None:
        return [(left, None, value) if upper else (left, value, None)]
    if isinstance(right, exp.Column) and (value := _constant(left)) is not None:
        return [(right, value, None) if upper else (right, None, value)]
    return []


def _constant(node: exp.Expression | None) -> str | None:
    """The text of a literal, also through ``CAST(... AS type)`` / ``DATE '...'``."""
    while isinstance(node, (exp.Cast, exp.Paren)):
        node = node.this
    if isinstance(node, exp.Literal):
        return str(node.this)
    return None
