"""The client libraries a replay can use: pymysql (pure Python, always installed) and
mysqlclient (``MySQLdb``, a C extension over libmariadb/libmysqlclient; the ``fast`` extra).

>>> driver = get_driver("auto")          # mysqlclient when importable, else pymysql
>>> connection = driver.connect(server.spec, "shop")                   # doctest: +SKIP

Both connect alike: autocommit, utf8mb4, TCP unless the spec names a socket, no
multi-statements (so one replayed statement is always one statement), and the same
affected-rows semantics (no CLIENT_FOUND_ROWS).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pymysql

from dbtune.sandbox import ConnectionSpec, SandboxError

DriverName = Literal["auto", "pymysql", "mysqlclient"]
DRIVERS: tuple[str, ...] = ("auto", "pymysql", "mysqlclient")


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


def get_driver(name: DriverName | str = "auto") -> Driver:
    """The driver called ``name``: "pymysql", "mysqlclient", or "auto" (mysqlclient when
    importable, else pymysql). Raise ValueError for another name and DriverUnavailable
    when mysqlclient is asked for but not installed."""
    if name not in DRIVERS:
        raise ValueError(f"unknown driver {name!r}: expected one of {', '.join(DRIVERS)}")
    if name == "pymysql" or (name == "auto" and not mysqlclient_available()):
        return PYMYSQL
    try:
        import MySQLdb
    except ImportError as exc:
        raise DriverUnavailable(
            f"driver mysqlclient is not available ({exc}): pip install mysqlclient "
            "(it builds against libmariadb-dev, found by pkg-config)") from None
    return Driver("mysqlclient", (MySQLdb.MySQLError,), _connect_mysqlclient, _mysqlclient_executor)


def driver_of(connection: Any) -> Driver:
    """The driver a connection made elsewhere belongs to (pymysql unless it is MySQLdb's)."""
    if type(connection).__module__.startswith("MySQLdb"):
        return get_driver("mysqlclient")
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
        raise SandboxError(f"cannot connect to {spec.dsn()}: {message}") from None


PYMYSQL = Driver("pymysql", (pymysql.err.MySQLError,), _connect_pymysql, _pymysql_executor)
