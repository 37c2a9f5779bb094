"""`dbtune sandbox up|status|down` as a user runs it: separate processes, detached server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from dbtune.sandbox.datadir import find_server_binary

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(find_server_binary() is None, reason="no mariadbd/mysqld installed"),
]


def dbtune(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DBTUNE_STATE_DIR": str(state_dir)}
    return subprocess.run(
        [sys.executable, "-m", "dbtune", "sandbox", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def fields(output: str) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in output.splitlines() if ":" in line)
    return {key: value.strip() for key, value in pairs}


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan may stay a zombie until init reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return not stat.rsplit(") ", 1)[-1].startswith(("Z", "X"))


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    dbtune(tmp_path, "down")  # never leave a server behind, whatever the test did


def test_up_status_down(state_dir: Path) -> None:
    started = dbtune(state_dir, "up")
    assert started.returncode == 0, started.stderr
    info = fields(started.stdout)
    state = json.loads((state_dir / "server.json").read_text())
    password = state["spec"]["password"]
    assert info["dsn"] == f"mysql://root:***@127.0.0.1:{state['spec']['port']}/"
    assert password not in started.stdout + started.stderr
    assert (state_dir / "server.json").stat().st_mode & 0o077 == 0
    pid, root = int(info["pid"]), Path(info["datadir"]).parent

    # the server outlived `up` and answers with the recorded password
    with pymysql.connect(
        host="127.0.0.1",
        port=state["spec"]["port"],
        user="root",
        password=password,
        connect_timeout=5,
    ) as connection:
        assert connection.open

    shown = dbtune(state_dir, "status", "--show-password")
    assert shown.returncode == 0 and password in fields(shown.stdout)["dsn"]
    assert fields(shown.stdout)["state"] == "running"

    again = dbtune(state_dir, "up")
    assert again.returncode == 1 and "already running" in again.stderr

    stopped = dbtune(state_dir, "down")
    assert stopped.returncode == 0 and "stopped mysql://root:***@" in stopped.stdout
    assert not running(pid) and not root.exists()
    assert not (state_dir / "server.json").exists()

    after = dbtune(state_dir, "status")
    assert after.returncode == 1 and "no sandbox" in after.stderr


def test_crashed_sandbox_is_reported_and_cleared(state_dir: Path) -> None:
    info = fields(dbtune(state_dir, "up").stdout)
    pid, root = int(info["pid"]), Path(info["datadir"]).parent
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    shown = dbtune(state_dir, "status")
    assert shown.returncode == 1 and "not running" in shown.stderr
    assert dbtune(state_dir, "down").returncode == 0
    assert not root.exists()


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    bad_size = dbtune(tmp_path, "up", "--buffer-pool-size", "lots")
    assert bad_size.returncode == 2 and bad_size.stdout == ""
    assert bad_size.stderr.startswith("dbtune: error:") and bad_size.stderr.count("\n") == 1
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    unusable = dbtune(not_a_dir, "up")  # the state directory is a file: nothing recorded
    assert unusable.returncode == 1 and unusable.stderr.count("\n") == 1
    assert unusable.stderr.startswith(f"dbtune: error: cannot record the sandbox in {not_a_dir}")
