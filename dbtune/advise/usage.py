"""Index usage from the server a DBA runs hygiene on: performance_schema's
``table_io_waits_summary_by_index_usage``, else MariaDB's user statistics
(``userstat=1``: ``information_schema.INDEX_STATISTICS``), else none - and the report says
which, with the uptime caveat.

:func:`check_hygiene` is the library call behind ``dbtune advise hygiene``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

from dbtune.advise.hygiene import HygieneReport, hygiene_report
from dbtune.catalog import Catalog, load_catalog

#: the instrument and consumer that table_io_waits_summary_by_index_usage counts through
IO_INSTRUMENT_SQL = (
    "SELECT (SELECT ENABLED FROM performance_schema.setup_instruments "
    "WHERE NAME = 'wait/io/table/sql/handler'), (SELECT ENABLED FROM "
    "performance_schema.setup_consumers WHERE NAME = 'global_instrumentation')")
USERSTAT_SQL = ("SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, ROWS_READ "
                "FROM information_schema.INDEX_STATISTICS")


@dataclass
class IndexUsage:
    """Reads per index, where they came from, and what they cover."""

    #: {("schema.table", "index"): reads}; None when the server keeps no usage counters
    reads: dict[tuple[str, str], int] | None
    #: "performance_schema", "userstat" or "none"
    source: str
    note: str


def server_index_usage(connection: Any, catalog: Catalog) -> IndexUsage:
    """The usage counters of the server behind ``connection`` for ``catalog``'s tables.

    performance_schema first (when on, with the table-I/O instrument and the
    global_instrumentation consumer enabled: otherwise its counters stay at zero and every
    index would look unused); else MariaDB's ``userstat`` (INDEX_STATISTICS lists the
    indexes read since user statistics were switched on or flushed: an index of a catalog
    table it does not list had no reads); else none. Only SELECTs.
    """
    from dbtune.ingest.perfschema_usage import index_usage, unused_caveat, uptime_seconds

    uptime = uptime_seconds(connection)
    caveat = unused_caveat(uptime)
    if _enabled(connection, "SELECT @@GLOBAL.performance_schema") and _io_counted(connection):
        return IndexUsage(index_usage(connection), "performance_schema",
                          f"index usage from performance_schema "
                          f"(table_io_waits_summary_by_index_usage); {caveat}")
    if _enabled(connection, "SELECT @@GLOBAL.userstat"):
        with connection.cursor() as cursor:
            cursor.execute(USERSTAT_SQL)
            listed = {(f"{s}.{t}".lower(), i.lower()): int(n)
                      for s, t, i, n in cursor.fetchall()}
        reads = {(t.qualified_name, i.name): listed.get((t.qualified_name.lower(),
                                                         i.name.lower()), 0)
                 for t in catalog.tables.values() for i in t.indexes}
        return IndexUsage(reads, "userstat",
                          "index usage from MariaDB user statistics (INDEX_STATISTICS, "
                          "userstat=ON): they count only since userstat was switched on or "
                          f"FLUSH INDEX_STATISTICS ran, at most the server's uptime; {caveat}")
    return IndexUsage(None, "none",
                      "no index usage: performance_schema is off (or does not count table "
                      "I/O) and MariaDB's userstat is off, so unused indexes were not "
                      "checked (performance_schema=ON in my.cnf, or SET GLOBAL userstat=1)")


def _enabled(connection: Any, sql: str) -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            (value,) = cursor.fetchone()
    except pymysql.MySQLError:  # the variable does not exist on this server
        return False
    return str(value).upper() in ("1", "ON", "YES")


def _io_counted(connection: Any) -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute(IO_INSTRUMENT_SQL)
            instrument, consumer = cursor.fetchone()
    except pymysql.MySQLError:
        return False
    return str(instrument).upper() == "YES" and str(consumer).upper() == "YES"


def check_hygiene(schemas: Sequence[str | Path] = (), *, dsn: str | None = None,
                  database: str | None = None, defaults_file: str | None = None
                  ) -> HygieneReport:
    """Hygiene of DDL files, or of ``database`` on the server at ``dsn`` with the server's
    index usage (:func:`server_index_usage`). Read-only."""
    catalog = load_catalog(list(schemas), dsn=None if schemas else dsn, database=database,
                           defaults_file=defaults_file)
    if schemas or dsn is None:
        return hygiene_report(catalog, notes=["no index usage (DDL only): unused indexes "
                                              "were not checked; give --dsn to use the "
                                              "server's counters"])
    from dbtune.connect import ConnectionSpec

    connection = ConnectionSpec.resolve(dsn, defaults_file=defaults_file).connect()
    try:
        usage = server_index_usage(connection, catalog)
    finally:
        connection.close()
    return hygiene_report(catalog, usage.reads, notes=[usage.note])
