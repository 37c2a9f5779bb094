"""`dbtune analyze perfschema`: query classes, plan problems and index usage of a live server."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dbtune.cli.common import (
    RELATIVE_TIME,
    UNIT_SECONDS,
    connection_options,
    emit,
    fail,
    format_options,
)

if TYPE_CHECKING:
    from dbtune.sandbox import ConnectionSpec

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
@click.option("--ask-password", is_flag=True, help="Prompt for the password.")
@click.option("--connect-timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True,
              help="Seconds to wait for the server to answer.")
@click.option("--read-timeout", type=click.FloatRange(min=0, min_open=True), default=120.0,
              show_default=True,
              help="Seconds to wait for one query's result.")
@click.option("--interval", callback=lambda ctx, param, value: parse_interval(value),
              help="Report only what runs during this window (60s, 5m): two snapshots.")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="Report what ran since this saved snapshot (see --snapshot).")
@click.option("--snapshot", "save_to", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the current snapshot to FILE (JSON), to compare later.")
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
@format_options
def perfschema(dsn: str | None, defaults_file: str | None, ask_password: bool,
               connect_timeout: float, read_timeout: float, interval: float | None,
               baseline: Path | None, save_to: Path | None, show: str, top: int, order_by: str,
               min_count: int, details: int, fmt: str, output: Path | None) -> None:
    """Digest performance_schema statement summaries of a running server."""
    import pymysql

    from dbtune.ingest.perfschema import Snapshot, read_snapshot
    from dbtune.ingest.perfschema_digest import PerfSchemaDigest
    from dbtune.model import InputError
    from dbtune.sandbox import ConnectionSpec, SandboxError

    if interval is not None and baseline is not None:
        fail("give either --interval or --baseline, not both")
    if show in ("index-usage", "unused-indexes") and (interval or baseline or save_to):
        fail(f"--show {show} reads counters since the server started: "
             f"--interval, --baseline and --snapshot do not apply")
    spec = None  # errors name the server once it is known (a bad --baseline file is not it)
    try:
        before = Snapshot.load(baseline) if baseline is not None else None
        spec = ConnectionSpec.resolve(dsn, defaults_file=defaults_file)
        if ask_password:
            spec = replace(spec, password=click.prompt("Password", hide_input=True, err=True))
        spec = replace(spec, connect_timeout=connect_timeout, read_timeout=read_timeout)
        with spec.connect() as connection:
            if show in ("index-usage", "unused-indexes"):
                emit(_index_report(connection, show, fmt), output)
                return
            if interval is not None:
                before = read_snapshot(connection)
                click.echo(f"dbtune: sampling for {interval:g}s ...", err=True)
                time.sleep(interval)
            after = read_snapshot(connection)
        if save_to is not None:
            after.save(save_to)
            click.echo(f"dbtune: snapshot written to {save_to}", err=True)
        digest = PerfSchemaDigest(after, before)
    except (InputError, SandboxError) as exc:
        fail(_on(spec, exc))
    except OSError as exc:
        fail(f"{exc.filename or 'output'}: {exc.strerror or exc}")
    except pymysql.err.MySQLError as exc:  # e.g. no SELECT privilege on performance_schema
        fail(_on(spec, f"reading performance_schema failed: "
                       f"{exc.args[-1] if exc.args else exc}"))
    for note in digest.notes:
        click.echo(f"dbtune: warning: {note}", err=True)
    emit(_digest_report(digest, show, fmt, order_by, top, min_count, details), output)


def _on(spec: ConnectionSpec | None, message: object) -> str:
    """``message`` prefixed with the server it is about (password masked), once known."""
    text = str(message)
    if spec is None or spec.dsn() in text:
        return text
    return f"{spec.dsn()}: {text}"


def _digest_report(digest, show: str, fmt: str, order_by: str, top: int, min_count: int,
                   details: int) -> str:
    from dbtune.report.formats import render_rows
    from dbtune.report.slowlog import render_digest

    if show == "classes":
        from dbtune.cli.analyze import check_metric

        check_metric(digest, order_by)
        classes = digest.ranked(order_by=order_by, top=top or None, min_count=min_count)
        return render_digest(digest, classes, fmt, order_by=order_by, details=details)
    from dbtune.ingest.perfschema_usage import problem_statements
    from dbtune.report.formats import redact_secrets

    frame = problem_statements(digest, show)
    if top:
        frame = frame.head(top)
    frame["sample"] = frame["sample"].map(redact_secrets)
    return render_rows(frame.to_dict("records"), fmt)


def _index_report(connection, show: str, fmt: str) -> str:
    from dbtune.ingest.perfschema_usage import index_usage_frame, unused_indexes
    from dbtune.report.formats import render_rows

    if show == "index-usage":
        return render_rows(index_usage_frame(connection).to_dict("records"), fmt)
    frame = unused_indexes(connection)
    click.echo(f"dbtune: warning: {frame.attrs['caveat']}", err=True)
    return render_rows(frame.to_dict("records"), fmt)
