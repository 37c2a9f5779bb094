"""Snapshots of performance_schema's statement digests, saved as JSON and compared later.

A :class:`Snapshot` holds, as the server reported them, the rows of
``events_statements_summary_by_digest`` (every column the server has: MySQL 8 adds
``QUANTILE_95/99/999`` and ``QUERY_SAMPLE_TEXT``), the non-empty latency buckets of
``events_statements_histogram_by_digest`` (MySQL 8.0.19+), the statements of
``events_statements_history_long`` when that consumer collects (real SQL text and
latencies: samples and quantiles on MariaDB), and the server's uptime.
:mod:`dbtune.ingest.perfschema_digest` turns one snapshot, or the delta of two, into
query classes. Statement digest text maps onto dbtune's fingerprints with
:func:`digest_sql` and :func:`join_key`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymysql

from dbtune.model import InputError

if TYPE_CHECKING:
    import pandas as pd

    from dbtune.connect import ConnectionSpec
    from dbtune.ingest.perfschema_digest import PerfSchemaDigest

SNAPSHOT_FORMAT = "dbtune-perfschema-snapshot"
SNAPSHOT_VERSION = 1
ENABLE_HINT = (
    "add performance_schema=ON under [mysqld] in my.cnf and restart the server "
    "(MariaDB ships with it off; MySQL 5.6+ has it on by default)"
)
DIGEST_TABLE = "performance_schema.events_statements_summary_by_digest"
HISTOGRAM_TABLE = "events_statements_histogram_by_digest"
#: Columns of ``events_statements_history_long`` a snapshot keeps.
HISTORY_COLUMNS = ("THREAD_ID", "EVENT_ID", "CURRENT_SCHEMA", "DIGEST", "SQL_TEXT", "TIMER_WAIT")

# The statements a snapshot runs (PerfSchemaDigest leaves their classes out of reports).
READ_ONLY_SQL = "SET SESSION TRANSACTION READ ONLY"
ENABLED_SQL = "SELECT @@GLOBAL.performance_schema"
CONSUMERS_SQL = ("SELECT NAME, ENABLED FROM performance_schema.setup_consumers "
                 "WHERE NAME IN ('global_instrumentation', 'statements_digest')")
STATUS_SQL = "SHOW GLOBAL STATUS WHERE Variable_name IN %s"
DIGEST_SQL = f"SELECT * FROM {DIGEST_TABLE}"
HAS_HISTOGRAMS_SQL = ("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                      f"'performance_schema' AND TABLE_NAME = '{HISTOGRAM_TABLE}'")
HISTOGRAM_SQL = ("SELECT SCHEMA_NAME, DIGEST, BUCKET_NUMBER, BUCKET_TIMER_HIGH, COUNT_BUCKET "
                 f"FROM performance_schema.{HISTOGRAM_TABLE} WHERE COUNT_BUCKET > 0")
HISTORY_ON_SQL = ("SELECT COUNT(*) FROM performance_schema.setup_consumers WHERE ENABLED = "
                  "'YES' AND NAME IN ('events_statements_current', "
                  "'events_statements_history_long')")
HISTORY_SQL = (f"SELECT {', '.join(HISTORY_COLUMNS)} FROM "
               "performance_schema.events_statements_history_long "
               "WHERE DIGEST IS NOT NULL AND TIMER_WAIT IS NOT NULL")
OWN_STATEMENTS = (READ_ONLY_SQL, ENABLED_SQL, CONSUMERS_SQL, STATUS_SQL % "('Uptime')",
                  DIGEST_SQL, HAS_HISTOGRAMS_SQL, HISTOGRAM_SQL, HISTORY_ON_SQL, HISTORY_SQL)


class PerfSchemaUnavailable(InputError):
    """performance_schema is off, or collects no statement digests: one line saying how to fix."""


@dataclass
class Snapshot:
    """What performance_schema reported at one moment (JSON round-trips exactly)."""

    taken_at: datetime
    server: str  # "host:port", never credentials
    flavour: str
    server_version: str
    uptime: int  # seconds, from SHOW GLOBAL STATUS
    digest_rows: list[dict[str, Any]]
    #: "schema\\0digest" -> [[bucket_number, count], ...] (non-empty buckets only)
    histograms: dict[str, list[list[int]]] = field(default_factory=dict)
    #: bucket_number -> BUCKET_TIMER_HIGH in picoseconds
    bucket_high: dict[int, int] = field(default_factory=dict)
    #: rows of events_statements_history_long (HISTORY_COLUMNS), [] when not collected
    history: list[dict[str, Any]] = field(default_factory=list)
    history_enabled: bool = False
    digest_lost: int = 0

    def save(self, path: str | Path) -> None:
        """Write the snapshot as JSON, readable by its owner only (0600: samples hold
        literal values), atomically (a ``.partial`` file renamed into place); InputError
        naming the file when it cannot be written."""
        document = {"format": SNAPSHOT_FORMAT, "version": SNAPSHOT_VERSION,
                    **{f.name: getattr(self, f.name) for f in fields(self)}}
        target = Path(path)
        partial = target.with_name(target.name + ".partial")
        try:
            partial.unlink(missing_ok=True)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(document, default=_json_value))
            partial.replace(target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            reason = exc.strerror or exc
            raise InputError(f"{target}: cannot write the snapshot: {reason}") from None

    @classmethod
    def load(cls, path: str | Path) -> Snapshot:
        """Read a snapshot saved by :meth:`save`; InputError naming the file if it is not one."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such snapshot file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: not a dbtune perfschema snapshot ({exc})") from None
        if not isinstance(document, dict) or document.get("format") != SNAPSHOT_FORMAT:
            raise InputError(f"{path}: not a dbtune perfschema snapshot (no format marker)")
        if document.get("version") != SNAPSHOT_VERSION:
            raise InputError(f"{path}: snapshot version {document.get('version')} is not "
                             f"{SNAPSHOT_VERSION}")
        try:
            rows = [_parse_times(row) for row in document["digest_rows"]]
            return cls(
                taken_at=datetime.fromisoformat(document["taken_at"]),
                server=document["server"], flavour=document["flavour"],
                server_version=document["server_version"],
                uptime=int(document["uptime"]), digest_rows=rows,
                histograms=document.get("histograms", {}),
                bucket_high={int(k): int(v) for k, v in document.get("bucket_high", {}).items()},
                history=document.get("history", []),
                history_enabled=bool(document.get("history_enabled")),
                digest_lost=int(document.get("digest_lost", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: damaged perfschema snapshot ({exc!r})") from None


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)  # Decimal


def _parse_times(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("FIRST_SEEN", "LAST_SEEN", "QUERY_SAMPLE_SEEN"):
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key])
    return out




# ---------------------------------------------------------------------------------------------
# Reading a server
# ---------------------------------------------------------------------------------------------
def read_snapshot(connection: pymysql.connections.Connection) -> Snapshot:
    """Read every statement digest (and histograms, history, uptime) in one read-only pass.

    Raises :class:`PerfSchemaUnavailable` when performance_schema is off or collects no
    digests, with the setting to change.
    """
    flavour, version = server_version(connection)
    with connection.cursor() as cursor:
        cursor.execute(READ_ONLY_SQL)
        check_enabled(cursor)
        status = _status(cursor, ("Uptime", "Performance_schema_digest_lost"))
        cursor.execute(DIGEST_SQL)
        columns = [d[0].upper() for d in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        histograms, bucket_high = _read_histograms(cursor)
        history_on = _history_enabled(cursor)
        history = _read_history(cursor) if history_on else []
    if not rows:
        raise PerfSchemaUnavailable(
            f"{DIGEST_TABLE} is empty: statement instruments or the statements_digest consumer "
            "are off (UPDATE performance_schema.setup_consumers SET ENABLED='YES' WHERE NAME "
            "IN ('global_instrumentation','statements_digest'), or "
            "performance-schema-consumer-statements-digest=ON in my.cnf)")
    return Snapshot(
        taken_at=datetime.now(),
        server=server_label(connection), flavour=flavour, server_version=version,
        uptime=int(status.get("Uptime", 0)), digest_rows=rows, histograms=histograms,
        bucket_high=bucket_high, history=history, history_enabled=history_on,
        digest_lost=int(status.get("Performance_schema_digest_lost", 0)),
    )


def server_label(connection: pymysql.connections.Connection) -> str:
    """``host:port``, or ``localhost (socket /path)`` for a socket connection."""
    if connection.unix_socket:
        return f"localhost (socket {connection.unix_socket})"
    return f"{connection.host}:{connection.port}"


def sample_perfschema(spec: ConnectionSpec, *, interval: float | None = None,
                      baseline: str | Path | None = None, save_to: str | Path | None = None,
                      on_sampling: Callable[[float], None] | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> PerfSchemaDigest:
    """Query classes of the server ``spec`` names: since its counters started, during the
    next ``interval`` seconds (two snapshots), or since the ``baseline`` snapshot file.
    ``save_to``: also save the last snapshot there (0600). ``on_sampling(seconds)`` is
    called before an interval's wait.

    Errors (bad files, an unreachable server, performance_schema off or unreadable) are
    InputErrors naming the file or the server (password masked).
    """
    from dbtune.ingest.perfschema_digest import PerfSchemaDigest

    if interval is not None and baseline is not None:
        raise ValueError("give either an interval or a baseline, not both")
    before = Snapshot.load(baseline) if baseline is not None else None
    with spec.connect() as connection, _on_server(spec):
        if interval is not None:
            before = read_snapshot(connection)
            if on_sampling is not None:
                on_sampling(interval)
            sleep(interval)
        after = read_snapshot(connection)
    if save_to is not None:
        after.save(save_to)
    return PerfSchemaDigest(after, before)


def read_index_usage(spec: ConnectionSpec, *, unused: bool = False) -> pd.DataFrame:
    """Index usage of the server ``spec`` names (``unused``: only indexes no statement read
    through, with the uptime caveat in ``frame.attrs["caveat"]``); errors as
    :func:`sample_perfschema`."""
    from dbtune.ingest.perfschema_usage import index_usage_frame, unused_indexes

    with spec.connect() as connection, _on_server(spec):
        return unused_indexes(connection) if unused else index_usage_frame(connection)


@contextlib.contextmanager
def _on_server(spec: ConnectionSpec) -> Iterator[None]:
    """Errors while reading a server become InputErrors prefixed with its DSN."""
    try:
        yield
    except PerfSchemaUnavailable as exc:
        raise PerfSchemaUnavailable(spec.scrub(f"{spec.dsn()}: {exc}")) from None
    except pymysql.err.MySQLError as exc:  # e.g. no SELECT privilege on performance_schema
        reason = exc.args[-1] if exc.args else exc
        raise InputError(spec.scrub(f"{spec.dsn()}: reading performance_schema failed: "
                                    f"{reason}")) from None


def server_version(connection: pymysql.connections.Connection) -> tuple[str, str]:
    """(flavour, "X.Y.Z") from the handshake, without running a statement."""
    full = connection.get_server_info()
    if full.startswith("5.5.5-"):  # MariaDB's replication-compatible prefix
        full = full[len("5.5.5-"):]
    match = re.match(r"\d+\.\d+\.\d+", full)
    return ("mariadb" if "mariadb" in full.lower() else "mysql",
            match.group(0) if match else full)


def check_enabled(cursor: Any) -> None:
    """Raise PerfSchemaUnavailable unless performance_schema is on and digests are collected."""
    cursor.execute(ENABLED_SQL)
    (enabled,) = cursor.fetchone()
    if str(enabled).upper() not in ("1", "ON"):
        raise PerfSchemaUnavailable(f"performance_schema is OFF on this server: {ENABLE_HINT}")
    cursor.execute(CONSUMERS_SQL)
    off = sorted(name for name, state in cursor.fetchall() if state != "YES")
    if off:
        raise PerfSchemaUnavailable(
            f"performance_schema collects no statement digests (consumer {', '.join(off)} "
            f"disabled): UPDATE performance_schema.setup_consumers SET ENABLED='YES' WHERE "
            f"NAME IN ({', '.join(repr(n) for n in off)}), or "
            f"performance-schema-consumer-{off[-1].replace('_', '-')}=ON in my.cnf")


def _status(cursor: Any, names: tuple[str, ...]) -> dict[str, str]:
    cursor.execute(STATUS_SQL, (names,))
    return dict(cursor.fetchall())


def _read_histograms(cursor: Any) -> tuple[dict[str, list[list[int]]], dict[int, int]]:
    cursor.execute(HAS_HISTOGRAMS_SQL)
    if not cursor.fetchone()[0]:
        return {}, {}
    cursor.execute(HISTOGRAM_SQL)
    histograms: dict[str, list[list[int]]] = {}
    bucket_high: dict[int, int] = {}
    for schema, digest, number, high, count in cursor.fetchall():
        histograms.setdefault(row_key(schema, digest), []).append([int(number), int(count)])
        bucket_high[int(number)] = int(high)
    return histograms, bucket_high


def _history_enabled(cursor: Any) -> bool:
    """events_statements_history_long fills only with the _current consumer on as well."""
    cursor.execute(HISTORY_ON_SQL)
    return cursor.fetchone()[0] == 2


def _read_history(cursor: Any) -> list[dict[str, Any]]:
    cursor.execute(HISTORY_SQL)
    return [dict(zip(HISTORY_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def row_key(schema: str | None, digest: str | None) -> str:
    """The key of one digest row: schema and digest joined by NUL (schema may be NULL)."""
    return f"{schema or ''}\0{digest or ''}"


# ---------------------------------------------------------------------------------------------
# Digest text -> dbtune fingerprint
# ---------------------------------------------------------------------------------------------
_MULTI_ROW = re.compile(r"(\bVALUES?\s*)\(\s*\.\.\.\s*\)\s*/\*\s*,\s*\.\.\.\s*\*/.*\Z",
                        re.I | re.S)
_ELLIPSIS_LIST = re.compile(r"\(\s*\.\.\.\s*\)")
_MORE_VALUES = re.compile(r"\?(?:\s*,\s*\.\.\.)+")
_QUALIFIED = re.compile(r"(?<=[`\w])\s+\.\s+(?=[`\w])")
_OPEN_SPACE = re.compile(r"\(\s+")
_CLOSE_SPACE = re.compile(r"\s+\)")
_COMMA_SPACE = re.compile(r"\s+,")
#: MariaDB's digest writes a token's canonical name: ``day`` (even as an alias) is SQL_TSI_DAY.
_TSI = re.compile(r"\bSQL_TSI_(MICROSECOND|SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR)\b")
_CALL = re.compile(r"(?<![`\w])([A-Z][A-Z0-9_]*) \(")
#: Upper-case words a digest writes before ``(`` that are not function calls.
_NOT_CALLS = frozenset({
    "ALL", "AND", "ANY", "AS", "BETWEEN", "BY", "CHECK", "DISTINCT", "ELSE", "EXISTS", "FROM",
    "HAVING", "IN", "INDEX", "INTO", "IS", "JOIN", "KEY", "LIKE", "LIMIT", "NOT", "OFFSET", "ON",
    "OR", "PRIMARY", "REFERENCES", "RETURN", "SELECT", "SET", "SOME", "TABLE", "THEN", "UNION",
    "UNIQUE", "USING", "VALUE", "VALUES", "WHEN", "WHERE", "XOR",
})
_QUOTED = re.compile(r"`([A-Za-z_][A-Za-z0-9_$]*)`")
_TRUNCATED = re.compile(r"(?:\A|[^?,\s])\s*\.\.\.\s*\Z")
_LOOSE = re.compile(r"[\s`]+")
_PLACEHOLDER_RUN = re.compile(r"\?{2,}")


def digest_sql(digest_text: str) -> str:
    """DIGEST_TEXT as SQL whose fingerprint is the statement's fingerprint.

    ``(...)`` lists become ``(?)``, ``?, ...`` one ``?``, a multi-row ``VALUES (...) /* ,
    ... */`` becomes two rows (pt-query-digest's fingerprint cuts multi-row inserts after
    the first row), ``a . b`` becomes ``a.b``, ``COUNT ( * )`` becomes ``COUNT(*)``, and
    backticks go where SQL needs none, MariaDB's ``SQL_TSI_DAY`` is ``DAY`` again. What
    digests lose (the client's spacing and quoting, literal signs) is evened out by
    :func:`join_key`.

    >>> digest_sql("SELECT * FROM `t` . `order` WHERE `id` IN (...) AND `b` = ? LIMIT ?, ... ")
    'SELECT * FROM t.`order` WHERE id IN (?) AND b = ? LIMIT ?'
    """
    text = _TSI.sub(r"\1", digest_text)
    text = _MULTI_ROW.sub(r"\1(?),(?)", text)
    text = _ELLIPSIS_LIST.sub("(?)", text)
    text = _MORE_VALUES.sub("?", text)
    text = _QUALIFIED.sub(".", text)
    text = _CALL.sub(_call, text)
    text = _QUOTED.sub(_unquote, text)
    text = _OPEN_SPACE.sub("(", text)
    text = _CLOSE_SPACE.sub(")", text)
    return _COMMA_SPACE.sub(",", text).strip()


def _call(match: re.Match) -> str:
    word = match.group(1)
    return match.group(0) if word in _NOT_CALLS else word + "("


def _unquote(match: re.Match) -> str:
    return match.group(0) if match.group(1).upper() in _keywords() else match.group(1)


@functools.cache
def _keywords() -> frozenset[str]:
    """Words of sqlglot's MySQL keywords (ORDER, GROUP, KEY, ...): these stay quoted."""
    from sqlglot.dialects.mysql import MySQL

    return frozenset(w for key in MySQL.Tokenizer.KEYWORDS for w in key.upper().split())


def is_truncated(digest_text: str) -> bool:
    """True if the server cut the digest text (``...`` at the end, max_digest_length)."""
    return bool(_TRUNCATED.search(digest_text))


def join_key(fingerprint: str) -> str:
    """A key on which a perfschema class and a slow-log class of one statement agree.

    Fingerprints without whitespace and backticks, runs of ``?`` as one (a digest writes
    ``- ?`` where pt-query-digest reads ``-3`` as one literal), ``<>`` as ``!=`` (MariaDB's
    digests spell it so).

    >>> join_key("select * from `a` where id = ? ?") == join_key("select * from a where id=?")
    True
    >>> join_key("select ? from t where s <> ?") == join_key("SELECT ? FROM `t` WHERE `s` != ?")
    True
    """
    return _PLACEHOLDER_RUN.sub("?", _LOOSE.sub("", fingerprint.lower()).replace("<>", "!="))
