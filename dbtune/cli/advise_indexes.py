"""`dbtune advise indexes`: workload-wide index advice (a thin layer over dbtune.advise.indexes).

Registered in the ``advise`` group by dbtune/cli/advise.py.
"""

from __future__ import annotations

from pathlib import Path

import click

from dbtune.cli import common


@click.command("indexes")
@common.workload_options("DDL file of the schema to advise on (repeatable); else read from --dsn. "
                   "With --dsn too, row counts are read from the server.")
@click.option("--rows", "row_counts", multiple=True, metavar="TABLE=N",
              callback=common.per_table(common.row_count, "TABLE=N, e.g. orders=2500000"),
              help="Row count of a table (repeatable), where the DDL has none: else "
                   "100,000 is assumed, and the report says so.")
@common.connection_options("mysql://user@host:port/db: schema, statistics (read-only); with "
                    "--disposable also the --verify server.", envvar=False, disposable=True,
                    database_help="Schema to read on the --dsn server; only its statements "
                                  "are advised on.")
@click.option("--max-indexes", type=click.IntRange(min=0), default=None,
              help="New indexes in the whole plan, at most [default: no count limit: the "
                   "search stops where the next index no longer saves --min-gain, or at a "
                   "size budget of the tables' own size, shown in the report].")
@click.option("--max-per-table", type=click.IntRange(min=0), default=None,
              help="New indexes on one table, at most [default: no limit].")
@click.option("--budget-mb", type=click.FloatRange(min=0), default=None,
              help="Total size the new indexes may take (estimate).")
@click.option("--min-gain", type=click.FloatRange(min=0, max=1), default=0.005,
              show_default=True,
              help="Least share of total query time a new index must save, net of its write "
                   "cost (as the report shows them).")
@click.option("--hygiene", is_flag=True,
              help="Merge duplicate/redundant index drops into the plan.")
@click.option("--verify", is_flag=True,
              help="On the --disposable server: measure the leading candidates (writes timed "
                   "with them built IGNORED/INVISIBLE, reads ANALYZEd), then build the plan, "
                   "EXPLAIN before/after, keep only what the optimizer uses.")
@click.option("--max-write-slowdown", type=click.FloatRange(min=1), default=None,
              help="With --verify: no write class may get slower than this factor by the "
                   "measured upkeep of the new indexes [default: no cap; write cost is "
                   "weighed against read gain].")
@click.option("--max-regression", type=click.FloatRange(min=1), default=2.0,
              show_default=True,
              help="With --verify: every read and write class of an indexed table is timed "
                   "with the plan's indexes and without (writes rolled back); an index that "
                   "makes one more than this many times slower is dropped (the per-class "
                   "guard; as dbtune bench --max-regression).")
@common.report_options
def indexes(slowlogs: tuple[str, ...], perfschema: bool, schemas: tuple[Path, ...],
            row_counts: dict[str, int], server_options: common.ServerOptions,
            database: str | None,
            disposable: bool, max_indexes: int, max_per_table: int,
            budget_mb: float | None, min_gain: float, hygiene: bool, verify: bool,
            max_write_slowdown: float | None, max_regression: float, fmt: str, output: Path | None,
            width: int | None) -> None:
    """Indexes that serve the workload best: three-star candidates, merged, under a budget."""
    from dbtune.advise import advise_indexes, find_hygiene
    from dbtune.advise.guard import with_bound
    from dbtune.advise.indexes import STAGES
    from dbtune.advise.workload import workload_from
    from dbtune.catalog import load_catalog
    from dbtune.sandbox import start_server

    common.check_workload_inputs(slowlogs, perfschema, schemas, server_options.dsn, verify=verify,
                          disposable=disposable, verify_does="builds indexes")
    with common.one_line_errors():
        spec = server_options.given()
        catalog = load_catalog(schemas, dsn=spec, database=database, rows=row_counts)
        workload = workload_from(slowlogs=slowlogs, perfschema=spec if perfschema else None,
                                 database=database)
        options = dict(max_indexes=max_indexes, max_per_table=max_per_table,
                       budget_mb=budget_mb, min_gain=min_gain, max_slowdown=max_write_slowdown,
                       hygiene=find_hygiene(catalog) if hygiene else None)
        if verify:
            with start_server("dsn", dsn=spec, disposable=True) as server:
                plan = advise_indexes(workload, catalog, verify_on=server,
                                      stages=with_bound(STAGES, max_regression), **options)
        else:
            plan = advise_indexes(workload, catalog, **options)
    common.emit(plan, output, fmt, width)
