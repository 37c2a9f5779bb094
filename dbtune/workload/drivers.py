"""The client libraries a replay can use: pymysql (pure Python, always installed),
mysqlclient (``MySQLdb``, a C extension built against libmariadb/libmysqlclient: the ``fast``
extra) and mysql-connector-python's C extension (``connector``: wheels only, the
``fast-wheels`` extra).

The connector's C extension is loaded when this module is imported, because it loads only
before pyarrow (imported by pandas) has taken the process's static TLS (``cannot allocate
memory in static TLS block``): the replaying commands import this module first, and a
notebook should too. Its wheels from 9.7 on bring OpenSSL 3.5 (and 26.x link the system's
3.2+), which does not load once Python's hashlib has loaded an OpenSSL 3.0 system library:
hence the pin ``<9.7`` of the extra. :func:`connector_problem` says why it did not load.

>>> driver = get_driver("auto")          # mysqlclient, else connector, else pymysql
>>> connection = driver.connect(server.spec, "shop")                   # doctest: +SKIP

Both connect alike: autocommit, utf8mb4, TCP unless the spec names a socket, no
multi-statements (so one replayed statement is always one statement), and the same
affected-rows semantics (no CLIENT_FOUND_ROWS).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pymysql

from dbtune.connect import ConnectError, ConnectionSpec
from dbtune.sandbox import SandboxError

DriverName = Literal["auto", "pymysql", "mysqlclient", "connector"]
DRIVERS: tuple[str, ...] = ("auto", "pymysql", "mysqlclient", "connector")


class DriverUnavailable(SandboxError):
    """The requested client library is not installed."""


Execute = Callable[[str], int]


@dataclass(frozen=True)
class Driver:
    """One client library: how to connect, which exceptions are server/client errors (each
    carrying ``args == (errno, message)``), and ``executor(connection)``: a function that
    runs one statement, reads all its rows, and returns how many rows it returned or
    affected (the replay's hot path, so as little Python per statement as the library
    allows)."""

    name: str
    errors: tuple[type[Exception], ...]
    connect: Callable[[ConnectionSpec, str | None], Any]
    executor: Callable[[Any], Execute]


def mysqlclient_available() -> bool:
    """Whether ``MySQLdb`` (mysqlclient) can be imported."""
    return importlib.util.find_spec("MySQLdb") is not None


def _load_connector() -> str | None:
    """Load mysql-connector-python's C extension; None when it loaded, else why not."""
    if importlib.util.find_spec("mysql") is None or importlib.util.find_spec(
            "mysql.connector") is None:
        return "mysql-connector-python is not installed"
    try:
        import _mysql_connector  # noqa: F401 - the C extension itself, for its error
    except ImportError as exc:
        return f"its C extension does not load: {exc}"
    return None


#: why the connector's C extension is not usable in this process (None: it is)
_CONNECTOR_PROBLEM = _load_connector()


def connector_problem() -> str | None:
    """Why mysql-connector-python's C extension cannot be used here (None when it can)."""
    return _CONNECTOR_PROBLEM


def connector_available() -> bool:
    """Whether mysql-connector-python's C extension loaded (when this module was imported)."""
    return _CONNECTOR_PROBLEM is None


def get_driver(name: DriverName | str = "auto") -> Driver:
    """The driver called ``name``: "pymysql", "mysqlclient", "connector", or "auto"
    (mysqlclient when importable, else connector's C extension when it loads, else
    pymysql). Raise ValueError for another name and DriverUnavailable when a C driver is
    asked for but not installed."""
    if name not in DRIVERS:
        raise ValueError(f"unknown driver {name!r}: expected one of {', '.join(DRIVERS)}")
    if name == "auto" and not mysqlclient_available():
        name = "connector" if connector_available() else "pymysql"
    if name == "pymysql":
        return PYMYSQL
    if name == "connector":
        if not connector_available():
            raise DriverUnavailable(
                f"driver connector is not available ({connector_problem()}): pip install "
                "'dbtune[fast-wheels]' (mysql-connector-python>=9.1,<9.7, its C extension "
                "from wheels), and import dbtune.workload.drivers before pandas")
        from mysql.connector import Error
        return Driver("connector", (Error,), _connect_connector, _connector_executor)
    try:
        import MySQLdb
    except ImportError as exc:
        raise DriverUnavailable(
            f"driver mysqlclient is not available ({exc}): pip install mysqlclient "
            "(it builds against libmariadb-dev, found by pkg-config)") from None
    return Driver("mysqlclient", (MySQLdb.MySQLError,), _connect_mysqlclient, _mysqlclient_executor)


def driver_of(connection: Any) -> Driver:
    """The driver a connection made elsewhere belongs to (pymysql unless it is MySQLdb's or
    mysql-connector's)."""
    module = type(connection).__module__
    if module.startswith("MySQLdb"):
        return get_driver("mysqlclient")
    if module.startswith("mysql.connector"):
        return get_driver("connector")
    return PYMYSQL


def _connect_pymysql(spec: ConnectionSpec, database: str | None) -> Any:
    return spec.connect(database)


def _pymysql_executor(connection: Any) -> Execute:
    cursor = connection.cursor()

    def execute(sql: str) -> int:
        affected = cursor.execute(sql)
        return len(cursor.fetchall()) if cursor.description else affected

    return execute


def _mysqlclient_executor(connection: Any) -> Execute:
    """The C API's calls straight from MySQLdb's connection, without a cursor."""
    query, store, affected = connection.query, connection.store_result, connection.affected_rows
    next_result = connection.next_result

    def execute(sql: str) -> int:
        query(sql)
        result = store()
        rows = affected() if result is None else len(result.fetch_row(0))
        while next_result() == 0:  # a CALL's further result sets
            store()
        return rows

    return execute


def _connect_mysqlclient(spec: ConnectionSpec, database: str | None) -> Any:
    import MySQLdb

    params: dict[str, Any] = {
        # "localhost" would make the C library use its default socket; pymysql means TCP
        "host": "127.0.0.1" if spec.host in (None, "localhost") else spec.host,
        "port": spec.port or 3306, "user": spec.user or "root", "password": spec.password or "",
        "connect_timeout": max(1, round(spec.connect_timeout)), "charset": "utf8mb4",
        "autocommit": True, "multi_statements": False,
    }
    if spec.read_timeout:
        params["read_timeout"] = params["write_timeout"] = max(1, round(spec.read_timeout))
    if spec.socket:
        params["unix_socket"] = spec.socket
        params["host"] = "localhost"
    if database or spec.database:
        params["database"] = database or spec.database
    try:
        return MySQLdb.connect(**params)
    except MySQLdb.MySQLError as exc:
        message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        raise ConnectError(spec.scrub(f"cannot connect to {spec.label()}: {message}")) from None


#: the connector's C connect, one thread at a time: two threads inside it at once crashed the
#: process once (SIGSEGV in ``_cmysql.connect``, in a full test run beside MySQLdb)
_CONNECTOR_CONNECTS = threading.Lock()


def _connect_connector(spec: ConnectionSpec, database: str | None) -> Any:
    import mysql.connector
    from mysql.connector.constants import ClientFlag

    params: dict[str, Any] = {
        "client_flags": [-ClientFlag.MULTI_STATEMENTS, -ClientFlag.FOUND_ROWS],
        "host": "127.0.0.1" if spec.host in (None, "localhost") else spec.host,
        "port": spec.port or 3306, "user": spec.user or "root", "password": spec.password or "",
        "connection_timeout": max(1, round(spec.connect_timeout)), "charset": "utf8mb4",
        "autocommit": True, "use_pure": False, "buffered": False, "get_warnings": False,
    }
    if spec.socket:
        params["unix_socket"] = spec.socket
    if database or spec.database:
        params["database"] = database or spec.database
    try:
        with _CONNECTOR_CONNECTS:
            connection = mysql.connector.connect(**params)
    except mysql.connector.Error as exc:
        message = exc.msg if getattr(exc, "msg", None) else str(exc)
        raise ConnectError(spec.scrub(f"cannot connect to {spec.label()}: {message}")) from None
    if not type(connection).__module__.endswith("connection_cext"):  # never time the pure one
        connection.close()
        raise DriverUnavailable("driver connector: mysql-connector-python gave its pure-Python "
                                "connection, not the C extension's")
    return connection


def _connector_executor(connection: Any) -> Execute:
    """The C extension's own connection object, which CMySQLConnection wraps (its
    ``cmd_query``/``get_rows`` add Python per statement and per row: measured 27% slower on
    primary-key lookups), with its errors raised as mysql.connector raises them."""
    from _mysql_connector import MySQLInterfaceError
    from mysql.connector.errors import get_mysql_exception

    raw = connection._cmysql  # noqa: SLF001 - the pinned (<9.7) extension's own object
    query, fetch_row, free, more, next_result = (raw.query, raw.fetch_row, raw.free_result,
                                                 raw.more_results, raw.next_result)

    def drain() -> int:
        rows = 0
        while fetch_row() is not None:
            rows += 1
        free()
        return rows

    def execute(sql: str) -> int:
        try:
            query(sql)
            rows = drain() if raw.have_result_set else raw.affected_rows()
            while more():  # a CALL's further result sets
                next_result()
                if raw.have_result_set:
                    drain()
        except MySQLInterfaceError as exc:
            raise get_mysql_exception(exc.errno, msg=exc.msg, sqlstate=exc.sqlstate) from None
        return rows

    return execute


PYMYSQL = Driver("pymysql", (pymysql.err.MySQLError,), _connect_pymysql, _pymysql_executor)
