"""`dbtune advise partitions`: RANGE partitioning advice (a thin layer over
dbtune.advise.partitioning). Registered in the ``advise`` group by dbtune/cli/advise.py."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from dbtune.cli import common


@click.command("partitions")
@common.workload_options("DDL file of the schema (repeatable); else read from --dsn (with sizes).")
@common.connection_options("mysql://user@host:port/db: schema, sizes and the column's MIN/MAX "
                    "(read-only); with --disposable also the --verify server.", envvar=False,
                    disposable=True, database_help="Schema to read on the --dsn server.")
@click.option("--min-rows", type=click.IntRange(min=0), default=1_000_000, show_default=True,
              help="A table this large (rows) is a candidate ...")
@click.option("--min-mb", type=click.FloatRange(min=0), default=1024.0, show_default=True,
              help="... or this large (data + indexes, MiB).")
@click.option("--retention", multiple=True, metavar="TABLE=DAYS",
              callback=common.per_table(lambda days: float(days.rstrip("d")),
                                 "TABLE=DAYS, e.g. audit_log=365"),
              help="Days of rows to keep (else read from the purge DELETEs); repeatable.")
@click.option("--max-partitions", type=click.IntRange(min=2), default=50, show_default=True,
              help="Live partitions to aim for when choosing day, week or month.")
@click.option("--ahead", type=click.IntRange(min=1), default=3, show_default=True,
              help="Empty partitions kept ahead of today.")
@click.option("--force", "force", multiple=True, metavar="TABLE",
              help="Partition TABLE even where the estimate says losers outweigh winners "
                   "(never past a blocking check); repeatable.")
@click.option("--verify", is_flag=True,
              help="Partition each advised table on the --disposable server, EXPLAIN and run "
                   "every class before/after, then restore it.")
@common.report_options
def partitions(slowlogs: tuple[str, ...], perfschema: bool, schemas: tuple[Path, ...],
               server_options: common.ServerOptions, database: str | None, disposable: bool,
               min_rows: int, min_mb: float, retention: dict[str, float], max_partitions: int,
               ahead: int,
               force: tuple[str, ...], verify: bool, fmt: str, output: Path | None,
               width: int | None) -> None:
    """RANGE partitioning where it pays (pruning, DROP PARTITION purges), and why not elsewhere."""
    from dbtune.advise.partitioning import Thresholds, advise_partitions
    from dbtune.catalog import load_catalog
    from dbtune.sandbox import start_server

    common.check_workload_inputs(slowlogs, perfschema, schemas, server_options.dsn, verify=verify,
                          disposable=disposable, verify_does="partitions tables")
    options = dict(thresholds=Thresholds(min_rows, int(min_mb * 2**20)), retention=retention,
                   max_live=max_partitions, ahead=ahead, force=force)
    connection = None
    with common.one_line_errors(), contextlib.ExitStack() as stack:
        spec = server_options.given()
        catalog = load_catalog(schemas, dsn=None if schemas else spec, database=database)
        if spec is not None:
            connection = spec.connect(database or spec.database)
            stack.callback(connection.close)
        workload = _workload(slowlogs, connection, database)
        if verify:
            with start_server("dsn", dsn=spec, disposable=True) as server:
                plan = advise_partitions(workload, catalog, connection=connection,
                                         verify_on=server, **options)
        else:
            plan = advise_partitions(workload, catalog, connection=connection, **options)
    for line in plan.skipped:
        click.echo(f"dbtune: skipped: {line}", err=True)
    common.emit(plan, output, fmt, width, title="dbtune advise partitions")


def _workload(slowlogs: tuple[str, ...], connection, database: str | None):
    """The slow-log digest, or performance_schema's classes of ``database``."""
    if slowlogs:
        from dbtune.digest import digest_slowlog

        return digest_slowlog(list(slowlogs), database=database)
    from dbtune.ingest.perfschema_digest import digest_perfschema

    return [c for c in digest_perfschema(connection).ranked()
            if database is None or database in (c.db, c.sample_db)]
