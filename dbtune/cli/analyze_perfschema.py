"""`dbtune analyze perfschema`: query classes, plan problems and index usage of a live server."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dbtune.cli.common import (
    RELATIVE_TIME,
    UNIT_SECONDS,
    ServerOptions,
    alert_status,
    connection_options,
    emit,
    fail,
    fail_on_option,
    one_line_errors,
    report_options,
)

SHOW = ("classes", "full-scans", "tmp-disk", "sort-merge", "index-usage", "unused-indexes")


def parse_interval(value: str | None) -> float | None:
    """``60s``, ``5m``, ``1h`` or plain seconds -> seconds (None passes through)."""
    if value is None:
        return None
    text = value.strip()
    match = RELATIVE_TIME.match(text)
    try:
        seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2)] if match else float(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a duration (60s, 5m, 1h)") from None
    if not 0 < seconds < 86400:
        raise click.BadParameter(f"{value!r}: the interval must be between 0s and 24h")
    return seconds


def _order_key(value: str) -> str:
    from dbtune.cli.analyze import order_key

    return order_key(value)


@click.command("perfschema")
@connection_options("mysql://user@host:port/ of the server to read (read-only; $DBTUNE_DSN; "
                    "credentials also from ~/.my.cnf).")
@click.option("--read-timeout", type=click.FloatRange(min=0, min_open=True), default=120.0,
              show_default=True,
              help="Seconds to wait for one query's result.")
@click.option("--interval", callback=lambda ctx, param, value: parse_interval(value),
              help="Report only what runs during this window (60s, 5m): two snapshots.")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="Report what ran since this saved snapshot (see --snapshot).")
@click.option("--snapshot", "save_to", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the current snapshot to FILE (JSON, mode 0600), to compare "
                   "later.")
@click.option("--show", type=click.Choice(SHOW), default="classes", show_default=True,
              help="What to report: query classes, a plan problem, or index usage.")
@click.option("--top", type=click.IntRange(min=0), default=20, show_default=True,
              help="Show the N costliest classes (0 for all).")
@click.option("--order-by", default="query_time:sum", show_default=True,
              callback=lambda ctx, param, value: _order_key(value),
              help="Rank by METRIC:STAT (query_time:sum, rows_examined:sum, ...) or count.")
@click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True,
              help="Hide classes seen fewer times.")
@click.option("--details", type=click.IntRange(min=0), default=5, show_default=True,
              help="Per-class detail blocks after the profile (table/markdown).")
@fail_on_option()
@report_options
def perfschema(server_options: ServerOptions, read_timeout: float, interval: float | None,
               baseline: Path | None, save_to: Path | None, show: str, top: int, order_by: str,
               min_count: int, details: int, fail_on, fmt: str, output: Path | None,
               width: int | None) -> None:
    """Digest performance_schema statement summaries of a running server.

    Exit status: 0 done, 1/3 a --fail-on warning/critical threshold reached, 2 error.
    """
    from dbtune.ingest.perfschema import read_index_usage, sample_perfschema
    from dbtune.report.document import Table

    if interval is not None and baseline is not None:
        fail("give either --interval or --baseline, not both")
    if show in ("index-usage", "unused-indexes") and (interval or baseline or save_to):
        fail(f"--show {show} reads counters since the server started: "
             f"--interval, --baseline and --snapshot do not apply")
    with one_line_errors():
        if baseline is not None and not baseline.is_file():  # before the server is resolved
            fail(f"{baseline}: no such snapshot file")
        spec = server_options.spec(read_timeout=read_timeout)
        if show in ("index-usage", "unused-indexes"):
            frame = read_index_usage(spec, unused=show == "unused-indexes")
            notes = [frame.attrs["caveat"]] if "caveat" in frame.attrs else []
            for note in notes:
                click.echo(f"dbtune: warning: {note}", err=True)
            emit(Table(frame.to_dict("records"), notes=notes), output, fmt, width)
            return
        digest = sample_perfschema(spec, interval=interval, baseline=baseline, save_to=save_to,
                                   on_sampling=lambda s: click.echo(
                                       f"dbtune: sampling for {s:g}s ...", err=True))
    if save_to is not None:
        click.echo(f"dbtune: snapshot written to {save_to}", err=True)
    for note in digest.notes:
        click.echo(f"dbtune: warning: {note}", err=True)
    emit(_report(digest, show, order_by, top, min_count, details, spec.label()),
         output, fmt, width)
    sys.exit(alert_status(digest.ranked(min_count=min_count), fail_on))


def _report(digest, show: str, order_by: str, top: int, min_count: int, details: int,
            server: str):
    from dbtune.report.document import Table
    from dbtune.report.slowlog import DigestReport

    if show == "classes":
        from dbtune.cli.analyze import check_metric

        check_metric(digest, order_by)
        return DigestReport(digest, order_by=order_by, top=top or None, min_count=min_count,
                            details=details, server=server)
    from dbtune.ingest.perfschema_usage import problem_statements

    frame = problem_statements(digest, show)
    rows = (frame.head(top) if top else frame).to_dict("records")
    return Table(rows, shrink="fingerprint", hidden=("sample",))
