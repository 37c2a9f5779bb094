"""`dbtune report nightly`: the morning report for cron (a thin layer over dbtune.nightly)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dbtune.cli import common

#: the fields of dbtune.nightly.Thresholds as options: (name, type, default, help); the
#: defaults are the library's (a test holds them equal) without importing it for --help
THRESHOLDS = (
    ("warning_ms", click.FloatRange(min=0), 200.0, "p95 above this is a warning."),
    ("critical_ms", click.FloatRange(min=0), 500.0, "p95 above this is critical."),
    ("ratio", click.FloatRange(min=1), 2.0,
     "p95 or total time up by more than this factor is a regression."),
    ("min_events", click.IntRange(min=1), 10,
     "Least events (today and in the baseline) for a regression or threshold."),
    ("lookback_days", click.IntRange(min=1), 7,
     "Days before the report's day that form the baseline."),
)


def threshold_options(function):
    """--warning-ms, --critical-ms, --ratio, --min-events, --lookback-days (:data:`THRESHOLDS`)."""
    for name, kind, default, text in reversed(THRESHOLDS):
        function = click.option(f"--{name.replace('_', '-')}", name, type=kind, default=default,
                                show_default=True, help=text)(function)
    return function


@click.group(cls=common.Group)
def report() -> None:
    """Reports over time: the nightly report with history."""


@report.command("nightly")
@click.argument("paths", nargs=-1)
@click.option("--history", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="SQLite file holding the history (created on first use).")
@click.option("--perfschema", "snapshots", nargs=2, metavar="BEFORE AFTER",
              type=click.Path(exists=True, dir_okay=False),
              help="Instead of slow logs: two saved snapshots (dbtune analyze perfschema --save).")
@click.option("--schema", "schemas", multiple=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="DDL file of the schema, for index and hygiene advice (repeatable).")
@common.connection_options("mysql://user@host:port/db: read the schema from this server "
                    "(read-only) when no --schema is given.", envvar=False,
                    database_help="Schema to read on the --dsn server.")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]),
              help="Report this calendar day of the log (default: the day of the last event).")
@click.option("--since", help="Only events at or after this time (ISO, or 12h / 7d ago).")
@click.option("--until", help="Only events before this time (ISO, or 12h / 7d ago).")
@threshold_options
@click.option("--keep-days", type=click.IntRange(min=0), default=90, show_default=True,
              help="Drop history days older than this (0 keeps all).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="Classes detailed in the report (plus every class a finding names).")
@click.option("--propose", "propose_dir", metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Also write the migration proposal of the advice (dbtune propose) into "
                   "DIR (needs --schema).")
@common.report_options
def nightly(paths: tuple[str, ...], history: Path, snapshots: tuple[str, str] | None,
            schemas: tuple[Path, ...], server_options: common.ServerOptions,
            database: str | None, day,
            since: str | None, until: str | None, keep_days: int, top: int,
            propose_dir: Path | None, fmt: str, output: Path | None, width: int | None,
            **thresholds: float) -> None:
    """The morning report: PATHS are the day's slow logs (files, globs, .gz); --format html
    writes one self-contained page.

    Exit status: 0 clean, 1 warnings, 3 critical, 2 error.
    """
    from dbtune.nightly import Thresholds, nightly_report

    if bool(paths) == bool(snapshots):
        common.fail("give the day's slow logs (PATHS) or --perfschema BEFORE AFTER")
    with common.one_line_errors(unexpected=True):  # cron reads exit 1 as "warnings": never crash
        result = nightly_report(
            list(paths), history=history, perfschema=snapshots or (), schemas=schemas,
            dsn=server_options.given(), database=database,
            day=day.date() if day else None, since=common.parse_when(since),
            until=common.parse_when(until),
            thresholds=Thresholds(**thresholds), keep_days=keep_days or None, top=top,
            propose=propose_dir, progress=sys.stderr.isatty())
    common.emit(result.render(fmt, common.terminal_width(width, output)), output)
    sys.exit(result.exit_status)

