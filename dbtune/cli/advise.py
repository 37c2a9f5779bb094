"""`dbtune advise ...`: advice commands (thin wrappers over dbtune.advise)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dbtune.cli import common
from dbtune.cli.advise_indexes import indexes
from dbtune.cli.advise_partitions import partitions

#: ``advise hygiene --fail-on``: any finding, or one kind of finding
FAIL_ON = ("any", "duplicate", "unique-subsumed", "unique-implied", "left-prefix",
           "clustered-suffix", "unused", "duplicate-fk")


@click.group(cls=common.Group)
def advise() -> None:
    """Advice on indexes (what to drop, what to add) and on partitioning."""


@advise.command()
@click.option(
    "--schema",
    "schemas",
    multiple=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="DDL file (CREATE TABLE ...); repeat for several.",
)
@common.connection_options(
    "mysql://user@host:port/db of a server to read (read-only).",
    envvar=False,  # $DBTUNE_DSN must not turn --schema runs into errors
    database_help="Schema to read on the --dsn server.",
)
@click.option("--fail-on", "fail_on", type=click.Choice(FAIL_ON),
              help="Exit 1 when the report holds a finding of this kind (any: any finding); "
                   "for cron and CI.")
@common.report_options
def hygiene(
    schemas: tuple[Path, ...],
    server_options: common.ServerOptions,
    database: str | None,
    fail_on: str | None,
    fmt: str,
    output: Path | None,
    width: int | None,
) -> None:
    """Duplicate, redundant and unused indexes, with DROP and rollback DDL.

    With --dsn, unused indexes come from the server's usage counters (performance_schema,
    else MariaDB's userstat); the report says which, and what they cover."""
    from dbtune.advise.usage import check_hygiene

    if bool(schemas) == bool(server_options.dsn):
        common.fail("give either --schema FILE... or --dsn DSN --database DB")
    with common.one_line_errors():
        report = check_hygiene(schemas, dsn=server_options.given(), database=database)
    common.emit(report, output, fmt, width)
    if fail_on and any(fail_on == "any" or f.kind == fail_on for f in report.findings):
        sys.exit(1)


advise.add_command(indexes)
advise.add_command(partitions)
