"""`dbtune workload load|run`: load a fixture and replay its workload on a server."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import click

import dbtune.workload.drivers  # noqa: F401 - loads the connector's C extension before pandas
from dbtune.cli import common

FIXTURES = ("marketplace",)


target_options = common.connection_options(
    "Server to use (mysql://user@host:port/); default: the sandbox started by "
    "`dbtune sandbox up`.", disposable=True, database_help="Database holding the fixture.",
    database_default="marketplace")


@contextlib.contextmanager
def _server(server_options: common.ServerOptions, disposable: bool) -> Iterator:
    """The server of the one rule (:func:`dbtune.sandbox.dsn.resolve_target`); the
    sandbox of `dbtune sandbox up` is disposable. Errors, in reaching it or in the body,
    are one line (:func:`~dbtune.cli.common.one_line_errors`)."""
    from dbtune.sandbox import start_server
    from dbtune.sandbox.detached import status
    from dbtune.sandbox.dsn import SANDBOX_ORIGIN
    from dbtune.workload.marketplace import LoadError

    with common.one_line_errors(LoadError), contextlib.ExitStack() as stack:
        spec = server_options.spec()
        current = status() if spec.origin == SANDBOX_ORIGIN else None
        yield current.server if current is not None else stack.enter_context(
            start_server("dsn", dsn=spec, disposable=disposable))


@click.group(cls=common.Group)
def workload() -> None:
    """Fixtures and their workloads: load the data, replay the traffic."""


@workload.command()
@click.option("--fixture", type=click.Choice(FIXTURES), default="marketplace", show_default=True)
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Size factor (1.0 is the calibrated default).")
@click.option("--seed", type=int, default=42, show_default=True, help="Data seed.")
@target_options
def load(fixture: str, scale: float, seed: int, server_options: common.ServerOptions,
         disposable: bool, database: str) -> None:
    """Create the fixture's tables (primary keys only) in DATABASE and fill them."""
    from tqdm import tqdm

    from dbtune.workload.marketplace import load_marketplace

    with (_server(server_options, disposable) as server,
          tqdm(unit=" rows", unit_scale=True, desc=fixture, leave=False,
               disable=not sys.stderr.isatty()) as bar):
        counts = load_marketplace(server, database, scale=scale, seed=seed,
                                  on_progress=lambda table, rows: bar.update(rows))
    for table, rows in counts.items():
        click.echo(f"{table:22}{rows:>12,}")
    click.echo(f"loaded {sum(counts.values()):,} rows into {database} on {server.dsn()}")


@workload.command()
@click.option("--fixture", type=click.Choice(FIXTURES), default="marketplace", show_default=True)
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Scale the fixture was loaded at.")
@common.replay_options(per_round=False, warmup=0)
@target_options
@common.report_options
def run(fixture: str, scale: float, count: int | None, duration: float | None,
        concurrency: int, warmup: int, seed: int, read_only: bool,
        server_options: common.ServerOptions, disposable: bool, database: str, fmt: str,
        output: Path | None,
        width: int | None) -> None:
    """Replay the fixture's weighted query mix and report latency per template."""
    from tqdm import tqdm

    from dbtune.workload.report import RunReport
    from dbtune.workload.runner import run_workload
    from dbtune.workload.spec import marketplace_spec

    if (count is None) == (duration is None):
        common.fail("give exactly one of --count N or --duration SECONDS")
    with _server(server_options, disposable) as server:
        with server.connect() as connection, connection.cursor() as cursor:
            if not cursor.execute("SHOW DATABASES LIKE %s", (database,)):
                common.fail(f"database {database!r} not found on {server.dsn()}: "
                     f"run `dbtune workload load --database {database}` first")
        with tqdm(total=count, unit=" statements", leave=False,
                  disable=not sys.stderr.isatty()) as bar:
            result = run_workload(server, marketplace_spec(scale), database=database,
                                  count=count, duration=duration, concurrency=concurrency,
                                  warmup=warmup, read_only=read_only, seed=seed,
                                  on_progress=lambda done: bar.update(done - bar.n))
    common.emit(RunReport(result, server.spec.label()), output, fmt, width)
    for name, message in result.error_samples.items():
        click.echo(f"dbtune: {result.errors[name]} error(s) in {name}: {message}", err=True)
