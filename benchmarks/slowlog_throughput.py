"""Slow-log throughput: dbtune vs pt-query-digest vs mariadb-dumpslow on one generated log.

    python benchmarks/slowlog_throughput.py --size-mb 600
    python benchmarks/slowlog_throughput.py --size-mb 100 --runs 3
    python benchmarks/slowlog_throughput.py --log captured.log --skip-dumpslow
    python benchmarks/slowlog_throughput.py --size-mb 50 --skip-pt   # quick look

Generates (deterministically, into benchmarks/data/) a MariaDB 10.11 slow log of a
marketplace workload (log_slow_verbosity=query_plan,explain; several hundred query
classes, literals that vary per event, IN lists of varying length, multi-line
statements, `use db;` and `SET timestamp` lines, connection Quit commands), then runs
each tool on it ``--runs`` times, interleaved (after a warm-up run that puts the log in
the page cache), and prints the medians of wall time, CPU seconds, MB/s and peak RSS of
the largest process, the load average around each round (the machine may be shared)
and the dbtune/pt ratios: per core is pt's CPU seconds over dbtune's. dbtune runs with
--jobs 1 and --jobs 2 and the two JSON outputs must be identical.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

DATA = Path(__file__).parent / "data"
START = 1795702430  # 2026-11-26 in seconds

TABLES = {
    "products": ["id", "sku", "channel", "price", "stock", "seller_id", "updated_at"],
    "listings": ["id", "product_id", "channel", "external_id", "status", "synced_at"],
    "orders": ["id", "user_id", "status", "total", "created_at", "channel"],
    "order_items": ["id", "order_id", "product_id", "qty", "price"],
    "users": ["id", "email", "country", "created_at", "last_login"],
    "sessions": ["id", "user_id", "token", "expires_at", "ip"],
    "audit_log": ["id", "actor_id", "action", "entity", "entity_id", "created_at"],
    "sync_jobs": ["id", "channel", "state", "started_at", "finished_at", "error"],
}
CHANNELS = ("ebay", "trendyol", "amazon")
STATUSES = ("new", "paid", "shipped", "cancelled", "refunded", "active", "paused")
WORDS = ("mug", "lamp", "socks", "phone case", "usb cable", "desk", "chair", "kettle", "tent")


def _literal(rnd: random.Random, column: str) -> str:
    if column in ("channel",):
        return f"'{rnd.choice(CHANNELS)}'"
    if column in ("status", "state", "action"):
        return f"'{rnd.choice(STATUSES)}'"
    if column in ("sku", "external_id", "token"):
        return f"'{rnd.choice('ABCDEFGH')}{rnd.randrange(10**9):09d}'"
    if column == "email":
        return f"'user{rnd.randrange(10**7)}@example.{rnd.choice(('com', 'de', 'tr'))}'"
    if column.endswith("_at") or column == "last_login":
        day = rnd.randrange(1, 28)
        return f"'2026-11-{day:02d} {rnd.randrange(24):02d}:{rnd.randrange(60):02d}:00'"
    if column in ("price", "total"):
        return f"{rnd.randrange(100, 100000) / 100:.2f}"
    if column == "ip":
        return f"'10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)}'"
    return str(rnd.randrange(1, 5_000_000))


def _templates(rnd: random.Random, classes: int) -> list:
    """Query-class generators: each is fn(rnd) -> SQL text with fresh literals."""
    shapes = []
    for table, cols in TABLES.items():
        for a in cols:
            for b in cols:
                if a == b:
                    continue
                shapes.append(("point", table, a, b))
                shapes.append(("range", table, a, b))
            shapes.append(("in", table, a, None))
            shapes.append(("update", table, a, None))
        shapes.append(("insert", table, None, None))
        shapes.append(("count", table, cols[1], None))
    rnd.shuffle(shapes)
    first = [("join", "orders", None, None), ("join2", "listings", None, None),
             next(s for s in shapes if s[0] == "insert"),
             next(s for s in shapes if s[0] == "update")]
    return (first + [s for s in shapes if s not in first])[:classes]


def _sql(rnd: random.Random, shape: tuple) -> str:
    kind, table, a, b = shape
    cols = TABLES[table]
    if kind == "point":
        return (
            f"SELECT {', '.join(cols[:4])} FROM {table} WHERE {a} = {_literal(rnd, a)} "
            f"AND {b} = {_literal(rnd, b)} LIMIT {rnd.choice((1, 10, 50))}"
        )
    if kind == "range":
        return (
            f"SELECT * FROM {table}\n  WHERE {a} >= {_literal(rnd, a)}\n"
            f"  ORDER BY {b} DESC\n  LIMIT {rnd.choice((20, 100))}"
        )
    if kind == "in":
        values = ", ".join(_literal(rnd, a) for _ in range(rnd.randrange(1, 40)))
        return f"SELECT id, {cols[1]} FROM {table} WHERE {a} IN ({values})"
    if kind == "update":
        return (
            f"UPDATE {table} SET {cols[-1]} = {_literal(rnd, cols[-1])} "
            f"WHERE {a} = {_literal(rnd, a)}"
        )
    if kind == "insert":
        rows = ", ".join(
            "(" + ", ".join(_literal(rnd, c) for c in cols[1:]) + ")"
            for _ in range(rnd.randrange(1, 6))
        )
        return f"INSERT INTO {table} ({', '.join(cols[1:])}) VALUES {rows}"
    if kind == "count":
        return f"SELECT {a}, COUNT(*) FROM {table} WHERE id > {_literal(rnd, 'id')} GROUP BY {a}"
    if kind == "join":
        return (
            "SELECT o.id, o.total, oi.product_id, p.sku\nFROM orders o\n"
            "  JOIN order_items oi ON oi.order_id = o.id\n"
            "  JOIN products p ON p.id = oi.product_id\n"
            f"WHERE o.user_id = {_literal(rnd, 'id')} AND o.status = "
            f"{_literal(rnd, 'status')}\nORDER BY o.created_at DESC LIMIT 20"
        )
    return (
        "SELECT l.id, l.external_id, p.stock FROM listings l JOIN products p "
        f"ON p.id = l.product_id WHERE l.channel = {_literal(rnd, 'channel')} "
        f"AND l.synced_at < {_literal(rnd, 'synced_at')} AND p.title LIKE "
        f"'%{rnd.choice(WORDS)}%'"
    )


def generate(path: Path, size_bytes: int, seed: int = 42, classes: int = 420,
             batch: int = 2000) -> None:
    """Write a deterministic MariaDB 10.11 slow log of about ``size_bytes`` to ``path``."""
    rnd = random.Random(seed)
    shapes = _templates(rnd, classes)
    weights = [1.0 / (i + 1) ** 0.9 for i in range(len(shapes))]
    now = START
    threads = {t: None for t in range(1, 200)}
    written = 0
    last_stamp = None
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(
            "/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-0+deb12u1-log (Debian 12). "
            "started with:\nTcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\n"
            "Time\t\t    Id Command\tArgument\n"
        )
        while written < size_bytes:
            buf = []
            for _ in range(batch):
                now += rnd.random() * 0.01
                stamp = time.strftime("%y%m%d %H:%M:%S", time.gmtime(int(now)))
                stamp = stamp[:7] + (" " + stamp[8:] if stamp[7] == "0" else stamp[7:])
                thread = rnd.randrange(1, 200)
                user = rnd.choice(("app", "app", "app", "sync", "report"))
                host = f"web-{thread % 7}"
                lines = []
                if stamp != last_stamp:
                    lines.append(f"# Time: {stamp}")
                    last_stamp = stamp
                lines.append(f"# User@Host: {user}[{user}] @ {host} [10.0.0.{thread % 7 + 10}]")
                db = "marketplace" if rnd.random() > 0.02 else "marketplace_archive"
                lines.append(f"# Thread_id: {thread}  Schema: {db}  QC_hit: No")
                if rnd.random() < 0.01:
                    qt = rnd.random() * 0.0002
                    lines.append(
                        f"# Query_time: {qt:.6f}  Lock_time: 0.000000  Rows_sent: 0"
                        "  Rows_examined: 0\n# Rows_affected: 0  Bytes_sent: 0"
                    )
                    lines.append(f"SET timestamp={int(now)};\n# administrator command: Quit;")
                    threads[thread] = None
                    buf.append("\n".join(lines))
                    continue
                shape = rnd.choices(shapes, weights)[0]
                base = 0.0005 + (zlib.crc32(repr(shape).encode()) % 1000) / 20000
                qt = rnd.lognormvariate(0, 0.8) * base
                examined = int(rnd.lognormvariate(5, 2))
                sent = min(examined, int(rnd.lognormvariate(2, 1.5)))
                full = "Yes" if shape[0] in ("range", "count") else "No"
                sort = "Yes" if shape[0] in ("range", "join") else "No"
                lines.append(
                    f"# Query_time: {qt:.6f}  Lock_time: {qt * 0.01:.6f}  "
                    f"Rows_sent: {sent}  Rows_examined: {examined}"
                )
                lines.append(
                    f"# Rows_affected: {0 if shape[0] != 'update' else sent}  "
                    f"Bytes_sent: {sent * 120 + 60}"
                )
                if shape[0] in ("count", "join"):
                    lines.append(
                        f"# Tmp_tables: 1  Tmp_disk_tables: {int(rnd.random() < 0.1)}"
                        "  Tmp_table_sizes: 2097120"
                    )
                lines.append(
                    f"# Full_scan: {full}  Full_join: No  Tmp_table: No  Tmp_table_on_disk: No"
                )
                lines.append(
                    f"# Filesort: {sort}  Filesort_on_disk: No  Merge_passes: 0  "
                    f"Priority_queue: {sort}"
                )
                if rnd.random() < 0.3:
                    lines.append(
                        "#\n# explain: id\tselect_type\ttable\ttype\tpossible_keys\t"
                        "key\tkey_len\tref\trows\tr_rows\tfiltered\tr_filtered\tExtra"
                    )
                    lines.append(
                        f"# explain: 1\tSIMPLE\t{shape[1]}\tALL\tNULL\tNULL\tNULL\t"
                        f"NULL\t{examined}\t{examined}.00\t100.00\t10.00\tUsing where\n#"
                    )
                if threads[thread] != db:
                    lines.append(f"use `{db}`;")
                    threads[thread] = db
                lines.append(f"SET timestamp={int(now)};")
                lines.append(_sql(rnd, shape) + ";")
                buf.append("\n".join(lines))
            chunk = "\n".join(buf) + "\n"
            out.write(chunk)
            written += len(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=600)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--log", type=Path, help="an existing slow log instead of a generated one")
    parser.add_argument("--runs", type=int, default=3, help="runs of each tool (medians)")
    parser.add_argument("--skip-pt", action="store_true", help="do not run pt-query-digest")
    parser.add_argument("--skip-dumpslow", action="store_true")
    parser.add_argument("--pt-runs", type=int, help="runs of pt-query-digest (default --runs)")
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    log = args.log or DATA / f"marketplace-{args.size_mb}mb-seed{args.seed}.log"
    if not log.exists():
        t = time.perf_counter()
        generate(log.with_suffix(".tmp"), args.size_mb << 20, args.seed)
        log.with_suffix(".tmp").rename(log)
        print(f"generated {log} in {time.perf_counter() - t:.1f}s")
    size_mb = log.stat().st_size / (1 << 20)
    dbtune = [sys.executable, "-m", "dbtune", "analyze", "slowlog", str(log), "--format", "json"]
    tools = [(f"dbtune --jobs {jobs}", dbtune + ["--jobs", str(jobs)],
              DATA / f"dbtune-jobs{jobs}.json", args.runs) for jobs in (1, 2)]
    if not args.skip_pt and shutil.which("pt-query-digest"):
        tools.append(("pt-query-digest",
                      ["pt-query-digest", "--output", "json", "--limit", "100%:100000", str(log)],
                      DATA / "pt.json", args.pt_runs or args.runs))
    if not args.skip_dumpslow and shutil.which("mariadb-dumpslow"):
        tools.append(("mariadb-dumpslow", ["mariadb-dumpslow", "-s", "t", str(log)],
                      DATA / "dumpslow.txt", args.runs))
    _measure("warm-up", dbtune + ["--jobs", "1"], DATA / "dbtune-jobs1.json")  # page cache
    runs: dict[str, list[dict]] = {label: [] for label, *_ in tools}
    loads = [os.getloadavg()[0]]
    for k in range(max(t[3] for t in tools)):  # tools interleaved, run after run
        for label, argv, out, wanted in tools:
            if k < wanted:
                runs[label].append(_measure(label, argv, out))
        loads.append(os.getloadavg()[0])
    same = (DATA / "dbtune-jobs1.json").read_bytes() == (DATA / "dbtune-jobs2.json").read_bytes()
    print(f"\nlog: {log.name}, {size_mb:.0f} MB; medians of {args.runs} runs "
          f"(pt-query-digest: {args.pt_runs or args.runs})\n")
    print("load average (1 min) before and after each round: "
          + ", ".join(f"{x:.1f}" for x in loads))
    print(f"{'tool':<20}{'wall s':>9}{'MB/s':>8}{'CPU s':>9}{'MB/CPU s':>10}{'peak RSS MB':>13}"
          f"  CPU s of each run")
    medians = {label: _medians(found) for label, found in runs.items()}
    for label, m in medians.items():
        print(f"{label:<20}{m['seconds']:>9.1f}{size_mb / m['seconds']:>8.1f}"
              f"{m['cpu_seconds']:>9.1f}{size_mb / m['cpu_seconds']:>10.1f}"
              f"{m['peak_rss_mb']:>13.0f}  "
              + " ".join(f"{r['cpu_seconds']:.1f}" for r in runs[label]))
    pt = medians.get("pt-query-digest")
    if pt:
        for jobs in (1, 2):
            m = medians[f"dbtune --jobs {jobs}"]
            print(f"dbtune --jobs {jobs} vs pt-query-digest: "
                  f"{pt['seconds'] / m['seconds']:.1f}x wall, "
                  f"{pt['cpu_seconds'] / m['cpu_seconds']:.1f}x per core (CPU seconds)")
    summary = json.loads((DATA / "dbtune-jobs1.json").read_text()).get("summary", {})
    print(f"dbtune events={summary.get('events')} classes={summary.get('classes')}")
    print(f"dbtune --jobs 1 and --jobs 2 outputs identical: {same}")
    if not same:
        sys.exit(1)


def _medians(found: list[dict]) -> dict[str, float]:
    """The median of each figure over runs."""
    return {key: statistics.median(r[key] for r in found)
            for key in ("seconds", "cpu_seconds", "peak_rss_mb")}


def _measure(label: str, argv: list[str], out: Path) -> dict:
    """Peak RSS of the largest process of one run, via a fresh Python wrapper per tool.

    RUSAGE_CHILDREN keeps the maximum over all waited-for descendants, so a wrapper
    process per tool gives that tool's figure alone (workers included).
    """
    code = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "p = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], 'wb'), stderr=subprocess.PIPE);"
        "w = time.perf_counter() - t;"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
        "sys.stderr.write(p.stderr.decode()[-400:]);"
        "print(w, u.ru_maxrss, u.ru_utime + u.ru_stime, p.returncode)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out), *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    try:
        wall, rss, cpu, rc = proc.stdout.split()
    except ValueError:
        sys.exit(f"{label}: measurement failed: {proc.stderr[-500:]}")
    if rc != "0":
        sys.exit(f"{label} failed ({rc}): {proc.stderr[-500:]}")
    return {
        "tool": label,
        "seconds": float(wall),
        "peak_rss_mb": int(rss) / 1024,
        "cpu_seconds": float(cpu),
    }


if __name__ == "__main__":
    main()
