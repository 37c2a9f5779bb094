"""`dbtune propose`: advice -> a directory of numbered, tested migrations (thin layer over
dbtune.migrate.propose)."""

from __future__ import annotations

from pathlib import Path

import click

from dbtune.cli.common import (
    Command,
    connection_options,
    emit,
    one_line_errors,
    report_options,
    workload_options,
)


@click.command(cls=Command)
@workload_options("DDL file of the schema (repeatable); else read from --dsn.")
@click.option("--advice", "advice_file", metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="A saved advice file (dbtune-advice JSON) instead of advising here.")
@click.option("--save-advice", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the advice as a dbtune-advice JSON file.")
@connection_options("mysql://user@host:port/db: schema, statistics and data checks "
                    "(read-only).", envvar=False,
                    database_help="Schema to read on the --dsn server.")
@click.option("--fixture", type=click.Choice(["marketplace"]),
              help="The whole story on a local sandbox: the fixture loaded, its workload "
                   "replayed and digested, advice verified, tests loading the same fixture.")
@click.option("--scale", type=click.FloatRange(min=0.001), default=0.02, show_default=True,
              help="Fixture scale (with --fixture).")
@click.option("--data", "dump", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="SQL dump (schema and rows) the generated tests load; default: the "
                   "schema filled with synthetic rows following the catalog's statistics.")
@click.option("--server-version", metavar="FLAVOUR VERSION",
              help="Server the migrations are for, e.g. 'mysql 8.0', 'mariadb 10.11' "
                   "(default: the --dsn server's; else what every supported server accepts).")
@click.option("--large-table-mb", type=click.FloatRange(min=0), default=1024, show_default=True,
              help="Tables this big get pt-online-schema-change/gh-ost lines; COPY on them "
                   "is refused.")
@click.option("--force", is_flag=True, help="Write steps the lint refuses.")
@click.option("--out", "-d", "directory", required=True,
              type=click.Path(path_type=Path), help="Proposal directory (created, or added to).")
@report_options
def propose(slowlogs, perfschema, schemas, advice_file, save_advice, server_options, database,
            fixture, scale, dump, server_version,
            large_table_mb, force, directory, fmt, output, width) -> None:
    """Numbered up/down migrations with online-DDL notes, lint and generated pytest tests."""
    from dbtune.migrate.build import propose_from_inputs

    with one_line_errors(ValueError):
        proposal = propose_from_inputs(
            directory, slowlogs=slowlogs, perfschema=perfschema, schemas=schemas,
            advice_file=advice_file, save_advice_to=save_advice,
            dsn=server_options.given(), database=database,
            fixture=fixture, scale=scale, dump=dump,
            server_version=server_version, large_bytes=int(large_table_mb * (1 << 20)),
            force=force)
    emit(proposal, output, fmt, width)
    click.echo(f"dbtune: {len(proposal.steps)} step(s) written to {proposal.directory}"
               + (f"; {len(proposal.already)} already there" if proposal.already else ""),
               err=True)
