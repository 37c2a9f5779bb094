"""One connection to a disposable server that the measured stages (what-if, verification,
guard) keep through a lost connection.

A statement that outlives the client's ``read_timeout`` (an ALTER waiting on a metadata
lock, an uncapped ANALYZE of a 30 s query) makes pymysql close the socket: every later
statement on that connection fails with ``InterfaceError(0, '')``, while the server goes on
running the old statement - holding its locks, so the next ALTER of that table waits too.
:func:`open_session` sets a :data:`LOCK_WAIT` on the session (an ALTER stuck behind a lock
fails with a clear error instead), and :func:`revive` reconnects the same connection object
in place and KILLs what its old server thread was still running.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pymysql

from dbtune.sandbox import Server

#: seconds an ALTER of the measured stages waits for a table's metadata lock
LOCK_WAIT = 60
#: client error codes of a lost connection (gone away, lost during a query, out of sync,
#: lost while reading)
LOST_CODES = frozenset({0, 2006, 2013, 2014, 2055})


def open_session(server: Server, setup: Sequence[str] = ()) -> Any:
    """A new connection to ``server`` with :data:`LOCK_WAIT` and ``setup`` run on it (kept
    to be run again by :func:`revive`)."""
    connection = server.connect()
    connection.dbtune_setup = (f"SET SESSION lock_wait_timeout = {LOCK_WAIT}", *setup)
    _setup(connection)
    return connection


def lost(exc: BaseException) -> bool:
    """Was the connection lost (rather than the statement refused)?

    >>> lost(pymysql.err.OperationalError(2013, "Lost connection")), lost(
    ...     pymysql.err.InterfaceError(0, "")), lost(pymysql.err.OperationalError(1205, "x"))
    (True, True, False)
    """
    if isinstance(exc, pymysql.err.InterfaceError):
        return True
    return (isinstance(exc, pymysql.err.OperationalError) and bool(exc.args)
            and exc.args[0] in LOST_CODES)


def revive(connection: Any) -> None:
    """Reconnect a lost ``connection`` in place (same object: every holder keeps it), KILL
    the statement its old server thread may still be running, run its setup again.
    Raises pymysql errors when the server does not answer."""
    old = (connection.server_thread_id or (None,))[0]
    if connection.open:
        connection.close()
    connection.connect()
    if old is not None and old != connection.server_thread_id[0]:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"KILL {int(old)}")
        except pymysql.MySQLError:
            pass  # the old thread already ended
    _setup(connection)


def one_line(exc: BaseException) -> str:
    """An error in one line (code and message)."""
    if exc.args and len(exc.args) > 1:
        return f"{exc.args[-1] or 'connection closed'} ({exc.args[0]})"
    return str(exc) or type(exc).__name__


def _setup(connection: Any) -> None:
    with connection.cursor() as cursor:
        for statement in getattr(connection, "dbtune_setup", ()):
            cursor.execute(statement)
