"""A local sandbox that outlives the command which started it (``dbtune sandbox up``).

Its state (pid, temp directory, port, root password) is kept in ``server.json`` under
``$DBTUNE_STATE_DIR`` or ``~/.cache/dbtune/sandbox/``, readable by its owner only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from dbtune.connect import ConnectionSpec
from dbtune.sandbox.errors import SandboxError
from dbtune.sandbox.local import LocalSandbox
from dbtune.sandbox.server import Server

STATE_FILE = "server.json"


@dataclass(frozen=True)
class Detached:
    """A detached sandbox as recorded in the state file."""

    server: Server
    pid: int
    root: Path

    @property
    def running(self) -> bool:
        """True while its server process is alive (and still the one we started)."""
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return False
        return str(self.root).encode() in cmdline and not _gone(self.pid)


def state_dir() -> Path:
    """Where the state file lives ($DBTUNE_STATE_DIR, else ~/.cache/dbtune/sandbox)."""
    configured = os.environ.get("DBTUNE_STATE_DIR")
    return Path(configured) if configured else Path("~/.cache/dbtune/sandbox").expanduser()


def status() -> Detached | None:
    """The recorded sandbox, or None when none was started (it may have died: see .running)."""
    path = state_dir() / STATE_FILE
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
        spec = ConnectionSpec(**state.pop("spec"))
        pid, root = state.pop("pid"), Path(state.pop("root"))
        return Detached(Server(spec=spec, **state), pid, root)
    except (ValueError, TypeError, KeyError) as exc:
        raise SandboxError(f"{path}: unreadable sandbox state ({exc}); remove it") from None


def up(*, long_query_time: float = 0.0, buffer_pool_size: str = "256M") -> Detached:
    """Start a detached local sandbox and record it; refuse if one is already running."""
    current = status()
    if current is not None and current.running:
        raise SandboxError(
            f"a sandbox is already running at {current.server.dsn()} (`dbtune sandbox down` first)"
        )
    if current is not None:  # died on its own: clear what is left
        down()
    sandbox = LocalSandbox(
        long_query_time=long_query_time, buffer_pool_size=buffer_pool_size, detached=True
    )
    try:
        server = sandbox.start()
        assert sandbox.process is not None and sandbox.root is not None
        detached = Detached(server, sandbox.process.pid, sandbox.root)
        _write_state(detached)
    except BaseException:
        sandbox.stop()
        raise
    sandbox.process = None  # from here on it lives without us
    return detached


def down() -> Detached | None:
    """Stop the recorded sandbox, remove its temp directory and state; None if none."""
    current = status()
    if current is None:
        return None
    if current.running:
        _terminate(current.pid)
    shutil.rmtree(current.root, ignore_errors=True)
    (state_dir() / STATE_FILE).unlink(missing_ok=True)
    return current


def _write_state(detached: Detached) -> None:
    """Record the sandbox (owner-only file); SandboxError when the state directory is unusable."""
    directory = state_dir()
    state = asdict(detached.server)
    state.update(pid=detached.pid, root=str(detached.root))
    path = directory / STATE_FILE
    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise SandboxError(
            f"cannot record the sandbox in {path}: {exc.strerror or exc} "
            "(set $DBTUNE_STATE_DIR to a writable directory)"
        ) from None
    os.fchmod(descriptor, 0o600)  # O_CREAT's mode does not apply to a file left behind
    with os.fdopen(descriptor, "w") as handle:
        json.dump(state, handle, indent=2)


def _terminate(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; return once the process is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while not _gone(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    """True when ``pid`` has exited (reaping it if it is our own child)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(") ", 1)[-1].startswith(("Z", "X"))
