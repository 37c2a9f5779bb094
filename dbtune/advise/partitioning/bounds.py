"""Value ranges a statement puts on one column, read from its sample with sqlglot.

Literals become datetimes (temporal columns) or integers; ``NOW()``, ``CURDATE()`` and
``NOW() - INTERVAL 7 DAY`` / ``DATE_SUB(...)`` are taken relative to ``now``. A side whose value
is unknown (a ``?`` placeholder, a subquery) is open.

>>> from datetime import datetime
>>> r = column_range("SELECT * FROM a WHERE created_at >= NOW() - INTERVAL 7 DAY",
...                  "created_at", now=datetime(2026, 6, 1))
>>> r.low, r.high, r.bounded
(datetime.datetime(2026, 5, 25, 0, 0), None, True)
>>> column_range("SELECT * FROM a WHERE id = 5", "created_at", now=datetime(2026, 6, 1))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlglot import exp

from dbtune.parsing import parse_statement

#: seconds per INTERVAL unit (MONTH and YEAR as 30 and 365 days: ranges, not calendars)
UNIT_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 604800,
                "MONTH": 30 * 86400, "QUARTER": 91 * 86400, "YEAR": 365 * 86400}
_NOW = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentDatetime)
_NOW_NAMES = {"NOW", "SYSDATE", "CURDATE", "CURRENT_DATE", "CURRENT_TIMESTAMP", "UTC_TIMESTAMP",
              "LOCALTIMESTAMP", "UTC_DATE"}


@dataclass(frozen=True)
class Range:
    """``low <= column <= high``; None on a side means open (unknown or unbounded)."""

    low: Any = None
    high: Any = None

    @property
    def bounded(self) -> bool:
        """True when at least one side is known: partition pruning can use it."""
        return self.low is not None or self.high is not None


def column_range(sql: str, column: str, *, now: datetime, names: tuple[str, ...] = ()
                 ) -> Range | None:
    """The range ``sql``'s WHERE puts on ``column`` (qualified by one of ``names`` or not),
    or None when it has no predicate on it."""
    tree = parse_statement(sql)
    where = tree.args.get("where") if tree is not None else None
    if where is None:
        return None
    low = high = None
    found = False
    for cond in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        side = _compare(cond, column.lower(), {n.lower() for n in names}, now)
        if side is None:
            continue
        found = True
        lo, hi = side
        low = lo if low is None or (lo is not None and lo > low) else low
        high = hi if high is None or (hi is not None and hi < high) else high
    return Range(low, high) if found else None


def _is_column(node: exp.Expression, column: str, names: set[str]) -> bool:
    return (isinstance(node, exp.Column) and node.name.lower() == column
            and (not node.table or node.table.lower() in names or not names))


def _compare(cond: exp.Expression, column: str, names: set[str], now: datetime):
    if isinstance(cond, exp.Paren):
        return _compare(cond.this, column, names, now)
    if isinstance(cond, exp.Between) and _is_column(cond.this, column, names):
        return value(cond.args["low"], now), value(cond.args["high"], now)
    if isinstance(cond, exp.In) and _is_column(cond.this, column, names):
        values = [value(v, now) for v in cond.expressions]
        if not values or None in values:
            return None, None
        return min(values), max(values)
    ops = {exp.GT: "low", exp.GTE: "low", exp.LT: "high", exp.LTE: "high", exp.EQ: "both"}
    kind = ops.get(type(cond))
    if kind is None:
        return None
    left, right = cond.this, cond.expression
    swapped = _is_column(right, column, names) and not _is_column(left, column, names)
    if swapped:
        left, right = right, left
        kind = {"low": "high", "high": "low"}.get(kind, kind)
    if not _is_column(left, column, names):
        return None
    v = value(right, now)
    strict = isinstance(cond, exp.GT if swapped else exp.LT)
    if strict and v is not None:
        v = _below(v)  # col < v: the partition starting at v is not read
    return {"low": (v, None), "high": (None, v), "both": (v, v)}[kind]


def _below(v: Any) -> Any:
    """The largest value under ``v`` (a microsecond, or 1, less)."""
    return v - timedelta(microseconds=1) if isinstance(v, datetime) else v - 1


def value(node: exp.Expression, now: datetime) -> Any:
    """A constant expression's value: datetime, int, or None when it is not a constant.

    >>> value(exp.Literal.string("2026-01-02"), datetime(2026, 6, 1))
    datetime.datetime(2026, 1, 2, 0, 0)
    """
    if isinstance(node, exp.Paren):
        return value(node.this, now)
    if isinstance(node, exp.Literal):
        if not node.is_string:
            try:
                return int(node.this)
            except ValueError:
                return None
        try:
            return datetime.fromisoformat(node.this.strip())
        except ValueError:
            return int(node.this) if node.this.strip().isdigit() else None
    if isinstance(node, _NOW) or (isinstance(node, exp.Anonymous)
                                  and str(node.this).upper() in _NOW_NAMES):
        return now
    if isinstance(node, (exp.Sub, exp.Add)) and isinstance(node.expression, exp.Interval):
        return _shift(value(node.this, now), node.expression.this, node.expression.unit,
                      -1 if isinstance(node, exp.Sub) else 1)
    if isinstance(node, (exp.DateSub, exp.DateAdd)):
        return _shift(value(node.this, now), node.expression, node.args.get("unit"),
                      -1 if isinstance(node, exp.DateSub) else 1)
    return None


def _shift(base: Any, amount: exp.Expression | None, unit: exp.Expression | None,
           sign: int) -> datetime | None:
    if not isinstance(base, datetime) or amount is None:
        return None
    seconds = UNIT_SECONDS.get((unit.name if unit is not None else "DAY").upper())
    try:
        n = float(amount.name if isinstance(amount, exp.Literal) else amount.sql())
    except ValueError:
        return None
    return None if seconds is None else base + sign * timedelta(seconds=n * seconds)
