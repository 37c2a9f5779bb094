"""`dbtune analyze ...`: which query classes cost the most, and why."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dbtune.cli.analyze_perfschema import perfschema
from dbtune.cli.common import (
    Group,
    alert_status,
    emit,
    fail,
    fail_on_option,
    options,
    parse_when,
    report_options,
)
from dbtune.model import InputError

MAX_WARNINGS_SHOWN = 10


@click.group(cls=Group)
def analyze() -> None:
    """Digest query activity from slow logs or performance_schema."""


def order_key(value: str) -> str:
    """Validate METRIC:STAT (or 'count') for --order-by."""
    from dbtune.model import STATS

    if value == "count":
        return value
    metric, _, stat = value.partition(":")
    if not metric or stat not in STATS:
        raise click.BadParameter(f"expected METRIC:STAT with STAT in {', '.join(STATS)}, "
                                 f"e.g. query_time:sum, rows_examined:max, or 'count'")
    return value


#: --top/--order-by/--min-count/--details, --fail-on and the report options
ranking_options = options(
    click.option("--top", type=click.IntRange(min=0), default=20, show_default=True,
                 help="Show the N costliest classes (0 for all)."),
    click.option("--order-by", default="query_time:sum", show_default=True,
                 callback=lambda ctx, param, value: order_key(value),
                 help="Rank by METRIC:STAT (query_time:sum, rows_examined:p95, ...) "
                      "or count."),
    click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True,
                 help="Hide classes seen fewer times."),
    click.option("--details", type=click.IntRange(min=0), default=5, show_default=True,
                 help="Per-class detail blocks after the profile (table/markdown)."),
    fail_on_option(),
    report_options,
)


@analyze.command("slowlog")
@click.argument("paths", nargs=-1, required=True)
@click.option("--since", help="Only events at or after this time (ISO, or 12h / 7d ago).")
@click.option("--until", help="Only events before this time (ISO, or 12h / 7d ago).")
@click.option("--database", multiple=True, help="Only events in this database (repeatable).")
@click.option("--user", multiple=True, help="Only events of this user (repeatable).")
@click.option("--host", multiple=True, help="Only events from this client host (repeatable).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per core for large plain files).")
@click.option("--dask-scheduler", metavar="ADDRESS",
              help="Digest on this Dask scheduler's workers (pip install 'dbtune[scale]').")
@click.option("--dask", type=click.Choice(["local"]),
              help="Digest on a local Dask cluster started for this run.")
@click.option("--label",
              help="Name of the server the logs come from (kept per class in a saved digest).")
@click.option("--save", "save", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Also write the digest's mergeable state to this Parquet file.")
@ranking_options
def slowlog(paths: tuple[str, ...], top: int, order_by: str, since: str | None,
            until: str | None, database: tuple[str, ...], user: tuple[str, ...],
            host: tuple[str, ...],
            min_count: int, jobs: int | None, details: int, dask_scheduler: str | None,
            dask: str | None, label: str | None,
            save: Path | None, fail_on,
            fmt: str, output: Path | None, width: int | None) -> None:
    """Digest slow-query logs: PATHS are files, globs, .gz files, or - for stdin.

    Exit status: 0 done, 1/3 a --fail-on warning/critical threshold reached, 2 error or
    no input readable, 4 some inputs not read (the report is partial).
    """
    from dbtune.digest import digest_slowlog

    start, end = parse_when(since), parse_when(until)
    if start is not None and end is not None and start >= end:
        fail(f"--since {since} is not before --until {until}")
    if dask_scheduler and dask:
        fail("--dask-scheduler and --dask: give one")
    try:
        digest = digest_slowlog(list(paths), since=start, until=end,
                                database=database or None, user=user or None,
                                host=host or None, jobs=jobs, label=label,
                                scheduler=dask_scheduler or dask,
                                progress=sys.stderr.isatty())
    except InputError as exc:
        fail(str(exc))
    if save is not None:
        digest.save(save)
    report_digest(digest, top, order_by, min_count, details, fail_on, fmt, output, width)


@analyze.command("digest")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ranking_options
def digest_files(paths: tuple[Path, ...], top: int, order_by: str, min_count: int,
                 details: int, fail_on, fmt: str, output: Path | None,
                 width: int | None) -> None:
    """Report on digests saved by `analyze slowlog --save`, merged (same report and exit
    status as `analyze slowlog` of all their logs)."""
    from dbtune.digest import merge_digests

    try:
        digest = merge_digests(list(paths))
    except InputError as exc:
        fail(str(exc))
    report_digest(digest, top, order_by, min_count, details, fail_on, fmt, output, width)


def report_digest(digest, top: int, order_by: str, min_count: int, details: int, fail_on,
                  fmt: str, output: Path | None, width: int | None) -> None:
    """Warnings, the DigestReport, then exit with the --fail-on / partial-input status."""
    from dbtune.report.slowlog import DigestReport

    report_warnings(digest.summary)
    check_metric(digest, order_by)
    emit(DigestReport(digest, order_by=order_by, top=top or None, min_count=min_count,
                      details=details), output, fmt, width)
    status = alert_status(digest.ranked(min_count=min_count), fail_on)
    sys.exit(status or (4 if digest.summary.get("inputs_failed") else 0))


def check_metric(digest, order_by: str) -> None:
    """Fail when --order-by names a metric no class of this input has (a typo ranks nothing)."""
    metric = order_by.partition(":")[0]
    if order_by == "count" or not digest.classes:
        return
    known = {name for c in digest.classes for name in c.metrics}
    if metric not in known:
        fail(f"--order-by {order_by}: no class has metric {metric!r}; "
             f"this input has {', '.join(sorted(known))}")


def report_warnings(summary: dict) -> None:
    """The first few skipped entries, one line each, then how many more."""
    warnings = summary.get("warnings", [])
    for line in warnings[:MAX_WARNINGS_SHOWN]:
        click.echo(f"dbtune: warning: {line}", err=True)
    hidden = summary.get("skipped", 0) - min(len(warnings), MAX_WARNINGS_SHOWN)
    if hidden > 0:
        click.echo(f"dbtune: warning: ... {hidden} more skipped entries not shown", err=True)
    for failed in summary.get("inputs_failed") or []:
        click.echo(f"dbtune: error: {failed['path']}: {failed['reason']} (not read)", err=True)


analyze.add_command(perfschema)
