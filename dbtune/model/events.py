"""Events: one execution of one statement, and the error for unreadable input.

The data model shared by every part of dbtune (see docs/design.md).

ingest -> QueryEvent (one execution) -> digest -> Digest (one row per QueryClass)
-> advise -> Advice -> migrate/bench -> report.

Metric names are snake_case versions of the slow-log attribute names
(``Query_time`` -> ``query_time``, ``InnoDB_IO_r_ops`` -> ``innodb_io_r_ops``),
so one name follows a number from the log line to the report column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: The four metrics every flavour logs; reports always show these.
CORE_METRICS = ("query_time", "lock_time", "rows_sent", "rows_examined")
#: Statistics kept for every numeric metric of a query class.
STATS = ("sum", "min", "max", "mean", "p50", "p95", "p99")


@dataclass(slots=True)
class QueryEvent:
    """One execution of one statement, as a slow log or a server saw it."""

    sql: str
    query_time: float
    lock_time: float = 0.0
    rows_sent: int = 0
    rows_examined: int = 0
    time: datetime | None = None
    user: str | None = None
    host: str | None = None
    db: str | None = None
    #: every other numeric attribute the flavour logged (rows_affected, bytes_sent, ...)
    extra: dict[str, float] = field(default_factory=dict)
    #: flavour-specific non-numeric attributes (qc_hit, full_scan, explain lines, ...)
    flags: dict[str, str] = field(default_factory=dict)
    source: str = ""
    line: int = 0


class InputError(Exception):
    """Input dbtune cannot read at all (missing file, not a slow log, bad DDL).

    The message is one line naming what and where; the CLI prints it and exits 2.
    """

