"""Where and how to connect to any server: DSNs, option files and environment, no leaks.

A :class:`ConnectionSpec` is built from ``mysql://user:pass@host:port/db`` (or
``mariadb://``), completed by MySQL option files read as the ``mysql`` client reads them
(``--defaults-file``, else ``~/.my.cnf`` and ``~/.mylogin.cnf``; groups ``[client]``,
``[client-server]``, ``[client-mariadb]``, ``[mysql]``; ``!include`` and ``!includedir``)
and the environment (``DBTUNE_DSN``, ``MYSQL_PWD``). Its ``repr``/``str``, :meth:`dsn` and
every error message never show the password.

The userinfo of a DSN ends at its *last* ``@``, so a password may hold ``@``, ``/``, ``?``
or ``#`` as typed; percent-encoded passwords (``p%40ss``) are decoded.

>>> spec = ConnectionSpec.from_dsn("mysql://root:p@ss/w0rd@127.0.0.1:3306/shop")
>>> (spec.user, spec.password, spec.host, spec.port, spec.database)
('root', 'p@ss/w0rd', '127.0.0.1', 3306, 'shop')
>>> spec.dsn()
'mysql://root:***@127.0.0.1:3306/shop'
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pymysql

from dbtune.model import InputError

SCHEMES = ("mysql", "mariadb")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Option files read when no --defaults-file is given (as the mysql client, per user).
DEFAULT_OPTION_FILES = (Path("~/.my.cnf"),)
#: Groups of an option file a client reads, in the mysql/mariadb clients' order.
CLIENT_GROUPS = ("client", "client-server", "client-mariadb", "mysql")
#: Passwords shorter than this are not scrubbed from server messages (it would garble them).
_SCRUB_MIN = 4


class ConnectError(InputError):
    """A server cannot be reached with what the user gave (bad DSN, option file, refused
    connection, wrong password): one line, never the password."""


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
    #: an option file said ``password`` with no value: ask for it (as the mysql client does)
    ask_password: bool = False
    #: where the target came from ("--dsn", "$DBTUNE_DSN", an option file, ...)
    origin: str | None = None

    def __str__(self) -> str:
        return self.dsn()

    @classmethod
    def from_dsn(cls, dsn: str, **overrides: Any) -> ConnectionSpec:
        """Parse ``mysql://user:pass@host:port/db?socket=/path``; raise ConnectError if bad."""
        text = dsn.strip()
        scheme, sep, rest = text.partition("://")
        if not sep:
            scheme, rest = "", text
        userinfo, at, location = rest.rpartition("@")
        shown = f"{scheme}{sep}{_masked_userinfo(userinfo)}{at}{location}"
        if scheme not in SCHEMES or not sep:
            raise ConnectError(f"bad DSN {shown!r}: expected "
                               "mysql://user:password@host:port/database")
        try:
            parts = urlsplit(f"mysql://{location}")
            port = parts.port
        except ValueError as exc:
            raise ConnectError(f"bad DSN {shown!r}: {exc}") from None
        user, colon, password = userinfo.partition(":")
        query = parse_qs(parts.query)
        values: dict[str, Any] = {
            "host": parts.hostname,
            "port": port,
            "user": unquote(user) if user else None,
            "password": unquote(password) if colon else None,
            "database": unquote(parts.path.lstrip("/")) or None,
            "socket": query["socket"][0] if "socket" in query else None,
        }
        values.update(overrides)
        return cls(**values)

    @classmethod
    def resolve(
        cls,
        dsn: str | ConnectionSpec | None = None,
        *,
        defaults_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ConnectionSpec:
        """The spec a user means: DSN (or $DBTUNE_DSN), option files, then $MYSQL_PWD.

        Values in the DSN win; the option files (``defaults_file``, else ``~/.my.cnf`` and
        ``~/.mylogin.cnf`` when they exist) fill what the DSN leaves out; ``MYSQL_PWD`` is
        the last resort for the password. A ConnectionSpec (one already resolved, its
        password prompted for, its timeouts set) is returned as it is, so every library
        call taking a DSN takes one too.
        """
        if isinstance(dsn, ConnectionSpec):
            return dsn
        env = os.environ if env is None else env
        origin = "--dsn" if dsn else "$DBTUNE_DSN" if env.get("DBTUNE_DSN") else None
        dsn = dsn or env.get("DBTUNE_DSN")
        spec = cls.from_dsn(dsn) if dsn else cls()
        if defaults_file is not None:
            path = Path(defaults_file).expanduser()
            if not path.is_file():
                raise ConnectError(f"option file not found: {path}")
            files = [path]
        else:
            files = [p.expanduser() for p in DEFAULT_OPTION_FILES if p.expanduser().is_file()]
        options: dict[str, str | None] = {}
        for path in files:
            options.update(read_option_file(path))
        login = _login_path_file(env) if defaults_file is None else None
        if login is not None:
            options.update(login[1])
            files.append(login[0])
        if files:
            spec = replace(spec._fill_from(options), defaults_file=str(files[0]))
            if origin is None and any(options.get(k) for k in ("host", "port", "socket")):
                origin = ", ".join(str(p) for p in files)
        if spec.password is None and env.get("MYSQL_PWD") is not None:
            spec = replace(spec, password=env["MYSQL_PWD"])
        return replace(spec, origin=origin)

    @property
    def names_server(self) -> bool:
        """Whether a host, port or socket was given (else the client defaults apply)."""
        return bool(self.host or self.port or self.socket)

    def _fill_from(self, options: Mapping[str, str | None]) -> ConnectionSpec:
        port = options.get("port")
        bare_password = "password" in options and options["password"] is None
        return replace(
            self,
            host=self.host or options.get("host"),
            port=self.port or (int(port) if port else None),
            user=self.user or options.get("user"),
            password=self.password if self.password is not None else options.get("password"),
            database=self.database or options.get("database"),
            socket=self.socket or options.get("socket"),
            ask_password=self.ask_password or (bare_password and self.password is None),
        )

    def with_password_from(self, prompt: Callable[[], str], ask: bool = False) -> ConnectionSpec:
        """This spec with the password ``prompt()`` returns, when ``ask`` or an option file
        had a bare ``password`` line."""
        if ask or self.ask_password:
            return replace(self, password=prompt(), ask_password=False)
        return self

    def connect(self, database: str | None = None, **kwargs: Any) -> pymysql.connections.Connection:
        """Open a pymysql connection; failures become one-line ConnectErrors."""
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
        except (pymysql.err.MySQLError, OSError, ValueError) as exc:
            raise ConnectError(self.scrub(f"cannot connect to {self.label()}: "
                                          f"{error_text(exc)}")) from None

    def scrub(self, text: str) -> str:
        """``text`` with this spec's password (when long enough to be told apart) masked."""
        if self.password and len(self.password) >= _SCRUB_MIN:
            for form in {self.password, quote(self.password, safe=""), quote(self.password)}:
                text = text.replace(form, "***")
        return text

    def dsn(self, reveal_password: bool = False) -> str:
        """``mysql://user:***@host:port/db``; the real password only with reveal_password."""
        auth = quote(self.user or "root", safe="")
        if self.password:
            auth += ":" + (quote(self.password, safe="") if reveal_password else "***")
        if self.socket and not self.host:
            return f"mysql://{auth}@localhost/{quote(self.database or '')}" \
                   f"?socket={quote(self.socket)}"
        host = self.host or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        text = f"mysql://{auth}@{host}:{self.port or 3306}/{quote(self.database or '')}"
        if self.socket:
            text += f"?socket={quote(self.socket)}"
        return text

    def label(self) -> str:
        """The server as a report header names it: the DSN (password masked), and where
        the target came from when it was not the --dsn option."""
        origin = f" (from {self.origin})" if self.origin and self.origin != "--dsn" else ""
        return self.dsn() + origin

    def is_local(self) -> bool:
        """Whether the server is on this machine (a socket, or a loopback host)."""
        return self.socket is not None or (self.host or "127.0.0.1") in LOCAL_HOSTS


def _masked_userinfo(userinfo: str) -> str:
    user, colon, _ = userinfo.partition(":")
    return f"{user}:***" if colon else user


_INCLUDE = re.compile(r"^!(include|includedir)\s+(.+?)\s*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "s": " ", "\\": "\\",
            "'": "'", '"': '"'}


def read_option_file(path: Path, groups: tuple[str, ...] = CLIENT_GROUPS,
                     _seen: frozenset[Path] = frozenset()) -> dict[str, str | None]:
    """The client options of a MySQL option file, as the mysql client reads it.

    Groups ``groups`` only; later lines win; ``!include FILE`` and ``!includedir DIR``
    (its ``*.cnf`` files, sorted) are read in place; ``#``/``;`` comments; quoted values
    with the client's escapes; a bare option (``password``) maps to None.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConnectError(f"{path}: cannot read the option file "
                           f"({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    return parse_options(text, path, groups, _seen | {path.resolve()})


def parse_options(text: str, path: Path, groups: tuple[str, ...] = CLIENT_GROUPS,
                  _seen: frozenset[Path] = frozenset()) -> dict[str, str | None]:
    """Options of option-file ``text`` (read from ``path``) in ``groups``.

    >>> parse_options("[client]\\nuser = app\\npassword\\n[mysqld]\\nport=1\\n", Path("x"))
    {'user': 'app', 'password': None}
    """
    options: dict[str, str | None] = {}
    group: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        include = _INCLUDE.match(line)
        if include:
            options.update(_included(path, include.group(1), include.group(2), groups, _seen))
        elif line.startswith("["):
            if not line.endswith("]"):
                raise ConnectError(f"{path}:{number}: bad group header")
            group = line[1:-1].strip().lower()
        elif group is None:
            raise ConnectError(f"{path}:{number}: an option before any [group]")
        elif group in groups:
            key, eq, value = line.partition("=")
            name = key.strip().lower().replace("-", "_")
            options[name] = _value(value) if eq else None
    if "pass" in options and "password" not in options:
        options["password"] = options.pop("pass")
    port = options.get("port")
    if port is not None and not port.isdigit():  # never fall back to 3306
        raise ConnectError(f"{path}: port {port!r} is not a number")
    return options


def _included(path: Path, kind: str, target: str, groups: tuple[str, ...],
              seen: frozenset[Path]) -> dict[str, str | None]:
    where = (path.parent / Path(target).expanduser()).resolve()
    if kind == "include":
        files = [where]
    elif where.is_dir():
        files = sorted(p for p in where.iterdir() if p.suffix in (".cnf", ".ini"))
    else:
        return {}  # the clients skip a missing !includedir
    options: dict[str, str | None] = {}
    for file in files:
        if file.resolve() not in seen:
            options.update(read_option_file(file, groups, seen))
    return options


def _value(text: str) -> str:
    """An option value: quoted (with escapes) or bare (up to a ``#`` comment)."""
    text = text.strip()
    if text[:1] in ("'", '"'):
        quote_char, out, i = text[0], [], 1
        while i < len(text) and text[i] != quote_char:
            if text[i] == "\\" and i + 1 < len(text):
                i += 1
                out.append(_ESCAPES.get(text[i], "\\" + text[i]))
            else:
                out.append(text[i])
            i += 1
        return "".join(out)
    return text.split("#", 1)[0].rstrip()


def _login_path_file(env: Mapping[str, str]) -> tuple[Path, dict[str, str | None]] | None:
    """``~/.mylogin.cnf`` (or $MYSQL_TEST_LOGIN_FILE) decoded by ``myloginpath`` (extra
    ``mylogin``), when both are there; its ``[client]`` group."""
    path = Path(env.get("MYSQL_TEST_LOGIN_FILE") or "~/.mylogin.cnf").expanduser()
    if not path.is_file():
        return None
    try:
        import myloginpath
    except ImportError:
        return None
    try:
        text = myloginpath.read(str(path))
    except Exception as exc:  # a damaged or foreign file: say which, never its content
        raise ConnectError(f"{path}: cannot decode the login path file "
                           f"({type(exc).__name__})") from None
    return path, parse_options(text, path)


def error_text(exc: BaseException) -> str:
    """``(2003, "Can't connect ...")`` -> ``Can't connect ... (2003)``."""
    if isinstance(exc, pymysql.err.MySQLError) and len(exc.args) >= 2:
        return f"{exc.args[1]} ({exc.args[0]})"
    return str(exc) or type(exc).__name__
