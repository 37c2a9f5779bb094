"""The :class:`Server` every backend hands out, and the disposability guard writers call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pymysql

from dbtune.sandbox.errors import NotDisposableError

if TYPE_CHECKING:
    from dbtune.connect import ConnectionSpec

Flavour = Literal["mariadb", "mysql"]
Backend = Literal["local", "docker", "dsn"]


@dataclass(frozen=True)
class Server:
    """A running MySQL/MariaDB server and how to reach it (same shape for every backend)."""

    spec: ConnectionSpec
    flavour: Flavour
    version: str
    backend: Backend
    disposable: bool
    slow_log_path: str | None = None
    datadir: str | None = None
    #: the unix socket when the server is on this machine (connect() uses TCP unless the
    #: spec itself names a socket)
    socket: str | None = None

    @property
    def host(self) -> str:
        return self.spec.host or "127.0.0.1"

    @property
    def port(self) -> int:
        return self.spec.port or 3306

    @property
    def user(self) -> str:
        return self.spec.user or "root"

    @property
    def password(self) -> str:
        return self.spec.password or ""

    def connect(self, database: str | None = None, **kwargs: Any) -> pymysql.connections.Connection:
        """A new pymysql connection (autocommit, utf8mb4); kwargs go to pymysql.connect."""
        return self.spec.connect(database, **kwargs)

    def dsn(self, reveal_password: bool = False) -> str:
        """``mysql://root:***@127.0.0.1:PORT/``; the password only with reveal_password."""
        return self.spec.dsn(reveal_password)

    def __str__(self) -> str:
        return f"{self.flavour} {self.version} ({self.backend}) at {self.dsn()}"


def require_disposable(server: Server, action: str) -> None:
    """Raise NotDisposableError unless ``server`` may be written to (call before any write)."""
    if not server.disposable:
        raise NotDisposableError(
            f"refusing to {action} on {server.dsn()}: not marked disposable (--disposable)"
        )


def describe(connection: pymysql.connections.Connection) -> tuple[Flavour, str]:
    """(flavour, "X.Y.Z") of the server behind an open connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        (full,) = cursor.fetchone()
    match = re.match(r"\d+\.\d+\.\d+", full)
    flavour: Flavour = "mariadb" if "mariadb" in full.lower() else "mysql"
    return flavour, match.group(0) if match else full
