"""What performance_schema says about plans and indexes: full scans, tmp tables on disk,
sort merge passes (per query class), and index usage (per index).

The statement frames work on any :class:`~dbtune.ingest.perfschema_digest.PerfSchemaDigest`
(since restart or a window). Index usage reads ``table_io_waits_summary_by_index_usage``,
whose counters cover only the time since the server started or they were truncated;
:func:`index_usage` returns the shape :func:`dbtune.advise.hygiene.find_hygiene` takes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pymysql

from dbtune.ingest.perfschema import (
    ENABLE_HINT,
    ENABLED_SQL,
    READ_ONLY_SQL,
    PerfSchemaUnavailable,
)
from dbtune.model import ClassSet

INDEX_USAGE_SQL = (
    "SELECT OBJECT_SCHEMA, OBJECT_NAME, INDEX_NAME, COUNT_STAR, COUNT_READ, COUNT_WRITE, "
    "COUNT_FETCH, COUNT_INSERT, COUNT_UPDATE, COUNT_DELETE "
    "FROM performance_schema.table_io_waits_summary_by_index_usage "
    "WHERE INDEX_NAME IS NOT NULL AND OBJECT_TYPE = 'TABLE' "
    "AND OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema', 'information_schema', 'sys') "
    "ORDER BY OBJECT_SCHEMA, OBJECT_NAME, INDEX_NAME"
)
#: (metric that must be > 0, the metrics shown with it) per statement problem.
PROBLEMS = {
    "full-scans": ("no_index_used", ("no_good_index_used", "select_scan", "select_full_join",
                                     "rows_examined")),
    "tmp-disk": ("created_tmp_disk_tables", ("created_tmp_tables",)),
    "sort-merge": ("sort_merge_passes", ("sort_rows", "sort_scan", "sort_range")),
}


def problem_statements(digest: ClassSet, problem: str) -> pd.DataFrame:
    """Classes with ``problem`` (full-scans, tmp-disk, sort-merge), worst first.

    Columns: id, fingerprint, db, count, the problem metric and its companions (sums),
    ``per_call`` (problem metric / count), query_time_sum, sample. Full scans count
    statements with SUM_NO_INDEX_USED or SUM_NO_GOOD_INDEX_USED above zero.
    """
    if problem not in PROBLEMS:
        raise ValueError(f"unknown problem {problem!r}: expected one of {', '.join(PROBLEMS)}")
    metric, companions = PROBLEMS[problem]
    rows = []
    for c in digest.classes:
        value = _sum(c, metric)
        if problem == "full-scans":
            found = value > 0 or _sum(c, "no_good_index_used") > 0
        else:
            found = value > 0
        if not found:
            continue
        row: dict[str, Any] = {"id": c.id, "fingerprint": c.fingerprint, "db": c.db,
                               "count": c.count, metric: value}
        row.update({name: _sum(c, name) for name in companions})
        row["per_call"] = value / c.count if c.count else None
        row["query_time_sum"] = _sum(c, "query_time")
        row["sample"] = c.sample
        rows.append(row)
    columns = ["id", "fingerprint", "db", "count", metric, *companions, "per_call",
               "query_time_sum", "sample"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values([metric, "query_time_sum", "id"], ascending=[False, False, True],
                             ignore_index=True)


def _sum(query_class: Any, metric: str) -> float:
    return (query_class.metrics.get(metric) or {}).get("sum") or 0.0


def index_usage_frame(connection: pymysql.connections.Connection) -> pd.DataFrame:
    """One row per index of a user table the server has opened since it started.

    Columns: schema, table, index, count_star, count_read, count_write, count_fetch,
    count_insert, count_update, count_delete. Tables never opened have no rows: their
    usage is unknown, not zero. Raises PerfSchemaUnavailable when performance_schema is off.
    """
    with connection.cursor() as cursor:
        cursor.execute(READ_ONLY_SQL)
        cursor.execute(ENABLED_SQL)
        (enabled,) = cursor.fetchone()
        if str(enabled).upper() not in ("1", "ON"):  # the table is there, and empty
            raise PerfSchemaUnavailable(
                f"performance_schema is OFF on this server, so no index usage: {ENABLE_HINT}")
        cursor.execute(INDEX_USAGE_SQL)
        rows = cursor.fetchall()
    columns = ["schema", "table", "index", "count_star", "count_read", "count_write",
               "count_fetch", "count_insert", "count_update", "count_delete"]
    return pd.DataFrame([list(r) for r in rows], columns=columns)


def index_usage(connection: pymysql.connections.Connection) -> dict[tuple[str, str], int]:
    """``{("schema.table", "index"): COUNT_READ}``: the usage find_hygiene(usage=...) takes.

    Reads, not COUNT_STAR: an index that writes keep up to date but no statement reads
    through costs writes and serves nobody. (sys.schema_unused_indexes tests COUNT_STAR,
    which misses such indexes.) An index with 0 is unused since the counters started.
    """
    frame = index_usage_frame(connection)
    return {(f"{s}.{t}", i): int(n) for s, t, i, n in
            zip(frame["schema"], frame["table"], frame["index"], frame["count_read"],
                strict=True)}


def uptime_seconds(connection: pymysql.connections.Connection) -> int:
    """Global status Uptime: how long the usage counters have been counting at most."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Uptime'")
        row = cursor.fetchone()
    return int(row[1]) if row else 0


def unused_caveat(uptime: int) -> str:
    """The warning every unused-index list carries, with the server's uptime in words."""
    days = uptime / 86400
    span = f"{days:.1f} days" if days >= 1 else f"{uptime / 3600:.1f} hours"
    return (f"index usage covers only the {span} since the server started (or the counters "
            f"were truncated): an index used by a monthly job, a report or a failover path "
            f"looks unused; check over a full business cycle before dropping anything")


def unused_indexes(connection: pymysql.connections.Connection) -> pd.DataFrame:
    """Indexes no statement read through: COUNT_READ = 0 (PRIMARY excluded).

    Columns: schema, table, index, uptime_seconds; ``frame.attrs["caveat"]`` holds the
    uptime caveat (:func:`unused_caveat`).
    """
    usage = index_usage_frame(connection)
    uptime = uptime_seconds(connection)
    unused = usage[(usage["count_read"] == 0) & (usage["index"] != "PRIMARY")]
    frame = unused[["schema", "table", "index"]].reset_index(drop=True)
    frame["uptime_seconds"] = uptime
    frame.attrs["caveat"] = unused_caveat(uptime)
    return frame
