"""`dbtune sandbox up|status|down`: a detached local server for manual work."""

from __future__ import annotations

import re

import click

from dbtune.cli.common import Group, fail
from dbtune.sandbox import detached
from dbtune.sandbox.errors import SandboxError


@click.group(cls=Group)
def sandbox() -> None:
    """A disposable local MySQL/MariaDB server (slow log and performance_schema on)."""


@sandbox.command()
@click.option(
    "--long-query-time",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds above which statements go to the slow log.",
)
@click.option(
    "--buffer-pool-size",
    default="256M",
    show_default=True,
    callback=lambda ctx, param, value: _size(value),
    help="innodb_buffer_pool_size of the server.",
)
@click.option("--show-password", is_flag=True, help="Print the DSN with its password.")
def up(long_query_time: float, buffer_pool_size: str, show_password: bool) -> None:
    """Start a detached sandbox server and print its DSN."""
    try:
        started = detached.up(long_query_time=long_query_time, buffer_pool_size=buffer_pool_size)
    except SandboxError as exc:
        fail(str(exc), 1)
    _show(started, show_password)


@sandbox.command()
@click.option("--show-password", is_flag=True, help="Print the DSN with its password.")
def status(show_password: bool) -> None:
    """Show the sandbox started by `up` (exit 1 when none is running)."""
    try:
        current = detached.status()
    except SandboxError as exc:
        fail(str(exc), 1)
    if current is None:
        fail("no sandbox (start one with `dbtune sandbox up`)", 1)
    _show(current, show_password)
    if not current.running:
        fail("the sandbox server is not running (`dbtune sandbox down` clears it)", 1)


@sandbox.command()
def down() -> None:
    """Stop the sandbox and remove its temp directory."""
    try:
        stopped = detached.down()
    except SandboxError as exc:
        fail(str(exc), 1)
    click.echo("no sandbox was running" if stopped is None else f"stopped {stopped.server.dsn()}")


def _size(value: str) -> str:
    """A server size as mysqld reads it: digits, optionally K, M, G, T, P or E."""
    if not re.fullmatch(r"\d+[KMGTPE]?", value, re.IGNORECASE):
        raise click.BadParameter(f"{value!r}: expected a size such as 256M, 1G or 134217728")
    return value


def _show(current: detached.Detached, show_password: bool) -> None:
    server = current.server
    rows = {
        "dsn": server.dsn(reveal_password=show_password),
        "server": f"{server.flavour} {server.version}",
        "state": "running" if current.running else "not running",
        "pid": current.pid,
        "socket": server.socket,
        "datadir": server.datadir,
        "slow_log": server.slow_log_path,
    }
    for key, value in rows.items():
        click.echo(f"{key + ':':10}{value}")
