"""Where and how to connect: DSNs, option files and environment, without leaking passwords.

A :class:`ConnectionSpec` is built from ``mysql://user:pass@host:port/db`` (or ``mariadb://``),
optionally completed by a MySQL option file (``--defaults-file``, ``~/.my.cnf``, group
``[client]``) and the environment (``DBTUNE_DSN``, ``MYSQL_PWD``). Its ``repr``/``str`` and
:meth:`ConnectionSpec.dsn` never show the password unless asked to.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pymysql

from dbtune.sandbox.errors import BackendUnavailable, SandboxError
from dbtune.sandbox.server import Server, describe

SCHEMES = ("mysql", "mariadb")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_OPTION_FILE = Path("~/.my.cnf")
_ENCODE = "percent-encode / ? # @ : in the user or password as %2F %3F %23 %40 %3A"


@dataclass(frozen=True)
class ConnectionSpec:
    """Connection parameters for one server; the password stays out of repr and logs."""

    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    socket: str | None = None
    defaults_file: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float | None = 600.0

    def __str__(self) -> str:
        return self.dsn()

    @classmethod
    def from_dsn(cls, dsn: str, **overrides: Any) -> ConnectionSpec:
        """Parse ``mysql://user:pass@host:port/db?socket=/path``; raise SandboxError if bad."""
        expected = "expected mysql://user:password@host:port/database"
        try:
            parts = urlsplit(dsn.strip())
            port = parts.port
        except ValueError as exc:  # "could not be cast ... as 'x'" may quote a password
            reason = f"the port is not a number; {_ENCODE}" if "cast" in str(exc) else str(exc)
            raise SandboxError(f"bad DSN {_redact(dsn)!r}: {reason}") from None
        if parts.scheme not in SCHEMES or "://" not in dsn:
            raise SandboxError(f"bad DSN {_redact(dsn)!r}: {expected}")
        if "@" in dsn and "@" not in parts.netloc:  # the password held a / ? or #
            raise SandboxError(f"bad DSN {_redact(dsn)!r}: {_ENCODE}")
        query = parse_qs(parts.query)
        values: dict[str, Any] = {
            "host": parts.hostname,
            "port": port,
            "user": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password is not None else None,
            "database": unquote(parts.path.lstrip("/")) or None,
            "socket": query["socket"][0] if "socket" in query else None,
        }
        values.update(overrides)
        return cls(**values)

    @classmethod
    def resolve(
        cls,
        dsn: str | None = None,
        *,
        defaults_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ConnectionSpec:
        """The spec a user means: DSN (or $DBTUNE_DSN), option file, then $MYSQL_PWD.

        Values in the DSN win; the option file (``defaults_file``, else ``~/.my.cnf`` when
        it exists) fills what the DSN leaves out; ``MYSQL_PWD`` is the last resort for the
        password.
        """
        env = os.environ if env is None else env
        dsn = dsn or env.get("DBTUNE_DSN")
        spec = cls.from_dsn(dsn) if dsn else cls()
        if defaults_file is not None:
            path = Path(defaults_file).expanduser()
            if not path.is_file():
                raise SandboxError(f"option file not found: {path}")
        else:
            home = DEFAULT_OPTION_FILE.expanduser()
            path = home if home.is_file() else None
        if path is not None:
            spec = spec._fill_from(_read_client_options(path))
            spec = replace(spec, defaults_file=str(path))
        if spec.password is None and env.get("MYSQL_PWD") is not None:
            spec = replace(spec, password=env["MYSQL_PWD"])
        return spec

    def _fill_from(self, options: Mapping[str, str]) -> ConnectionSpec:
        port = options.get("port")
        return replace(
            self,
            host=self.host or options.get("host"),
            port=self.port or (int(port) if port else None),
            user=self.user or options.get("user"),
            password=self.password if self.password is not None else options.get("password"),
            database=self.database or options.get("database"),
            socket=self.socket or options.get("socket"),
        )

    def connect(self, database: str | None = None, **kwargs: Any) -> pymysql.connections.Connection:
        """Open a pymysql connection; failures become one-line SandboxErrors."""
        params: dict[str, Any] = {
            "host": self.host or "127.0.0.1",
            "port": self.port or 3306,
            "user": self.user or "root",
            "password": self.password or "",
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
            "write_timeout": self.read_timeout,
            "charset": "utf8mb4",
            "autocommit": True,
        }
        if self.socket:
            params["unix_socket"] = self.socket
        if database or self.database:
            params["database"] = database or self.database
        params.update(kwargs)
        try:
            return pymysql.connect(**params)
        except pymysql.err.MySQLError as exc:
            raise SandboxError(f"cannot connect to {self.dsn()}: {_error_text(exc)}") from None

    def dsn(self, reveal_password: bool = False) -> str:
        """``mysql://user:***@host:port/db``; the real password only with reveal_password."""
        auth = quote(self.user or "root", safe="")
        if self.password:
            auth += ":" + (quote(self.password, safe="") if reveal_password else "***")
        host = self.host or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        text = f"mysql://{auth}@{host}:{self.port or 3306}/{quote(self.database or '')}"
        if self.socket:
            text += f"?socket={quote(self.socket)}"
        return text


def _read_client_options(path: Path) -> dict[str, str]:
    """The [client] (then [mysql]) options of a MySQL option file."""
    parser = configparser.RawConfigParser(allow_no_value=True, strict=False)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise SandboxError(f"{path}: not a MySQL option file ({type(exc).__name__})") from None
    options: dict[str, str] = {}
    for group in ("mysql", "client"):  # [client] wins
        if parser.has_section(group):
            for key, value in parser.items(group):
                if value is not None:
                    options[key.replace("-", "_")] = value.strip().strip("\"'")
    if "pass" in options and "password" not in options:
        options["password"] = options["pass"]
    if "port" in options and not options["port"].isdigit():  # never fall back to 3306
        raise SandboxError(f"{path}: port {options['port']!r} is not a number")
    return options


def _redact(dsn: str) -> str:
    """The DSN with anything between ``user:`` and the last ``@`` masked (scheme or not)."""
    auth, at, tail = dsn.rpartition("@")
    if not at:
        return dsn
    head, sep, auth = auth.rpartition("//") if "//" in auth else ("", "", auth)
    user, colon, _ = auth.partition(":")
    return f"{head}{sep}{user}{':***' if colon else ''}@{tail}"


def _error_text(exc: pymysql.err.MySQLError) -> str:
    """``(2003, "Can't connect ...")`` -> ``Can't connect ... (2003)``."""
    if len(exc.args) >= 2:
        return f"{exc.args[1]} ({exc.args[0]})"
    return str(exc) or type(exc).__name__


@contextmanager
def start_dsn(
    dsn: str | None = None,
    *,
    disposable: bool = False,
    defaults_file: str | os.PathLike[str] | None = None,
    long_query_time: float | None = None,
) -> Iterator[Server]:
    """The ``dsn`` backend: an existing server, checked to answer; nothing to tear down.

    Its settings are left alone unless it is disposable and ``long_query_time`` is
    given: then the slow log is switched on with it (SET GLOBAL). ``slow_log_path`` and
    ``datadir`` are set only when the server is on this machine and readable here.
    """
    spec = ConnectionSpec.resolve(dsn, defaults_file=defaults_file)
    if not (spec.host or spec.port or spec.socket or spec.defaults_file):
        raise BackendUnavailable(
            "backend 'dsn' needs a DSN (--dsn mysql://user@host:port/, $DBTUNE_DSN) "
            "or an option file (--defaults-file, ~/.my.cnf)"
        )
    with spec.connect() as connection:
        flavour, version = describe(connection)
        with connection.cursor() as cursor:
            if disposable and long_query_time is not None:
                cursor.execute("SET GLOBAL slow_query_log = 1")
                cursor.execute("SET GLOBAL long_query_time = %s", (long_query_time,))
            cursor.execute("SELECT @@datadir, @@slow_query_log_file")
            datadir, slow_log = cursor.fetchone()
    local = spec.socket is not None or (spec.host or "127.0.0.1") in LOCAL_HOSTS
    if slow_log and datadir and not os.path.isabs(slow_log):
        slow_log = os.path.join(datadir, slow_log)
    yield Server(
        spec=spec,
        flavour=flavour,
        version=version,
        backend="dsn",
        disposable=disposable,
        slow_log_path=slow_log if local and slow_log and os.access(slow_log, os.R_OK) else None,
        datadir=datadir if local and datadir and os.path.isdir(datadir) else None,
        socket=spec.socket,
    )
