"""Advice quality on workloads nobody on the team wrote: bare vs an expert index set vs dbtune.

    python benchmarks/advice_quality.py [--workload sysbench|tpch|tpcds] [--rounds 3]
                                        [--scale 1] [--verify] [--json FILE]

Per workload, on one disposable local sandbox (never the server on port 3306):

1. the schema is loaded with primary keys only (``benchmarks/advice_quality_workloads.py``);
2. the workload runs once against it with ``long_query_time=0`` into a slow log of its own
   (sysbench runs its own Lua scripts; TPC-H and TPC-DS run their published queries);
3. dbtune advises on that log exactly as ``dbtune advise indexes --slowlog LOG --dsn ...
   --database DB`` does at its defaults (``--verify`` adds ``verify_on=`` the sandbox);
4. the captured statements are replayed in three phases - ``bare`` (primary keys only),
   ``expert`` (the published set kept in ``benchmarks/workloads/``) and ``dbtune`` (its
   advice) - round-robin over ``--rounds`` rounds (the phase order rotates each round); each
   statement is timed by the client (mysqlclient when installed) and a statement running
   longer than ``--cap`` seconds is stopped by ``max_statement_time`` and counted at the cap.

Reported per workload: median phase time, ``dbtune/expert`` (the ratio of the medians, and
the median of the per-round ratios with their range: ``paired``), index counts and sizes (InnoDB
``mysql.innodb_index_stats``), write-class times, and every class made more than 2x slower
than bare or than the expert. Timings are medians over rounds; read ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import advice_quality_workloads  # noqa: E402
from advice_quality_workloads import WORKLOADS, Workload  # noqa: E402

from dbtune.advise import advise_indexes  # noqa: E402
from dbtune.advise.verify import explain  # noqa: E402
from dbtune.advise.workload import workload_from  # noqa: E402
from dbtune.bench.workloads import slowlog_workload  # noqa: E402
from dbtune.catalog import load_catalog  # noqa: E402
from dbtune.report.formats import render_rows  # noqa: E402
from dbtune.sandbox import Server, start_server  # noqa: E402
from dbtune.workload.drivers import get_driver  # noqa: E402
from dbtune.workload.runner import is_write  # noqa: E402

PHASES = ("bare", "expert", "dbtune")
#: a class slower than this (vs bare or vs the expert) is listed
SLOWER = 2.0


@dataclass
class PhaseRun:
    """One timed replay of the captured statements in one phase."""

    phase: str
    round: int
    seconds: float
    #: class id -> (executions, seconds, errors, capped)
    classes: dict[str, list[float]]


@dataclass
class QualityResult:
    """Everything one workload's run measured."""

    workload: str
    source: str
    statements: int
    indexes: dict[str, list[str]]
    index_bytes: dict[str, int]
    labels: dict[str, str]
    writes: set[str]
    runs: list[PhaseRun] = field(default_factory=list)
    advice_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: class id -> phase -> the plan, compact (the classes dbtune lost most time on)
    plans: dict[str, dict[str, str]] = field(default_factory=dict)

    def phase_seconds(self, phase: str) -> float:
        """Median over rounds of the phase's total replay time."""
        return statistics.median(r.seconds for r in self.runs if r.phase == phase)

    def class_ms(self, phase: str, class_id: str) -> float:
        """Median over rounds of the class's mean time per execution (ms)."""
        values = [r.classes[class_id][1] / r.classes[class_id][0] * 1000
                  for r in self.runs if r.phase == phase and class_id in r.classes]
        return statistics.median(values) if values else float("nan")

    def write_seconds(self, phase: str) -> float:
        """Median over rounds of the time spent in write classes."""
        return statistics.median(sum(v[1] for c, v in r.classes.items() if c in self.writes)
                                 for r in self.runs if r.phase == phase)

    def ratio(self) -> float:
        """dbtune/expert on the median phase times (the goal is <= 1.0)."""
        return self.phase_seconds("dbtune") / self.phase_seconds("expert")

    def paired(self) -> list[float]:
        """dbtune/expert within each round (the two phases ran minutes apart, under the same
        load), sorted: their median is steadier than the ratio of medians on a busy machine."""
        seconds = {(r.phase, r.round): r.seconds for r in self.runs}
        rounds = sorted({r.round for r in self.runs})
        return sorted(seconds["dbtune", n] / seconds["expert", n] for n in rounds)

    def class_rows(self) -> list[dict[str, Any]]:
        """One row per class: kind, executions, ms per execution in each phase, ratios."""
        rows = []
        executions = defaultdict(int)
        for run in self.runs:
            if run.phase == "bare" and run.round == 0:
                for cid, values in run.classes.items():
                    executions[cid] = int(values[0])
        for cid, label in self.labels.items():
            ms = {p: self.class_ms(p, cid) for p in PHASES}
            capped = any(r.classes.get(cid, [0, 0, 0, 0])[3] for r in self.runs)
            rows.append({"class": label[:70], "kind": "write" if cid in self.writes else "read",
                         "n": executions.get(cid, 0),
                         "bare_ms": round(ms["bare"], 3), "expert_ms": round(ms["expert"], 3),
                         "dbtune_ms": round(ms["dbtune"], 3),
                         "dbtune/expert": _ratio(ms["dbtune"], ms["expert"]),
                         "dbtune/bare": _ratio(ms["dbtune"], ms["bare"]),
                         "capped": "yes" if capped else ""})
        return sorted(rows, key=lambda r: -(r["bare_ms"] * max(r["n"], 1)))

    def losses(self, limit: int = 12) -> list[str]:
        """The classes dbtune's phase lost most time on against the expert's (more than 2x
        slower and at least 5 ms a round), worst first: what the plans are read for."""
        lost = []
        for cid in self.labels:
            expert, dbtune = self.class_ms("expert", cid), self.class_ms("dbtune", cid)
            runs = next((r.classes[cid][0] for r in self.runs if cid in r.classes), 0)
            excess = (dbtune - expert) * runs
            if dbtune > SLOWER * expert and excess >= 5:
                lost.append((excess, cid))
        return [cid for _, cid in sorted(lost, reverse=True)[:limit]]

    def slower(self) -> list[dict[str, Any]]:
        """Classes dbtune's advice made more than 2x slower than bare or than the expert."""
        return [r for r in self.class_rows()
                if (r["dbtune/bare"] or 0) > SLOWER or (r["dbtune/expert"] or 0) > SLOWER]

    def summary(self) -> dict[str, Any]:
        """The workload's line of the table."""
        mb = {p: self.index_bytes[p] / 2**20 for p in PHASES}
        return {"workload": self.workload, "statements": self.statements,
                "rounds": len(self.runs) // len(PHASES),
                "bare_s": round(self.phase_seconds("bare"), 3),
                "expert_s": round(self.phase_seconds("expert"), 3),
                "dbtune_s": round(self.phase_seconds("dbtune"), 3),
                "dbtune/expert": round(self.ratio(), 2),
                "paired (range)": f"{statistics.median(self.paired()):.2f} "
                                  f"({self.paired()[0]:.2f}-{self.paired()[-1]:.2f})",
                "bare/expert": round(self.phase_seconds("bare") / self.phase_seconds("expert"), 1),
                "expert_idx": len(self.indexes["expert"]),
                "dbtune_idx": len(self.indexes["dbtune"]),
                "expert_MB": round(mb["expert"], 1), "dbtune_MB": round(mb["dbtune"], 1),
                "writes_s b/e/d": "/".join(f"{self.write_seconds(p):.2f}" for p in PHASES)
                if self.writes else "-",
                ">2x bare": sum((r["dbtune/bare"] or 0) > SLOWER for r in self.class_rows()),
                ">2x expert": sum((r["dbtune/expert"] or 0) > SLOWER
                                  for r in self.class_rows())}


def _ratio(a: float, b: float) -> float | None:
    if b != b or a != a or b <= 0:
        return None
    return round(a / b, 2)


def capture(server: Server, workload: Workload, path: Path) -> None:
    """Run the workload once with the slow log pointed at ``path`` (long_query_time=0)."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT @@slow_query_log_file")
        previous = cursor.fetchone()[0]
        cursor.execute("SET GLOBAL long_query_time = 0")
        cursor.execute("SET GLOBAL slow_query_log_file = %s", (str(path),))
        try:
            workload.run(server, workload.database)
        finally:
            cursor.execute("SET GLOBAL slow_query_log_file = %s", (previous,))


def dbtune_advice(server: Server, database: str, log: Path, verify: bool
                  ) -> tuple[list[str], list[str]]:
    """The DDL of ``dbtune advise indexes --slowlog LOG --dsn DSN --database DB`` at defaults
    (the same library calls the command makes), and what the measured stages said: the
    plan's "Measured on the server" lines and every index the guard or verification left
    out, with why."""
    dsn = server.dsn(reveal_password=True) + database
    catalog = load_catalog(dsn=dsn, database=database)
    classes = workload_from(slowlogs=[str(log)], database=database)
    plan = advise_indexes(classes, catalog, verify_on=server if verify else None)
    said = [*plan.measured, *(f"left out {a.table} ({', '.join(a.columns)}): {why}"
                              for a, why in plan.rejected)]
    return plan.statements(), said


def secondary_indexes(cursor: Any, database: str) -> list[tuple[str, str]]:
    """(table, index) of every non-primary index in ``database``."""
    cursor.execute("SELECT DISTINCT table_name, index_name FROM information_schema.statistics "
                   "WHERE table_schema = %s AND index_name <> 'PRIMARY'", (database,))
    return [tuple(row) for row in cursor.fetchall()]


def set_indexes(server: Server, database: str, ddl: Sequence[str]) -> int:
    """Drop every secondary index of ``database``, build ``ddl``; their total size (bytes)."""
    with server.connect(database) as connection, connection.cursor() as cursor:
        for table, index in secondary_indexes(cursor, database):
            cursor.execute(f"ALTER TABLE `{table}` DROP INDEX `{index}`")
        for statement in ddl:
            cursor.execute(statement)
        tables = sorted({t for t, _ in secondary_indexes(cursor, database)})
        for table in tables:
            cursor.execute(f"ANALYZE TABLE `{table}`")
            cursor.fetchall()
        cursor.execute("SELECT COALESCE(SUM(stat_value), 0) * @@innodb_page_size "
                       "FROM mysql.innodb_index_stats WHERE database_name = %s "
                       "AND stat_name = 'size' AND index_name <> 'PRIMARY'", (database,))
        return int(cursor.fetchone()[0])


def replay(server: Server, database: str, items: Sequence[tuple[str, str]], cap: float
           ) -> tuple[float, dict[str, list[float]]]:
    """Run the statements once, in order; total seconds and per class
    [executions, seconds, errors, capped]."""
    driver = get_driver("auto")
    connection = driver.connect(server.spec, database)
    execute = driver.executor(connection)
    execute(f"SET SESSION max_statement_time = {cap:g}")
    classes: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0])
    clock = time.perf_counter
    total = 0.0
    try:
        for cid, sql in items:
            started = clock()
            try:
                execute(sql)
                failed = capped = 0
            except driver.errors as exc:
                failed = 1
                capped = 1 if exc.args and exc.args[0] == 1969 else 0  # max_statement_time
            seconds = clock() - started
            if capped:
                seconds = max(seconds, cap)
            entry = classes[cid]
            entry[0] += 1
            entry[1] += seconds
            entry[2] += failed - capped
            entry[3] += capped
            total += seconds
    finally:
        connection.close()
    return total, dict(classes)


def run_quality(server: Server, workload: Workload, *, rounds: int = 3, scale: float = 1.0,
                cap: float = 30.0, verify: bool = False, work: Path | None = None,
                say: Callable[[str], None] = print) -> QualityResult:
    """Load, capture, advise and time one workload on ``server``; the three phases' figures."""
    work = Path(work or server.datadir or ".")
    started = time.perf_counter()
    workload.load(server, workload.database, scale)
    say(f"[{workload.name}] loaded (primary keys only) in {time.perf_counter() - started:.0f} s")
    with server.connect(workload.database) as connection, connection.cursor() as cursor:
        existing = secondary_indexes(cursor, workload.database)
        if existing:
            raise RuntimeError(f"{workload.name}: the bare schema has secondary indexes "
                               f"{existing}")
        cursor.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = %s", (workload.database,))
        for (table,) in cursor.fetchall():  # the buffer pool warm for every phase alike
            cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
            cursor.fetchall()
    log = work / f"capture-{workload.name}.log"
    log.unlink(missing_ok=True)
    advice_quality_workloads.CAPTURE_CAP = cap
    started = time.perf_counter()
    capture(server, workload, log)
    say(f"[{workload.name}] workload captured in {time.perf_counter() - started:.0f} s: {log}")
    started = time.perf_counter()
    advised, said = dbtune_advice(server, workload.database, log, verify)
    advice_seconds = time.perf_counter() - started
    say(f"[{workload.name}] dbtune advised {len(advised)} statement(s) in "
        f"{advice_seconds:.0f} s")
    for line in said:
        say(f"[{workload.name}]   {line}")
    captured = slowlog_workload(log, workload.database)
    items = captured.items
    names = workload.names()
    if len(names) == len(items):  # one statement per published query: named by its number
        captured.labels.update({cid: f"{name} {captured.labels[cid]}"
                                for name, (cid, _) in zip(names, items, strict=True)})
    writes = {cid for cid, sql in items if is_write(sql)}
    ddl = {"bare": [], "expert": workload.expert, "dbtune": advised}
    result = QualityResult(workload.name, workload.source, len(items),
                           {p: list(ddl[p]) for p in PHASES}, {}, captured.labels, writes,
                           advice_seconds=advice_seconds,
                           notes=[f"{k}: {v}" for k, v in captured.skipped.items()])
    for number in range(rounds):
        order = PHASES[number % 3:] + PHASES[:number % 3]
        for phase in order:
            size = set_indexes(server, workload.database, ddl[phase])
            result.index_bytes[phase] = size
            seconds, classes = replay(server, workload.database, items, cap)
            result.runs.append(PhaseRun(phase, number, seconds, classes))
            say(f"[{workload.name}] round {number + 1}/{rounds} {phase}: {seconds:.2f} s")
    samples = dict(reversed(items))  # class id -> its first statement
    for phase in ("expert", "dbtune"):
        set_indexes(server, workload.database, ddl[phase])
        with server.connect(workload.database) as connection:
            for cid in result.losses():
                result.plans.setdefault(cid, {})[phase] = compact_plan(
                    explain(connection, samples[cid], workload.database))
    set_indexes(server, workload.database, [])
    return result


def compact_plan(tables: list[dict[str, Any]] | str) -> str:
    """EXPLAIN's tables in one line: ``table:access(key)~rows`` each, in plan order."""
    if isinstance(tables, str):
        return f"(no plan: {tables[:80]})"
    return " ".join(f"{t['table']}:{t['access_type']}"
                    + (f"({t['key']})" if t.get("key") else "") + f"~{t['rows']}"
                    for t in tables)


def report(results: Sequence[QualityResult], out: Any = sys.stdout) -> None:
    """The summary table, then per workload the index sets and the classes worth reading."""
    print("\n== advice quality (median phase time over rounds; ratios are what count)",
          file=out)
    print(render_rows([r.summary() for r in results], "table"), file=out)
    for result in results:
        print(f"\n== {result.workload}: {result.source}", file=out)
        for phase in ("expert", "dbtune"):
            print(f"{phase} ({len(result.indexes[phase])} indexes, "
                  f"{result.index_bytes[phase] / 2**20:.1f} MB):", file=out)
            for statement in result.indexes[phase]:
                print(f"  {statement}", file=out)
        rows = result.class_rows()
        print(f"\nper class (ms per execution, median over rounds; {len(rows)} classes):",
              file=out)
        print(render_rows(rows, "table"), file=out)
        slower = result.slower()
        print(f"\nclasses dbtune made more than {SLOWER:g}x slower (vs bare or vs the "
              f"expert): {len(slower)}", file=out)
        for row in slower:
            print(f"  {row['class']}: dbtune/bare {row['dbtune/bare']}, "
                  f"dbtune/expert {row['dbtune/expert']}", file=out)
        if result.plans:
            print("\nplans of the classes dbtune lost most time on (EXPLAIN, "
                  "table:access(key)~rows):", file=out)
        for cid, plans in result.plans.items():
            print(f"  {result.labels[cid][:100]}", file=out)
            for phase, plan in plans.items():
                print(f"    {phase}: {plan}", file=out)
        for note in result.notes:
            print(f"note: skipped from the replay: {note}", file=out)


def to_json(result: QualityResult) -> dict[str, Any]:
    """A result as plain data (for --json)."""
    return {"summary": result.summary(), "indexes": result.indexes,
            "index_bytes": result.index_bytes, "classes": result.class_rows(),
            "slower": result.slower(), "advice_seconds": result.advice_seconds,
            "plans": {result.labels[c]: p for c, p in result.plans.items()}}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), action="append",
                        help="repeatable; default all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies each workload's default size")
    parser.add_argument("--cap", type=float, default=30.0,
                        help="seconds after which one statement is stopped (counted at the cap)")
    parser.add_argument("--verify", action="store_true",
                        help="advise with verify_on= the sandbox (--disposable --verify)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    names = args.workload or list(WORKLOADS)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    results = []
    with start_server("local", disposable=True, buffer_pool_size="512M") as server:
        print(f"sandbox: {server}")
        for name in names:
            results.append(run_quality(server, WORKLOADS[name], rounds=args.rounds,
                                       scale=args.scale, cap=args.cap, verify=args.verify))
    print(f"load average at the end {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    report(results)
    if args.json:
        args.json.write_text(json.dumps([to_json(r) for r in results], indent=1, default=str))


if __name__ == "__main__":
    main()
