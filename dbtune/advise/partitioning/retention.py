"""Retention: the DELETE-by-date purge becomes DROP PARTITION, run by a maintenance procedure.

:func:`maintenance` writes one stored procedure per table that adds the partitions ``ahead``
of today and drops those wholly older than the retention, both only when needed (it reads
``information_schema.PARTITIONS`` first), so running it twice changes nothing; and an EVENT
that calls it daily. dbtune never installs either on a server not marked disposable: a DBA
reviews and runs the script.

>>> from datetime import date
>>> from dbtune.advise.partitioning.scheme import Scheme
>>> s = Scheme("at", "datetime", "month", [date(2026, 5, 1), date(2026, 6, 1)], date(2026, 7, 1))
>>> m = maintenance("`shop`.`log`", "log", "shop", s, retention_days=90)
>>> m.procedure_name, "DROP PARTITION" in m.statements[1], m.event.split()[:3]
('`shop`.`dbtune_partitions_log`', True, ['CREATE', 'EVENT', 'IF'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dbtune.advise.partitioning.bounds import column_range
from dbtune.advise.partitioning.candidates import ClassUse
from dbtune.advise.partitioning.scheme import Scheme
from dbtune.catalog import quote

_INTERVAL = {"day": "DAY", "week": "WEEK", "month": "MONTH"}


def retention_days(purges: Sequence[ClassUse], column: str, now: datetime) -> float | None:
    """How far back the purge keeps rows: ``now`` minus its cutoff, the longest of them.

    >>> u = ClassUse("d", 0.1, "delete", "DELETE FROM s WHERE at < NOW() - INTERVAL 30 DAY "
    ...              "LIMIT 1000", {"at"})
    >>> retention_days([u], "at", datetime(2026, 6, 1))
    30.0
    """
    kept = []
    for use in purges:
        span = column_range(use.sample, column, now=now, names=use.names)
        if span is not None and span.high is not None and span.low is None:
            cutoff = span.high
            if isinstance(cutoff, datetime):
                kept.append(round((now - cutoff).total_seconds() / 86400, 3))
    return max(kept) if kept else None


@dataclass
class Maintenance:
    """The maintenance SQL of one table: procedure, first call, and the EVENT."""

    procedure_name: str
    #: DROP PROCEDURE IF EXISTS, CREATE PROCEDURE, CALL (each one statement)
    statements: list[str]
    event: str
    ahead: int = 0
    #: read-only checks for a monitor: rows in p_start (should stay 0, like pg_partman's
    #: check for data in its default partition) and partitions ahead of today
    checks: list[str] = field(default_factory=list)

    def script(self) -> str:
        """The statements as a mysql-client script (``DELIMITER`` around the procedure)."""
        drop, create, call = self.statements
        checks = "".join(f"{c};\n" for c in self.checks)
        return (f"{drop};\nDELIMITER //\n{create} //\nDELIMITER ;\n{call};\n\n"
                f"-- daily, once the event scheduler is on (SET GLOBAL event_scheduler = ON):\n"
                f"{self.event};\n\n-- to monitor: rows that fell into p_start (expect 0), "
                f"partitions ahead of today (expect {self.ahead}):\n{checks}")


def _bound_sql(scheme: Scheme, var: str) -> str:
    """SQL text (inside the procedure) of the VALUES LESS THAN literal for date ``var``."""
    if scheme.column_type.startswith("timestamp"):
        return f"UNIX_TIMESTAMP({var})"
    return f"CONCAT('''', {var}, '''')"


def maintenance(table_sql: str, table: str, schema: str | None, scheme: Scheme, *,
                retention_days: float | None) -> Maintenance:
    """The procedure and EVENT keeping ``scheme.ahead`` partitions ahead (and, with a
    retention, dropping partitions wholly older than it)."""
    name = f"dbtune_partitions_{table}"[:64]
    proc = f"{quote(schema)}.{quote(name)}" if schema else quote(name)
    event = f"{quote(schema)}.{quote(name[:60] + '_ev')}" if schema else quote(name[:60] + "_ev")
    where = (f"TABLE_SCHEMA = {'DATABASE()' if not schema else _string(schema)} "
             f"AND TABLE_NAME = {_string(table)}")
    if scheme.granularity == "ids":
        body = _ids_body(table_sql, scheme, where)
    else:
        body = _dates_body(table_sql, scheme, where, retention_days)
    create = (f"CREATE PROCEDURE {proc}()\n  MODIFIES SQL DATA\n  COMMENT "
              f"'dbtune: partitions ahead of time{', drop expired' if retention_days else ''}'\n"
              f"BEGIN\n{body}\nEND")
    checks = [f"SELECT COUNT(*) AS rows_in_p_start FROM {table_sql} PARTITION (`p_start`)"]
    if scheme.granularity != "ids":
        checks.append(f"SELECT COUNT(*) AS partitions_ahead FROM information_schema.PARTITIONS "
                      f"WHERE {where} AND PARTITION_NAME <> 'p_start' AND STR_TO_DATE(SUBSTRING("
                      "PARTITION_NAME, 2), '%Y%m%d') > CURRENT_DATE")
    return Maintenance(proc, [f"DROP PROCEDURE IF EXISTS {proc}", create, f"CALL {proc}()"],
                       f"CREATE EVENT IF NOT EXISTS {event} ON SCHEDULE EVERY 1 DAY "
                       f"STARTS CURRENT_DATE + INTERVAL 1 DAY + INTERVAL 1 HOUR DO CALL {proc}()",
                       scheme.ahead, checks)


def _string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _dates_body(table_sql: str, scheme: Scheme, where: str, retention: float | None) -> str:
    unit = _INTERVAL[scheme.granularity]
    fmt = "'%Y%m%d'"
    table_sql = table_sql.replace("'", "''")  # it sits inside a string literal below
    lines = [
        "  DECLARE last_lower DATE;",
        "  DECLARE next_lower DATE;",
        "  DECLARE victim VARCHAR(64);",
        f"  SET last_lower = (SELECT STR_TO_DATE(SUBSTRING(PARTITION_NAME, 2), {fmt}) FROM "
        f"information_schema.PARTITIONS WHERE {where} AND PARTITION_NAME <> 'p_start' "
        "ORDER BY PARTITION_ORDINAL_POSITION DESC LIMIT 1);",
        f"  SET next_lower = last_lower + INTERVAL 1 {unit};",
        f"  WHILE next_lower <= CURRENT_DATE + INTERVAL {scheme.ahead} {unit} DO",
        f"    SET @dbtune_sql = CONCAT('ALTER TABLE {table_sql} "
        "ADD PARTITION (PARTITION `p', "
        f"DATE_FORMAT(next_lower, {fmt}), '` VALUES LESS THAN (', "
        f"{_bound_sql(scheme, f'next_lower + INTERVAL 1 {unit}')}, '))');",
        "    PREPARE dbtune_stmt FROM @dbtune_sql;",
        "    EXECUTE dbtune_stmt;",
        "    DEALLOCATE PREPARE dbtune_stmt;",
        f"    SET next_lower = next_lower + INTERVAL 1 {unit};",
        "  END WHILE;",
    ]
    if retention:
        days = int(retention + 0.999)
        lines += [
            "  REPEAT",
            "    SET victim = (SELECT PARTITION_NAME FROM information_schema.PARTITIONS WHERE "
            f"{where} AND PARTITION_NAME <> 'p_start' AND STR_TO_DATE(SUBSTRING(PARTITION_NAME, "
            f"2), {fmt}) + INTERVAL 1 {unit} <= CURRENT_DATE - INTERVAL {days} DAY "
            "ORDER BY PARTITION_ORDINAL_POSITION LIMIT 1);",
            "    IF victim IS NOT NULL THEN",
            f"      SET @dbtune_sql = CONCAT('ALTER TABLE {table_sql} DROP PARTITION `', victim, "
            "'`');",
            "      PREPARE dbtune_stmt FROM @dbtune_sql;",
            "      EXECUTE dbtune_stmt;",
            "      DEALLOCATE PREPARE dbtune_stmt;",
            "    END IF;",
            "  UNTIL victim IS NULL END REPEAT;",
        ]
    return "\n".join(lines)


def _ids_body(table_sql: str, scheme: Scheme, where: str) -> str:
    quoted = table_sql.replace("'", "''")
    size = int(scheme.upper) - int(scheme.lowers[-1])
    return "\n".join([
        "  DECLARE last_lower BIGINT;",
        "  DECLARE top BIGINT;",
        f"  SET last_lower = (SELECT CAST(SUBSTRING(PARTITION_NAME, 2) AS UNSIGNED) FROM "
        f"information_schema.PARTITIONS WHERE {where} AND PARTITION_NAME <> 'p_start' "
        "ORDER BY PARTITION_ORDINAL_POSITION DESC LIMIT 1);",
        f"  SET top = (SELECT COALESCE(MAX({quote(scheme.column)}), 0) FROM {table_sql});",
        f"  WHILE last_lower < top + {scheme.ahead * size} DO",
        f"    SET last_lower = last_lower + {size};",
        f"    SET @dbtune_sql = CONCAT('ALTER TABLE {quoted} ADD PARTITION (PARTITION `p', "
        f"last_lower, '` VALUES LESS THAN (', last_lower + {size}, '))');",
        "    PREPARE dbtune_stmt FROM @dbtune_sql;",
        "    EXECUTE dbtune_stmt;",
        "    DEALLOCATE PREPARE dbtune_stmt;",
        "  END WHILE;",
    ])
