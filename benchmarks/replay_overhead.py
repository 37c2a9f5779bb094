"""dbtune's replay engine against mariadb-slap and sysbench: cheap primary-key lookups.

    python benchmarks/replay_overhead.py [--queries 20000] [--concurrency 4] [--repeat 3]

One local sandbox (slow log off so no side pays for it), one table in sysbench's shape
(``sbtest1``, ``--rows`` rows), and the statement sysbench's ``oltp_point_select`` sends,
``SELECT c FROM sbtest1 WHERE id = N``, ``--queries`` times, same concurrency, over TCP:

- ``dbtune (DRIVER)``: ``run_workload`` replaying the same seeded list of ids, once per
  installed driver (pymysql; mysqlclient when ``MySQLdb`` imports; connector when
  mysql-connector-python's C extension loads);
- ``mariadb-slap``: the same list as ``--query FILE``; it times the queries itself;
- ``sysbench``: ``oltp_point_select`` with one point select per event, ``--events`` =
  ``--queries``, text protocol (``--db-ps-mode=disable``, as the others), its own uniform
  random ids (skipped with ``--no-sysbench`` or when sysbench is not installed).

Every tool runs once per repeat, the order rotating between repeats, so load from other
processes on a shared machine hits all alike; the medians and the ratios dbtune / others
are printed (the goal of issue 6: dbtune >= 0.5x mariadb-slap).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dbtune.sandbox import Server, start_server
from dbtune.workload.drivers import connector_available, mysqlclient_available
from dbtune.workload.runner import run_workload

DATABASE = "overhead"
QUERY = "SELECT c FROM sbtest1 WHERE id = {}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-sysbench", action="store_true", help="leave sysbench out")
    args = parser.parse_args()
    slap = shutil.which("mariadb-slap") or shutil.which("mysqlslap")
    if slap is None:
        raise SystemExit("mariadb-slap (or mysqlslap) is not installed")
    sysbench = None if args.no_sysbench else shutil.which("sysbench")
    ids = np.random.default_rng(args.seed).integers(1, args.rows + 1, args.queries)
    statements = [QUERY.format(i) for i in ids]
    concurrency = args.concurrency
    with start_server("local", long_query_time=3600) as server:
        create_table(server, args.rows)
        drivers = ("pymysql", *(["mysqlclient"] if mysqlclient_available() else []),
                   *(["connector"] if connector_available() else []))
        tools: dict[str, Callable[[], float]] = {}
        for driver in drivers:
            tools[f"dbtune ({driver})"] = lambda driver=driver: dbtune_throughput(
                server, statements, concurrency, driver)
            dbtune_throughput(server, statements[:2000], concurrency, driver)  # warm up
        tools[Path(slap).name] = lambda: slap_throughput(slap, server, statements, concurrency)
        if sysbench:
            tools["sysbench"] = lambda: sysbench_throughput(
                sysbench, server, args.queries, args.rows, concurrency)
        runs: dict[str, list[float]] = {name: [] for name in tools}
        names = list(tools)
        for repeat in range(args.repeat):
            for name in names[repeat % len(names):] + names[:repeat % len(names)]:
                runs[name].append(tools[name]())
    print(f"server: {server.flavour} {server.version}, {args.queries} primary-key lookups "
          f"({QUERY.format('N')}), concurrency {concurrency}, {args.rows} rows, "
          f"{args.repeat} alternating runs, load average {os.getloadavg()[0]:.1f}")
    medians = {name: float(np.median(values)) for name, values in runs.items()}
    for name, values in runs.items():
        print(f"{name:22}: {medians[name]:10,.0f} statements/s median "
              f"(runs: {', '.join(f'{x:,.0f}' for x in values)})")
    others = [name for name in runs if not name.startswith("dbtune")]
    for ours in (name for name in runs if name.startswith("dbtune")):
        ratios = ", ".join(f"{medians[ours] / medians[other]:.2f}x {other}" for other in others)
        print(f"ratio {ours:20}: {ratios}  (goal >= 0.5x {others[0]})")


def create_table(server: Server, rows: int) -> None:
    """``DATABASE.sbtest1`` as sysbench's prepare makes it, filled with ``rows`` rows."""
    rng = np.random.default_rng(0)
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {DATABASE}")
        cursor.execute(f"CREATE TABLE {DATABASE}.sbtest1 (id INT NOT NULL AUTO_INCREMENT, "
                       "k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', "
                       "pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_1 (k))")
        cursor.executemany(
            f"INSERT INTO {DATABASE}.sbtest1 (id, k, c, pad) VALUES (%s, %s, %s, %s)",
            [(i, int(rng.integers(1, rows + 1)), "-".join(["12345678901"] * 10), "x" * 59)
             for i in range(1, rows + 1)])
        cursor.execute(f"SELECT SUM(LENGTH(c)) FROM {DATABASE}.sbtest1")  # warm the pool


def dbtune_throughput(server: Server, statements: list[str], concurrency: int,
                      driver: str) -> float:
    """Statements per second ``run_workload`` reaches with ``driver``."""
    result = run_workload(server, [("pk", s) for s in statements], concurrency=concurrency,
                          database=DATABASE, driver=driver)
    if result.errors:
        raise SystemExit(f"dbtune ({driver}): {result.error_samples}")
    return result.throughput


def slap_throughput(slap: str, server: Server, statements: list[str],
                    concurrency: int) -> float:
    """Queries per second mariadb-slap reaches on the same statements."""
    with tempfile.TemporaryDirectory(prefix="dbtune-slap-") as tmp:
        query = Path(tmp) / "queries.sql"
        query.write_text(";\n".join(statements) + ";\n", encoding="utf-8")
        command = [slap, f"--host={server.host}", f"--port={server.port}",
                   f"--user={server.user}", "--protocol=TCP",
                   f"--concurrency={concurrency}", "--iterations=1",
                   f"--number-of-queries={len(statements)}", f"--create-schema={DATABASE}",
                   "--delimiter=;", f"--query={query}"]
        run = subprocess.run(command, capture_output=True, text=True, check=True,
                             env=_env(server))
    seconds = float(re.search(r"Average number of seconds to run all queries: ([\d.]+)",
                              run.stdout).group(1))
    return len(statements) / seconds


def sysbench_throughput(sysbench: str, server: Server, queries: int, rows: int,
                        concurrency: int) -> float:
    """Queries per second of sysbench oltp_point_select (one lookup per event)."""
    command = [sysbench, "oltp_point_select", f"--mysql-host={server.host}",
               f"--mysql-port={server.port}", f"--mysql-user={server.user}",
               f"--mysql-db={DATABASE}", "--tables=1", f"--table-size={rows}",
               "--point-selects=1", "--skip-trx=on", "--db-ps-mode=disable",
               f"--threads={concurrency}", f"--events={queries}", "--time=0",
               "--rand-type=uniform", "run"]
    if server.password:
        command.insert(5, f"--mysql-password={server.password}")
    run = subprocess.run(command, capture_output=True, text=True, env=_env(server))
    found = re.search(r"queries:\s+\d+\s+\(([\d.]+) per sec", run.stdout)
    if run.returncode or not found:
        raise SystemExit(f"sysbench failed: {(run.stderr or run.stdout).strip()[-300:]}")
    return float(found.group(1))


def _env(server: Server) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MYSQL_PWD"}
    return {**env, "MYSQL_PWD": server.password} if server.password else env


if __name__ == "__main__":
    main()
