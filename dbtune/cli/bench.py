"""`dbtune bench`: replay a workload before/after a migration, check results and a target."""

from __future__ import annotations

import sys
from pathlib import Path

import click

import dbtune.workload.drivers  # noqa: F401 - loads the connector's C extension before pandas
from dbtune.cli.common import (
    Command,
    connection_options,
    emit,
    fail,
    fail_on_option,
    one_line_errors,
    replay_options,
    report_options,
)

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command(cls=Command)
@click.option("--fixture", type=click.Choice(("marketplace",)),
              help="Load this fixture and (unless --slowlog/--sql) replay its workload.")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Fixture size factor.")
@click.option("--load", type=FILE, help="SQL script (schema and data) to run in DATABASE first.")
@click.option("--slowlog", type=FILE, help="Replay the reads and DML of this slow log.")
@click.option("--sql", "sql_file", type=FILE, help="Replay the statements of this SQL file.")
@click.option("--migration", type=FILE, help="The change: SQL run between before and after.")
@click.option("--rollback", type=FILE,
              help="SQL undoing --migration; enables interleaved rounds (A B A B).")
@click.option("--advise", is_flag=True,
              help="The change is index advice from the baseline round's slow log.")
@click.option("--target", help="Goal, e.g. 'mean<30ms', 'p95<=200ms', 'mean<=0.5x' "
                                "(comma-separated, all must hold). --fixture marketplace "
                                "--advise defaults to mean<30ms.")
@click.option("--max-regression", type=click.FloatRange(min=1), default=2.0, show_default=True,
              help="Fail (exit 1) when any class, however rare, gets slower than this factor "
                   "(95% interval above 1; a class of fewer than 20 statements a phase: its point "
                   "estimate, said in the report). With --advise, also the advisor's per-class "
                   "guard: no read or write class measured slower than this with the advice.")
@click.option("--max-write-slowdown", type=click.FloatRange(min=0),
              help="With --advise: no write class may be made slower than this factor by the "
                   "advised indexes' measured upkeep, measured alone on one connection [default: "
                   "no cap: the read gains and write costs of the whole workload decide].")
@fail_on_option(("mean", "p50", "p95", "p99"), of="a class's latency after the change")
@click.option("--rounds", type=click.IntRange(min=1), default=2, show_default=True,
              help="Rounds per phase.")
@replay_options(per_round=True, warmup=200)
@click.option("--checks", type=click.IntRange(min=0), default=5, show_default=True,
              help="Read statements per class compared before/after (0: no check).")
@click.option("--backend", type=click.Choice(("auto", "local", "docker")), default="auto",
              show_default=True, help="Sandbox to start when no --dsn is given.")
@connection_options("Use this server instead of a sandbox (it must be marked --disposable).",
                    disposable=True,
                    database_help="Database to bench in [default: marketplace for the fixture, "
                                  "else the slow log's database, else bench].")
@report_options
def bench(fixture, scale, load, slowlog, sql_file, migration, rollback, advise, target,
          max_regression, max_write_slowdown, fail_on, rounds,
          count, duration, concurrency, warmup, checks, read_only, seed, backend, server_options,
          disposable, database, fmt, output,
          width) -> None:
    """Replay a workload before and after a change on a disposable server: latency per class
    with confidence intervals, result checksums, and the --target verdict.

    Exit status: 0 target met (or none given), no class slower than --max-regression and
    none past a --fail-on level; 1 not met, a class regressed or reached the --fail-on
    warning; 2 error; 3 a class reached the --fail-on critical level; 4 results differ.
    Progress goes to stderr: bars on a terminal, else one line per round.
    """
    from dbtune.bench.report import BenchReport
    from dbtune.bench.rounds import Replay
    from dbtune.bench.story import MARKETPLACE_TARGET, bench_on
    from dbtune.bench.verdict import TargetError, parse_targets
    from dbtune.sandbox import start_server
    from dbtune.workload.marketplace import LoadError

    if count is not None and duration is not None:
        fail("give --count or --duration, not both")
    if rollback and not migration:
        fail("--rollback needs --migration")
    if target is None and fixture and advise:
        target = MARKETPLACE_TARGET
    try:
        targets = parse_targets(target) if target else []
    except TargetError as exc:
        fail(str(exc))
    replay = Replay(count=None if duration else (count or 2000), duration=duration,
                    concurrency=concurrency, warmup=warmup, read_only=read_only, seed=seed,
                    checks_per_class=checks)
    with one_line_errors(LoadError):
        manager = (start_server("dsn", dsn=server_options.spec(), disposable=disposable)
                   if server_options.dsn or server_options.defaults_file
                   else start_server(backend))
        with manager as server, _progress(replay, rounds) as progress:
            result = bench_on(server, database, fixture=fixture, scale=scale, load=load,
                              slowlog=slowlog, sql=sql_file, migration=migration,
                              rollback=rollback, advise=advise, targets=targets,
                              max_regression=max_regression, alert=fail_on, rounds=rounds,
                              replay=replay, max_write_slowdown=max_write_slowdown or None,
                              on_load=progress.rows, on_round=progress.round,
                              on_progress=progress.statements)
    emit(BenchReport(result), output, fmt, width)
    alert = fail_on.message(result.after_values(), "after") if fail_on else None
    if alert:
        click.echo(f"dbtune: {alert}", err=True)
    sys.exit(result.exit_status)


class _progress:
    """tqdm bars on stderr when it is a terminal (rows loaded, statements measured); else
    (cron, CI, a pipe) one line per round, so a long bench is seen to be alive."""

    def __init__(self, replay, rounds: int) -> None:
        self.total = replay.count * 2 * rounds if replay.count else None
        self.rounds = 2 * rounds
        self.shown = sys.stderr.isatty()
        self.bar = self.load_bar = None
        self.done = 0

    def round(self, index: int, phase: str) -> None:
        """Round ``index`` (0-based) of ``phase`` is about to be replayed."""
        if not self.shown:
            click.echo(f"dbtune: bench round {index + 1}/{self.rounds} ({phase}) starting; "
                       f"{self.done:,} statements measured so far", err=True)

    def __enter__(self) -> _progress:
        return self

    def rows(self, table: str, rows: int) -> None:
        """Fixture loading progress (``rows`` more rows of ``table``)."""
        if not self.shown:
            return
        if self.load_bar is None:
            from tqdm import tqdm

            self.load_bar = tqdm(unit=" rows", unit_scale=True, desc="load", leave=False,
                                 file=sys.stderr)
        self.load_bar.update(rows)
        self.load_bar.set_description(f"load {table}")  # redraws: a chunk is ~100k rows

    def statements(self, done: int) -> None:
        """Replay progress: ``done`` statements measured so far."""
        self.done = done
        if not self.shown:
            return
        if self.bar is None:
            from tqdm import tqdm

            if self.load_bar is not None:
                self.load_bar.close()
            self.bar = tqdm(total=self.total, unit=" stmt", desc="bench", leave=False,
                            file=sys.stderr)
        self.bar.n = done
        if done % 200 == 0:
            self.bar.refresh()

    def __exit__(self, *exc) -> None:
        for bar in (self.load_bar, self.bar):
            if bar is not None:
                bar.close()
