"""Finding a local server binary and giving a sandbox a freshly initialised datadir.

Initialising a datadir (``mariadb-install-db`` / ``mysqld --initialize-insecure``) takes
0.5-3 s; copying one takes under 0.1 s. So the first sandbox of a given server binary
builds a template under ``$XDG_CACHE_HOME/dbtune/datadirs/`` (else ``~/.cache``) and every
sandbox gets a copy. Templates appear atomically (built aside, then renamed), so concurrent
first starts are safe; when the cache is not writable each sandbox initialises its own.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from dbtune.sandbox.errors import BackendUnavailable, ServerStartError

SERVER_BINARIES = ("mariadbd", "mysqld")
EXTRA_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin")
INSTALL_HINT = "install one (apt-get install mariadb-server) or start Docker"
#: redo log size for MariaDB datadirs (also passed at start, so no resize happens)
MARIADB_LOG_FILE_SIZE = "16M"
OUTPUT_TAIL_LINES = 20


def find_server_binary() -> str | None:
    """Path of mariadbd or mysqld on PATH or in the usual sbin directories, else None."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *EXTRA_DIRS])
    for name in SERVER_BINARIES:
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


def binary_version(binary: str) -> str:
    """The ``<binary> --version`` line, e.g. ``mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 ...``."""
    result = subprocess.run(
        [binary, "--no-defaults", "--version"], capture_output=True, text=True, timeout=30
    )
    return (result.stdout + result.stderr).strip()


def flavour_of(version_line: str) -> str:
    """ "mariadb" or "mysql" from a ``--version`` line."""
    return "mariadb" if "mariadb" in version_line.lower() else "mysql"


def cache_dir() -> Path:
    """Where datadir templates are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "dbtune" / "datadirs"


def populate(datadir: Path, binary: str, version_line: str) -> None:
    """Fill the (not yet existing) ``datadir`` with an initialised system database."""
    try:
        template = _template(binary, version_line)
    except OSError:  # cache not writable: initialise in place
        initialise(datadir, binary, version_line)
        return
    shutil.copytree(template, datadir, symlinks=True)


def initialise(datadir: Path, binary: str, version_line: str) -> None:
    """Run the flavour's initialisation into ``datadir``; ServerStartError with its output."""
    user = ["--user=root"] if os.geteuid() == 0 else []
    if flavour_of(version_line) == "mariadb":
        search = os.pathsep.join([str(Path(binary).parent), "/usr/bin", "/usr/local/bin"])
        install_db = shutil.which("mariadb-install-db", path=search) or shutil.which(
            "mysql_install_db", path=search
        )
        if install_db is None:
            raise BackendUnavailable(f"mariadb-install-db not found: {INSTALL_HINT}")
        command = [
            install_db, "--no-defaults", "--auth-root-authentication-method=normal",
            "--skip-test-db", f"--innodb-log-file-size={MARIADB_LOG_FILE_SIZE}",
            f"--datadir={datadir}", *user,
        ]  # fmt: skip
    else:
        command = [binary, "--no-defaults", "--initialize-insecure", f"--datadir={datadir}", *user]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-OUTPUT_TAIL_LINES:])
        raise ServerStartError(
            f"{Path(command[0]).name} failed (exit {result.returncode}):\n{output}"
        )


def _template(binary: str, version_line: str) -> Path:
    """The cached initialised datadir for this binary, built on first use."""
    key = hashlib.sha256(f"{os.path.realpath(binary)}\n{version_line}".encode()).hexdigest()
    template = cache_dir() / f"{flavour_of(version_line)}-{key[:16]}"
    if template.is_dir():
        return template
    template.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=template.parent))
    try:
        initialise(building / "data", binary, version_line)
        try:
            os.rename(building / "data", template)
        except OSError:  # another process finished first
            if not template.is_dir():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return template
