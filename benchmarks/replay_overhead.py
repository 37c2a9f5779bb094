"""dbtune's replay engine against mariadb-slap: cheap primary-key lookups, same server.

    python benchmarks/replay_overhead.py [--queries 20000] [--concurrency 4] [--repeat 3]

One local sandbox (slow log off so neither side pays for it), one table of ``--rows`` rows,
the same ``--queries`` point lookups (random ids, one seed) replayed by
``dbtune.workload.runner.run_workload`` and by ``mariadb-slap --query FILE`` with the same
concurrency over TCP. mariadb-slap measures its own wall time around the queries, as
run_workload does. The two alternate ``--repeat`` times (so load from other processes on a
shared machine hits both alike); the medians and their ratio are printed (goal: >= 0.5).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from dbtune.sandbox import start_server
from dbtune.workload.runner import run_workload

DATABASE = "overhead"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    slap = shutil.which("mariadb-slap") or shutil.which("mysqlslap")
    if slap is None:
        raise SystemExit("mariadb-slap (or mysqlslap) is not installed")
    ids = np.random.default_rng(args.seed).integers(1, args.rows + 1, args.queries)
    statements = [f"SELECT id, name, price FROM items WHERE id = {i}" for i in ids]
    with start_server("local", long_query_time=3600) as server:
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {DATABASE}")
            cursor.execute(f"CREATE TABLE {DATABASE}.items (id INT PRIMARY KEY, "
                           "name VARCHAR(40), price DECIMAL(10,2))")
            cursor.executemany(f"INSERT INTO {DATABASE}.items VALUES (%s, %s, %s)",
                               [(i, f"item {i}", i % 997) for i in range(1, args.rows + 1)])
        warm = [("pk", s) for s in statements[:2000]]
        run_workload(server, warm, concurrency=args.concurrency, database=DATABASE)
        ours, theirs, means = [], [], []
        for _ in range(args.repeat):
            theirs.append(slap_throughput(slap, server, statements, args.concurrency))
            result = run_workload(server, [("pk", s) for s in statements],
                                  concurrency=args.concurrency, database=DATABASE)
            ours.append(result.throughput)
            means.append(result.mean_ms)
    name = Path(slap).name
    print(f"server: {server.flavour} {server.version}, {args.queries} primary-key lookups, "
          f"concurrency {args.concurrency}, {args.rows} rows, {args.repeat} alternating runs")
    print(f"dbtune run_workload : {np.median(ours):10,.0f} statements/s median "
          f"(runs: {', '.join(f'{x:,.0f}' for x in ours)}; mean {np.median(means):.3f} ms)")
    print(f"{name:20}: {np.median(theirs):10,.0f} statements/s median "
          f"(runs: {', '.join(f'{x:,.0f}' for x in theirs)})")
    print(f"ratio dbtune / {name}: {np.median(ours) / np.median(theirs):.2f}  (goal >= 0.5)")


def slap_throughput(slap: str, server, statements: list[str], concurrency: int) -> float:
    """Queries per second mariadb-slap reaches on the same statements."""
    with tempfile.TemporaryDirectory(prefix="dbtune-slap-") as tmp:
        query = Path(tmp) / "queries.sql"
        query.write_text(";\n".join(statements) + ";\n", encoding="utf-8")
        command = [slap, f"--host={server.host}", f"--port={server.port}",
                   f"--user={server.user}", "--protocol=TCP",
                   f"--concurrency={concurrency}", "--iterations=1",
                   f"--number-of-queries={len(statements)}", f"--create-schema={DATABASE}",
                   "--delimiter=;", f"--query={query}"]
        env = {"MYSQL_PWD": server.password} if server.password else {}
        run = subprocess.run(command, capture_output=True, text=True, check=True,
                             env={**_base_env(), **env})
    seconds = float(re.search(r"Average number of seconds to run all queries: ([\d.]+)",
                              run.stdout).group(1))
    return len(statements) / seconds


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "MYSQL_PWD"}


if __name__ == "__main__":
    main()
