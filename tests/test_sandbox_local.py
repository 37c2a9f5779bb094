"""The local backend and the pytest fixtures, against real mariadbd/mysqld processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pymysql
import pytest

from dbtune.sandbox import Server, ServerStartError, start_server
from dbtune.sandbox.datadir import binary_version, find_server_binary, flavour_of, populate
from dbtune.sandbox.local import sweep_orphans

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(find_server_binary() is None, reason="no mariadbd/mysqld installed"),
]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except (OSError, IndexError):
        return "X"


def _server_pid(server: Server) -> int:
    assert server.datadir is not None
    return int((Path(server.datadir).parent / "mysqld.pid").read_text())


def test_server_contract(dbtune_server: Server) -> None:
    server = dbtune_server
    assert server.backend == "local" and server.disposable
    assert server.host == "127.0.0.1" and server.port not in (0, 3306)
    assert server.user == "root" and len(server.password) >= 16
    assert server.flavour in ("mariadb", "mysql")
    assert server.version[0].isdigit()
    assert server.socket and Path(server.socket).is_socket()
    assert server.datadir and Path(server.datadir).is_dir()
    assert server.dsn() == f"mysql://root:***@127.0.0.1:{server.port}/"
    assert server.password in server.dsn(reveal_password=True)
    assert server.password not in repr(server) + str(server)
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT @@port, @@bind_address, @@local_infile, @@log_bin")
        assert cursor.fetchone() == (server.port, "127.0.0.1", 1, 0)


def test_wrong_password_is_refused(dbtune_server: Server) -> None:
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(
            host=dbtune_server.host,
            port=dbtune_server.port,
            user="root",
            password="not-the-password",
            connect_timeout=5,
        )


def test_performance_schema_is_on(dbtune_server: Server) -> None:
    with dbtune_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT @@performance_schema")
        assert cursor.fetchone() == (1,)
        cursor.execute("SELECT 42 AS perfschema_probe")
        cursor.execute(
            "SELECT COUNT(*) FROM performance_schema.events_statements_summary_by_digest "
            "WHERE DIGEST_TEXT LIKE %s",
            ("%perfschema_probe%",),
        )
        assert cursor.fetchone()[0] >= 1
        cursor.execute(
            "SELECT ENABLED FROM performance_schema.setup_consumers "
            "WHERE NAME = 'events_statements_history_long'"
        )
        assert cursor.fetchone() == ("YES",)


def test_slow_log_fills(dbtune_server: Server, dbtune_database: str) -> None:
    assert dbtune_server.slow_log_path is not None
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
        cursor.executemany("INSERT INTO t VALUES (%s, %s)", [(i, f"v{i}") for i in range(50)])
        cursor.execute("SELECT COUNT(*) FROM t WHERE v = 'slowlog-marker'")
        # the server logs a statement after answering it; the next statement on the
        # same connection is read only once that entry is written
        cursor.execute("DO 0")
    text = Path(dbtune_server.slow_log_path).read_text()
    marker = "SELECT COUNT(*) FROM t WHERE v = 'slowlog-marker'"
    assert marker in text
    entry = text[text.rindex("# Query_time", 0, text.index(marker)) : text.index(marker)]
    assert "Rows_examined: 50" in entry
    if dbtune_server.flavour == "mariadb":
        assert "# explain:" in text  # log_slow_verbosity=query_plan,explain


def test_root_password_is_in_no_log() -> None:
    """The statements setting it are kept out of the slow log and performance_schema."""
    with start_server("local") as server, server.connect() as connection:
        with connection.cursor() as cursor:
            cursor.execute("DO 0")  # the slow log entries of earlier statements are written
            cursor.execute("SELECT SQL_TEXT FROM "
                           "performance_schema.events_statements_history_long")
            history = [text for (text,) in cursor.fetchall()]
        assert server.slow_log_path is not None
        slow_log = Path(server.slow_log_path).read_text()
        assert "DO 0" in slow_log and any("DO 0" in text for text in history if text)
        assert server.password and server.password not in slow_log
        assert not [text for text in history if text and server.password in text]


_seen_databases: list[str] = []


def test_database_fixture_gives_an_empty_database(
    dbtune_server: Server, dbtune_database: str
) -> None:
    _seen_databases.append(dbtune_database)
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT DATABASE()")
        assert cursor.fetchone() == (dbtune_database,)
        cursor.execute("SHOW TABLES")
        assert cursor.fetchall() == ()
        cursor.execute("CREATE TABLE leftover (id INT)")


def test_database_fixture_drops_it_afterwards(dbtune_server: Server, dbtune_database: str) -> None:
    assert _seen_databases and dbtune_database not in _seen_databases
    with dbtune_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SHOW DATABASES LIKE %s", (_seen_databases[0],))
        assert cursor.fetchall() == ()


def test_teardown_after_crash() -> None:
    with start_server("local") as server:
        pid = _server_pid(server)
        root = Path(server.datadir).parent  # type: ignore[arg-type]
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    assert not _alive(pid)
    assert not root.exists()


def test_teardown_on_exception() -> None:
    with pytest.raises(RuntimeError, match="boom"), start_server("local") as server:
        pid = _server_pid(server)
        root = Path(server.datadir).parent  # type: ignore[arg-type]
        raise RuntimeError("boom")
    assert not _alive(pid)
    assert not root.exists()


def _holder_script(info: Path) -> str:
    """A Python program that opens a sandbox, writes "pid datadir" to ``info``, and waits."""
    return textwrap.dedent(f"""
        import time
        from dbtune.sandbox import start_server
        with start_server("local") as server:
            pid = open(server.datadir + "/../mysqld.pid").read().strip()
            open({str(info)!r}, "w").write(pid + " " + server.datadir)
            time.sleep(120)
    """)


def test_teardown_on_sigterm(tmp_path: Path) -> None:
    """A script that gets SIGTERM while holding a sandbox still removes it."""
    info = tmp_path / "info"
    script = _holder_script(info)
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not (info.exists() and info.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        pid_text, datadir = info.read_text().split()
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) != 0  # interrupted, after its teardown ran
    finally:
        child.kill()
    assert not _alive(int(pid_text))
    assert not Path(datadir).parent.exists()


def test_owner_killed_outright_leaves_nothing_behind(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """kill -9 of the owning Python: the kernel kills the server, the next start sweeps."""
    info = tmp_path / "info"
    script = _holder_script(info)
    # A short TMPDIR of its own: pytest's numbered tmp_path can exceed a unix socket path.
    sandboxes = Path(tempfile.mkdtemp(prefix="dbtune-t-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(sandboxes, ignore_errors=True))
    child = subprocess.Popen(
        [sys.executable, "-c", script], env={**os.environ, "TMPDIR": str(sandboxes)}
    )
    try:
        deadline = time.monotonic() + 60
        while not (info.exists() and info.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        child.kill()
        child.wait()
    pid_text, datadir = info.read_text().split()
    deadline = time.monotonic() + 10
    while _alive(int(pid_text)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(int(pid_text))  # PR_SET_PDEATHSIG
    assert Path(datadir).exists()
    assert sweep_orphans(sandboxes) == [Path(datadir).parent]
    assert list(sandboxes.iterdir()) == []


def test_sweep_keeps_live_sandboxes(dbtune_server: Server) -> None:
    assert dbtune_server.datadir is not None
    root = Path(dbtune_server.datadir).parent
    assert root not in sweep_orphans(root.parent)
    assert root.exists()


def test_datadir_template_is_built_once_and_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    binary = find_server_binary()
    assert binary is not None
    version_line = binary_version(binary)
    populate(tmp_path / "a", binary, version_line)
    (template,) = (tmp_path / "cache" / "dbtune" / "datadirs").iterdir()
    assert template.name.startswith(flavour_of(version_line) + "-")
    populate(tmp_path / "b", binary, version_line)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        p.name for p in template.iterdir()
    )
    assert (tmp_path / "a" / "mysql").is_dir()
    # copies, not links: a sandbox writing its datadir cannot touch another's or the template
    inodes = {(d / "ibdata1").stat().st_ino for d in (tmp_path / "a", tmp_path / "b", template)}
    assert len(inodes) == 3
    assert [p.name for p in template.parent.iterdir()] == [template.name]  # no build leftovers


def test_start_failure_shows_error_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with (
        pytest.raises(ServerStartError) as caught,
        start_server("local", server_args=["--innodb-page-size=3k"]),
    ):
        pytest.fail("a server with a bad option started")
    message = str(caught.value)
    assert "exited with code" in message
    assert "error.log" in message and "[ERROR]" in message
    assert len(message.splitlines()) <= 45
    assert list(tmp_path.iterdir()) == []  # temp dir removed


def test_too_deep_temp_dir_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    with (
        pytest.raises(ServerStartError, match="set TMPDIR to a shorter directory"),
        start_server("local"),
    ):
        pytest.fail("started with an impossible socket path")
    assert list(deep.iterdir()) == []
