"""Capture a real MariaDB slow log of the marketplace workload (issue 13's benchmark log).

    python benchmarks/capture_slowlog.py                       # >= 64 MB, default verbosity
    python benchmarks/capture_slowlog.py --min-mb 100 --out /tmp/slow.log --concurrency 6

Starts a disposable local sandbox (dbtune.sandbox, ``long_query_time=0``), loads the
marketplace fixture (``--scale``), resets the slow log's verbosity to the server's default
(``SET GLOBAL log_slow_verbosity = DEFAULT``: the sandbox starts MariaDB with
``query_plan,explain``; the value used is printed), points the slow log at a fresh file
(so the fixture's load is not in it), then runs the marketplace workload with dbtune's
runner (closed-loop threads, ``--concurrency``) in rounds of ``--round-s`` seconds until
the log holds at least ``--min-mb`` MB, and copies it to ``--out``. Prints events,
classes (the dbtune digest), MB, server version and verbosity.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from dbtune.sandbox import start_server
from dbtune.workload.marketplace import load_marketplace
from dbtune.workload.runner import run_workload
from dbtune.workload.spec import marketplace_spec


def _variable(cursor, name: str) -> str:
    cursor.execute(f"SELECT @@GLOBAL.{name}")
    return str(cursor.fetchone()[0])


def capture(out: Path, min_mb: float, scale: float, concurrency: int, round_s: float,
            seed: int) -> dict:
    """Run the capture; returns what describes the log (server, verbosity, MB, rounds)."""
    with start_server("local", long_query_time=0.0) as server:
        if server.flavour != "mariadb":
            raise SystemExit(f"want MariaDB, the local sandbox is {server}")
        load_marketplace(server, "marketplace", scale=scale, seed=seed)
        log = Path(server.datadir or ".") / "capture-slow.log"
        with server.connect() as conn, conn.cursor() as cursor:
            cursor.execute("SET GLOBAL log_slow_verbosity = DEFAULT")
            cursor.execute(f"SET GLOBAL slow_query_log_file = '{log}'")
            cursor.execute("SET GLOBAL long_query_time = 0")
            info = {"server": f"{server.flavour} {server.version}",
                    "log_slow_verbosity": _variable(cursor, "log_slow_verbosity") or "(empty)",
                    "log_slow_filter": _variable(cursor, "log_slow_filter"),
                    "long_query_time": _variable(cursor, "long_query_time")}
        print(info, flush=True)
        rounds, statements, started = 0, 0, time.perf_counter()
        while not log.exists() or log.stat().st_size < min_mb * 1e6:
            result = run_workload(server, marketplace_spec(scale), duration=round_s,
                                  concurrency=concurrency, seed=seed + rounds,
                                  disposable=True, database="marketplace")
            rounds += 1
            statements += result.statements
            size = log.stat().st_size if log.exists() else 0
            print(f"round {rounds}: {result.statements:,} statements "
                  f"({result.throughput:,.0f}/s), log {size / 1e6:.1f} MB", flush=True)
        with server.connect() as conn, conn.cursor() as cursor:
            cursor.execute("FLUSH SLOW LOGS")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        shutil.copyfile(log, tmp)
        tmp.replace(out)  # the waiting reader never sees a half-copied log
    info.update(rounds=rounds, statements=statements, mb=out.stat().st_size / 1e6,
                seconds=round(time.perf_counter() - started), concurrency=concurrency,
                scale=scale)
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/work/captures/marketplace-mariadb.log"))
    parser.add_argument("--min-mb", type=float, default=64.0)
    parser.add_argument("--scale", type=float, default=0.02, help="marketplace fixture scale")
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--round-s", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    info = capture(args.out, args.min_mb, args.scale, args.concurrency, args.round_s, args.seed)
    from dbtune.digest import digest_slowlog

    digest = digest_slowlog([str(args.out)], jobs=1)
    info.update(events=digest.summary["events"], classes=digest.summary["classes"])
    print(info)


if __name__ == "__main__":
    main()
