"""The partitioning scheme: function, granularity and bounds for one column.

``DATE``/``DATETIME`` columns get ``RANGE COLUMNS(col)`` (readable bounds, pruned by MySQL and
MariaDB alike); ``TIMESTAMP`` gets ``RANGE(UNIX_TIMESTAMP(col))`` (the only function the
servers allow on it); an integer key gets ``RANGE(col)``. Granules are a day, a week (from
Monday) or a month, the finest that keeps the live partitions to ``max_live`` or fewer. The
first partition, ``p_start``, holds what lies before the data: empty, small, never dropped.
``ahead`` empty partitions lie beyond ``now``; there is no ``MAXVALUE`` partition, so no
catch-all ever fills with data (the maintenance event adds partitions ahead instead).

>>> from datetime import datetime
>>> s = plan_scheme("created_at", "datetime", low=datetime(2026, 3, 14), now=datetime(2026, 6, 1))
>>> s.granularity, s.partition_count
('week', 17)
>>> print(s.clause().splitlines()[1])
 PARTITION `p_start` VALUES LESS THAN ('2026-03-09'),
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dbtune.catalog import quote

GRANULES = ("day", "week", "month")
#: MySQL 8 and MariaDB: at most 8192 partitions per table
PARTITION_LIMIT = 8192


class SchemeError(ValueError):
    """The column's type cannot carry a RANGE partitioning (one line, names the type)."""


def floor(when: datetime | date, granularity: str) -> date:
    """The start of the granule holding ``when``.

    >>> floor(datetime(2026, 6, 17, 8), "week"), floor(date(2026, 6, 17), "month")
    (datetime.date(2026, 6, 15), datetime.date(2026, 6, 1))
    """
    day = when.date() if isinstance(when, datetime) else when
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def step(start: date, granularity: str, n: int = 1) -> date:
    """``start`` moved ``n`` granules on."""
    if granularity == "month":
        months = start.year * 12 + start.month - 1 + n
        return date(months // 12, months % 12 + 1, 1)
    return start + timedelta(days=n * (7 if granularity == "week" else 1))


def granules(low: date, high: date, granularity: str) -> int:
    """How many granules cover ``[low, high]``."""
    count, at, high = 0, floor(low, granularity), _day(high)
    while at <= high:
        count, at = count + 1, step(at, granularity)
    return count


@dataclass
class Scheme:
    """RANGE partitioning of one column: lower bounds of each granule after ``p_start``."""

    column: str
    column_type: str
    granularity: str  # day | week | month | ids
    #: lower bound of each data partition, ascending (dates, or ints for ``ids``)
    lowers: list = field(default_factory=list)
    #: the upper bound of the last partition
    upper: object = None
    ahead: int = 3
    #: partitions alive once retention holds (None: no retention, the count grows)
    steady: int | None = None

    @property
    def method(self) -> str:
        return "RANGE COLUMNS" if self.column_type.startswith(("date", "datetime")) else "RANGE"

    @property
    def expression(self) -> str:
        col = quote(self.column)
        return f"UNIX_TIMESTAMP({col})" if self.column_type.startswith("timestamp") else col

    @property
    def partition_count(self) -> int:
        return len(self.lowers) + 1

    def literal(self, bound) -> str:
        """A bound as the VALUES LESS THAN clause wants it."""
        if self.granularity == "ids":
            return str(int(bound))
        if self.column_type.startswith("timestamp"):
            return f"UNIX_TIMESTAMP('{bound.isoformat()} 00:00:00')"
        return f"'{bound.isoformat()}'"

    def name(self, lower) -> str:
        """``p20260601`` for the granule starting 2026-06-01, ``p1000000`` for ids."""
        return f"p{lower}" if self.granularity == "ids" else f"p{lower:%Y%m%d}"

    def partitions(self) -> list[tuple[str, object, object]]:
        """(name, lower, upper) of every partition; ``p_start`` has no lower bound."""
        uppers = [*self.lowers[1:], self.upper]
        return [("p_start", None, self.lowers[0])] + [
            (self.name(lo), lo, hi) for lo, hi in zip(self.lowers, uppers, strict=True)]

    def clause(self) -> str:
        """``PARTITION BY ... (PARTITION ... VALUES LESS THAN (...), ...)``."""
        parts = ",\n".join(f" PARTITION {quote(n)} VALUES LESS THAN ({self.literal(hi)})"
                           for n, _, hi in self.partitions())
        return f"PARTITION BY {self.method}({self.expression}) (\n{parts}\n)"

    def touched(self, low, high) -> int:
        """Partitions a range ``[low, high]`` (None: open) reads after pruning."""
        n = 0
        for _, lo, hi in self.partitions():
            if (high is None or lo is None or as_datetime(lo) <= as_datetime(high)) and (
                    low is None or as_datetime(low) < as_datetime(hi)):
                n += 1
        return n


def _day(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def as_datetime(value):
    """A bound as a comparable value: dates become datetimes, ints stay ints."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return value


def plan_scheme(column: str, column_type: str, *, low, now, retention_days: float | None = None,
                max_live: int = 50, ahead: int = 3, high=None) -> Scheme:
    """Bounds from the data's oldest value ``low`` to ``now`` plus ``ahead`` granules.

    Raises SchemeError for a type no RANGE partitioning takes (text, floats, decimals...).
    """
    base = column_type.split("(")[0].split()[0]
    if base.endswith("int"):
        return _id_scheme(column, column_type, low or 1, high or low or 1, max_live, ahead)
    if base not in ("date", "datetime", "timestamp"):
        raise SchemeError(f"type {column_type} cannot carry RANGE partitioning (a date, "
                          "datetime, timestamp or integer column can)")
    low = low or now - timedelta(days=retention_days or 365)
    kept = now - timedelta(days=retention_days) if retention_days else low
    for granularity in GRANULES:
        steady = granules(max(low, kept), now, granularity) + ahead
        if steady <= max_live:
            break
    start = floor(low, granularity)
    total = granules(low, now, granularity) + ahead
    lowers = [step(start, granularity, i) for i in range(total)]
    return Scheme(column, column_type, granularity, lowers, step(lowers[-1], granularity),
                  ahead, steady if retention_days else None)


def _id_scheme(column: str, column_type: str, low: int, high: int, max_live: int,
               ahead: int) -> Scheme:
    """Integer key: ``max_live - ahead`` equal ranges up to ``high``, a round step."""
    span = max(high - low + 1, 1)
    raw = span / max(max_live - ahead, 1)
    magnitude = 10 ** max(int(math.log10(raw)), 0)
    size = math.ceil(raw / magnitude) * magnitude
    first = (low // size) * size  # p_start holds ids below the data's lowest: none
    lowers = [first + i * size for i in range(math.ceil((high + 1 - first) / size) + ahead)]
    return Scheme(column, column_type, "ids", lowers, lowers[-1] + size, ahead)
