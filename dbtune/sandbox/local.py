"""The ``local`` backend: a mysqld/mariadbd from this machine in a fresh temp directory.

Layout of one sandbox (``$TMPDIR/dbtune-sandbox-XXXX/``): ``data/`` (datadir, holds
``slow.log``), ``tmp/``, ``mysqld.sock``, ``mysqld.pid``, ``error.log``, ``console.log``
and ``owner`` (pid and start time of the Python process it belongs to, for the sweep).
The server runs with ``--no-defaults`` (no /etc/mysql config is read), listens on a free
port of 127.0.0.1 only, and root gets a random password. :meth:`LocalSandbox.stop` kills
the process and removes the whole directory, whatever state the server is in.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql

from dbtune.connect import ConnectionSpec
from dbtune.sandbox.datadir import (
    INSTALL_HINT,
    MARIADB_LOG_FILE_SIZE,
    binary_version,
    find_server_binary,
    flavour_of,
    populate,
)
from dbtune.sandbox.errors import BackendUnavailable, ServerStartError
from dbtune.sandbox.server import Server, describe

LOG_TAIL_LINES = 20
PREFIX = "dbtune-sandbox-"
OWNER_FILE = "owner"
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes including the final NUL


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a text file ('' if it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class LocalSandbox:
    """One disposable mysqld/mariadbd process and its temp directory."""

    def __init__(
        self,
        *,
        long_query_time: float = 0.0,
        buffer_pool_size: str = "256M",
        server_args: Sequence[str] = (),
        binary: str | None = None,
        detached: bool = False,
        startup_timeout: float = 60.0,
    ) -> None:
        self.binary = binary or find_server_binary()
        if self.binary is None:
            raise BackendUnavailable(
                f"no mariadbd or mysqld found on PATH or in /usr/sbin: {INSTALL_HINT}"
            )
        self.version_line = binary_version(self.binary)
        self.flavour = flavour_of(self.version_line)
        self.long_query_time = long_query_time
        self.buffer_pool_size = buffer_pool_size
        self.server_args = list(server_args)
        self.detached = detached
        self.startup_timeout = startup_timeout
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def start(self) -> Server:
        """Initialise a datadir, start the server, wait until it answers; return it."""
        if not self.detached:
            sweep_orphans()
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX))
        if len(str(self.root / "mysqld.sock")) > MAX_SOCKET_PATH:
            raise ServerStartError(
                f"temp directory {self.root.parent} is too deep for a unix socket path "
                f"(max {MAX_SOCKET_PATH} characters): set TMPDIR to a shorter directory"
            )
        if not self.detached:  # a detached sandbox has no owner: `sandbox down` removes it
            (self.root / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())}")
        (self.root / "tmp").mkdir()
        populate(self.datadir, self.binary, self.version_line)
        for _attempt in range(3):  # a free port can be taken between probe and bind
            port = free_port()
            self._launch(port)
            try:
                return self._wait_and_configure(port)
            except ServerStartError:
                if "already in use" not in tail(self.root / "error.log", 5):
                    raise
                self._kill()
        raise ServerStartError(f"no free port for the sandbox server\n{self._logs()}")

    def stop(self) -> None:
        """Kill the server (if any) and remove the temp directory; safe to call twice."""
        self._kill()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def command(self, port: int) -> list[str]:
        """The full server command line (``--no-defaults`` first, as mysqld requires)."""
        assert self.root is not None
        args = [
            self.binary,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--tmpdir={self.root / 'tmp'}",
            f"--socket={self.root / 'mysqld.sock'}",
            f"--pid-file={self.root / 'mysqld.pid'}",
            f"--log-error={self.root / 'error.log'}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--local-infile=1",
            "--slow-query-log=1",
            f"--slow-query-log-file={self.datadir / 'slow.log'}",
            f"--long-query-time={self.long_query_time}",
            "--performance-schema=ON",
            "--performance-schema-consumer-events-statements-current=ON",
            "--performance-schema-consumer-events-statements-history-long=ON",
            f"--innodb-buffer-pool-size={self.buffer_pool_size}",
            "--innodb-flush-log-at-trx-commit=2",
            "--innodb-buffer-pool-dump-at-shutdown=0",
            "--innodb-buffer-pool-load-at-startup=0",
        ]
        if self.flavour == "mariadb":
            args += [
                "--log-slow-verbosity=query_plan,explain",
                f"--innodb-log-file-size={MARIADB_LOG_FILE_SIZE}",
            ]
        else:
            args += ["--log-slow-extra=ON", "--mysqlx=OFF"]
        if os.geteuid() == 0:
            args.append("--user=root")
        return args + self.server_args

    def _launch(self, port: int) -> None:
        assert self.root is not None
        with open(self.root / "console.log", "ab") as console:
            self.process = subprocess.Popen(
                self.command(port),
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=None if self.detached else _die_with_parent,
            )

    def _wait_and_configure(self, port: int) -> Server:
        assert self.root is not None and self.process is not None
        sock = str(self.root / "mysqld.sock")
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"{Path(self.binary).name} exited with code {self.process.returncode} "
                    f"during startup\n{self._logs()}"
                )
            try:
                connection = pymysql.connect(
                    unix_socket=sock, user="root", password="", connect_timeout=2, autocommit=True
                )
                break
            except pymysql.err.MySQLError:
                if time.monotonic() > deadline:
                    raise ServerStartError(
                        f"{Path(self.binary).name} did not answer within "
                        f"{self.startup_timeout:.0f}s\n{self._logs()}"
                    ) from None
                time.sleep(0.1)
        password = secrets.token_urlsafe(18)
        with connection:
            flavour, version = describe(connection)
            with connection.cursor() as cursor:
                _unrecorded(cursor)
                cursor.execute("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", (password,))
                cursor.execute(
                    "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY %s", (password,)
                )
                cursor.execute("ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY %s", (password,))
                cursor.execute(
                    "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION"
                )
        spec = ConnectionSpec(host="127.0.0.1", port=port, user="root", password=password)
        return Server(
            spec=spec,
            flavour=flavour,
            version=version,
            backend="local",
            disposable=True,
            slow_log_path=str(self.datadir / "slow.log"),
            datadir=str(self.datadir),
            socket=sock,
        )

    def _logs(self) -> str:
        assert self.root is not None
        parts = [
            f"--- {name} (last lines) ---\n{text}"
            for name in ("error.log", "console.log")
            if (text := tail(self.root / name))
        ]
        return "\n".join(parts) or "(the server wrote no log)"

    def _kill(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def sweep_orphans(base: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove sandboxes whose owning process died without tearing them down (kill -9).

    Looks at ``<base or tempdir>/dbtune-sandbox-*`` with an owner file naming a process
    that no longer runs; kills a server still running there, removes the directory.
    """
    removed: list[Path] = []
    if _start_time(os.getpid()) is None:  # no /proc: cannot tell live owners from dead ones
        return removed
    for root in Path(base or tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            if root.stat().st_uid != os.getuid():
                continue
            pid, started = (root / OWNER_FILE).read_text().split()
            owner = int(pid)
        except (OSError, ValueError):  # detached, being created, or not ours
            continue
        if _start_time(owner) == started:
            continue
        try:
            server_pid = int((root / "mysqld.pid").read_text())
            if str(root).encode() in Path(f"/proc/{server_pid}/cmdline").read_bytes():
                os.kill(server_pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


def _start_time(pid: int) -> str | None:
    """The start time of a live (non-zombie) process, None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


@contextmanager
def start_local(
    *,
    long_query_time: float = 0.0,
    buffer_pool_size: str = "256M",
    server_args: Sequence[str] = (),
) -> Iterator[Server]:
    """Context manager: a started LocalSandbox, torn down on any exit (SIGTERM included)."""
    sandbox = LocalSandbox(
        long_query_time=long_query_time, buffer_pool_size=buffer_pool_size, server_args=server_args
    )
    try:
        with _sigterm_interrupts():
            yield sandbox.start()
    finally:
        sandbox.stop()


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt, so teardown code still runs.

    KeyboardInterrupt (not SystemExit) because pytest stops the session on it. Installed
    only in the main thread and only when nobody else handles SIGTERM.
    """
    install = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    )
    if install:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        if install:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL if the parent dies (Linux prctl)."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _unrecorded(cursor: Any) -> None:
    """Keep this session's next statements (they carry the root password) out of the slow
    log (long_query_time 0 would log them) and out of performance_schema's history."""
    cursor.execute("SET SESSION long_query_time = 3600")
    with contextlib.suppress(pymysql.err.MySQLError):  # performance_schema may be off
        cursor.execute("UPDATE performance_schema.threads SET INSTRUMENTED = 'NO' "
                       "WHERE PROCESSLIST_ID = CONNECTION_ID()")
