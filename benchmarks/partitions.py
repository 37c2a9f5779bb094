"""Partitioning on the marketplace fixture: verdicts, pruning, before/after, and the purge.

    python benchmarks/partitions.py [--scale 4] [--statements 3000] [--bench-count 3000]

One local sandbox; the marketplace fixture at ``--scale`` (audit_log holds 700,000 rows per
unit of scale, user_sessions 150,000); the load time is printed.

1. A replay of the marketplace workload (``--statements``) is digested from the sandbox's slow
   log and ``advise_partitions`` gives its honest verdicts (audit_log with a 365-day retention).
2. Both tables are then partitioned on request (``force``) and verified on the sandbox:
   EXPLAIN's partitions column per class, sorted-row checksums before/after, ALTER seconds.
3. ``run_bench`` replays the workload before and after (``--bench-count`` statements a round),
   per class, with result equivalence (the 2x guard: ``dbtune bench``'s per-class ratio).
4. The purge: user_sessions' expired rows deleted by pt-archiver's nibbling DELETE
   (``--purge --limit 1000 --commit-each``; our own ``DELETE ... LIMIT 1000`` loop when
   pt-archiver is missing) on the plain table, then as many days dropped with DROP PARTITION on
   the partitioned one; a reader thread measures lookup latency before and during each.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import threading
import time
from datetime import timedelta

import numpy as np

from dbtune.advise.partitioning import PARTITION, Thresholds, advise_partitions
from dbtune.bench.report import render as render_bench
from dbtune.bench.rounds import Migration, Replay, run_bench
from dbtune.bench.workloads import spec_workload
from dbtune.catalog import Catalog
from dbtune.digest import digest_slowlog
from dbtune.report.formats import render_rows
from dbtune.sandbox import Server, start_server
from dbtune.workload import model
from dbtune.workload.marketplace import load_marketplace
from dbtune.workload.runner import run_workload
from dbtune.workload.spec import marketplace_spec

DB = "shop"
TABLES = ("audit_log", "user_sessions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=4.0)
    parser.add_argument("--statements", type=int, default=3000)
    parser.add_argument("--bench-count", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    with start_server("local", disposable=True) as server:
        started = time.perf_counter()
        counts = load_marketplace(server, DB, scale=args.scale)
        print(f"loaded scale {args.scale:g} in {time.perf_counter() - started:.0f} s: "
              + ", ".join(f"{t} {counts[t]:,} rows" for t in TABLES))
        spec = marketplace_spec(args.scale)
        run_workload(server, spec, count=args.statements, concurrency=1, seed=3, database=DB)
        digest = digest_slowlog(server.slow_log_path, database=DB)
        with server.connect(DB) as connection:
            catalog = Catalog.from_server(connection, DB)
            honest = advise_partitions(digest, catalog, connection=connection,
                                       retention={"audit_log": 365})
            print("\n== verdicts (the estimate alone)")
            print(render_rows([{k: v for k, v in t.row().items() if k != "ddl"}
                               for t in honest.tables if t.table in TABLES], "table"))
            forced = advise_partitions(digest, catalog, connection=connection,
                                       retention={"audit_log": 365}, force=TABLES,
                                       thresholds=Thresholds(min_rows=0),
                                       verify_on=server)
        names = {c.id: c.fingerprint[:60] for c in digest.classes}
        print("\n== verified on the sandbox (partitioned on request, then restored)")
        for t in forced.tables:
            if t.table not in TABLES or t.verdict != PARTITION:
                continue
            print(f"\n{t.table}: {t.scheme.method}({t.column}) by {t.scheme.granularity}, "
                  f"{t.scheme.partition_count} partitions; ALTER "
                  f"{t.verification.get('alter_seconds')} s, rollback "
                  f"{t.verification.get('rollback_seconds')} s")
            print(render_rows([{"class": names.get(p.class_id, p.class_id), "role": p.role,
                                "estimated": f"{p.touched}/{p.total}",
                                "explain": _short(t.measured.get(p.class_id, {})),
                                "identical": t.measured.get(p.class_id, {}).get("identical")}
                               for p in t.pruning], "table"))
        advised = [t for t in forced.tables if t.table in TABLES and t.verdict == PARTITION]
        migration = Migration([s for t in advised for s in t.ddl],
                              [s for t in reversed(advised) for s in t.rollback],
                              source="advise partitions (audit_log, user_sessions)")
        result = run_bench(server, spec_workload(spec), DB, migration, rounds=1,
                           replay=Replay(count=args.bench_count, concurrency=args.concurrency,
                                         warmup=200))
        print("\n== dbtune bench before/after (the partitioned state is 'after')")
        print(render_bench(result, "table"))
        sessions = next(t for t in advised if t.table == "user_sessions")
        with server.connect(DB) as connection, connection.cursor() as cursor:
            for sql in sessions.rollback:  # the bench left it partitioned: the plain table first
                cursor.execute(sql)
        purge(server, sessions)


def _short(measured: dict) -> str:
    if not measured:
        return "-"
    if measured.get("error"):
        return "error: " + str(measured["error"])[:40]
    parts = measured.get("partitions_read") or ""
    count = measured.get("partitions")
    return parts if count is not None and count <= 3 else f"{count} partitions"


class Reader(threading.Thread):
    """Lookups by primary key on user_sessions in a loop; latencies (ms) while ``on``."""

    def __init__(self, server: Server, top: int) -> None:
        super().__init__(daemon=True)
        self.server, self.top, self.stop = server, top, threading.Event()
        self.latencies: list[float] = []

    def run(self) -> None:
        rng = random.Random(7)
        with self.server.connect(DB) as connection, connection.cursor() as cursor:
            while not self.stop.is_set():
                started = time.perf_counter()
                cursor.execute("SELECT id, user_id, expires_at FROM user_sessions WHERE id = %s",
                               (rng.randint(1, self.top),))
                cursor.fetchall()
                self.latencies.append((time.perf_counter() - started) * 1000)


def measured_reads(server: Server, top: int, action) -> tuple[float, dict[str, float]]:
    """Run ``action()`` with a Reader going; its seconds and the reads' p50/p99 (ms)."""
    reader = Reader(server, top)
    reader.start()
    time.sleep(0.5)
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    reader.stop.set()
    reader.join()
    values = np.array(reader.latencies or [0.0])
    return seconds, {"reads": len(values), "p50": float(np.percentile(values, 50)),
                     "p99": float(np.percentile(values, 99))}


def purge(server: Server, sessions) -> None:
    """DELETE (pt-archiver) against DROP PARTITION on user_sessions, with concurrent reads."""
    scheme = sessions.scheme
    with server.connect(DB) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id), MIN(expires_at) FROM user_sessions")
        top, oldest = cursor.fetchone()
    # the expired partitions that still hold rows: the older half is purged by DELETE, the
    # newer half by DROP PARTITION
    expired = [(lo, hi) for _, lo, hi in scheme.partitions()
               if lo is not None and hi <= model.NOW.date() and hi > oldest.date()]
    if len(expired) < 2:
        print(f"\npurge not measured: {len(expired)} expired partition(s) hold rows")
        return
    cut, last = expired[len(expired) // 2][0], expired[-1][1]

    def count(lo, hi) -> int:
        with server.connect(DB) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM user_sessions WHERE expires_at >= %s AND "
                           "expires_at < %s", (lo, hi))
            return cursor.fetchone()[0]

    rows = []
    idle = measured_reads(server, top, lambda: time.sleep(5))[1]
    doomed = count(oldest - timedelta(days=1), cut)
    tool = "pt-archiver --purge --limit 1000 --commit-each"
    seconds, reads = measured_reads(server, top, lambda: _delete(server, cut))
    if not shutil.which("pt-archiver"):
        tool = "DELETE ... LIMIT 1000 loop"
    rows.append({"purge": tool, "rows": doomed, "seconds": seconds,
                 "rows/s": doomed / seconds, "reads p50 ms": reads["p50"],
                 "reads p99 ms": reads["p99"], "idle p50 ms": idle["p50"],
                 "idle p99 ms": idle["p99"]})
    with server.connect(DB) as connection, connection.cursor() as cursor:
        started = time.perf_counter()
        for sql in sessions.ddl:
            cursor.execute(sql)
        print(f"\npartitioning user_sessions took {time.perf_counter() - started:.1f} s")
    victims = [n for n, lo, hi in scheme.partitions() if lo is not None and cut <= lo
               and hi <= last]
    doomed = count(cut, last)
    idle = measured_reads(server, top, lambda: time.sleep(5))[1]

    def drop() -> None:
        with server.connect(DB) as connection, connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE user_sessions DROP PARTITION {', '.join(victims)}")

    seconds, reads = measured_reads(server, top, drop)
    rows.append({"purge": f"DROP PARTITION ({len(victims)} x {scheme.granularity})",
                 "rows": doomed,
                 "seconds": seconds, "rows/s": doomed / seconds, "reads p50 ms": reads["p50"],
                 "reads p99 ms": reads["p99"], "idle p50 ms": idle["p50"],
                 "idle p99 ms": idle["p99"]})
    print(f"\n== purge of user_sessions: expires_at below {cut} by DELETE, "
          f"[{cut}, {last}) by DROP PARTITION; a reader does lookups by id meanwhile")
    print(render_rows(rows, "table", floatfmt=",.3f"))
    per_row = [r["seconds"] / max(r["rows"], 1) for r in rows]
    print(f"DROP PARTITION / DELETE, seconds per row purged: {per_row[1] / per_row[0]:.4f}")


def _delete(server: Server, cut) -> None:
    """pt-archiver's nibbling purge (our own loop when it is not installed)."""
    where = f"expires_at < '{cut.isoformat()}'"
    if shutil.which("pt-archiver"):
        source = f"h={server.host},P={server.port},u={server.user},D={DB},t=user_sessions"
        env = dict(os.environ, MYSQL_PWD=server.password)
        subprocess.run(["pt-archiver", "--source", source, "--purge", "--where", where,
                        "--limit", "1000", "--commit-each", "--no-check-charset",
                        "--primary-key-only"], check=True, env=env,
                       capture_output=True)
        return
    with server.connect(DB) as connection, connection.cursor() as cursor:
        while cursor.execute(f"DELETE FROM user_sessions WHERE {where} LIMIT 1000"):
            connection.commit()


if __name__ == "__main__":
    main()
