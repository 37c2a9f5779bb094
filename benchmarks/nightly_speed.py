"""A night's report vs `dbtune analyze slowlog` on the same large slow log.

    python benchmarks/nightly_speed.py --size-mb 1024
    python benchmarks/nightly_speed.py --size-mb 64 --rounds 1   # quick look

The log is the deterministic marketplace log of benchmarks/slowlog_throughput.py (reused
from benchmarks/data/ when it exists). The history holds the 7 nights before it (a 16 MB
log of the same workload, stored once per day through the library), so the report does
all its work: digest, baseline from merged sketches, findings, index and hygiene advice on
a schema of the generator's tables, storing the night, and the HTML page with its charts.
Both commands run with their default jobs, alternately, `--rounds` times; the medians and
their ratio are printed (goal: the report within 1.5x of the digest).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from slowlog_throughput import DATA, TABLES, generate  # noqa: E402

DAY = date(2026, 11, 26)  # the generated log's day


def schema_ddl() -> str:
    """CREATE TABLE statements for the generator's tables (primary keys only)."""
    def column(name: str) -> str:
        if name == "id" or name.endswith("_id") or name in ("stock", "qty"):
            return f"{name} BIGINT NOT NULL" if name == "id" else f"{name} BIGINT"
        if name.endswith("_at") or name == "last_login":
            return f"{name} DATETIME"
        if name in ("price", "total"):
            return f"{name} DECIMAL(10,2)"
        return f"{name} VARCHAR(64)"

    return "\n".join(f"CREATE TABLE {table} ({', '.join(column(c) for c in cols)}, "
                     f"PRIMARY KEY (id)) ENGINE=InnoDB;" for table, cols in TABLES.items())


def log_of(size_mb: int, seed: int = 42) -> Path:
    DATA.mkdir(exist_ok=True)
    log = DATA / f"marketplace-{size_mb}mb-seed{seed}.log"
    if not log.exists():
        t = time.perf_counter()
        generate(log.with_suffix(".tmp"), size_mb << 20, seed)
        log.with_suffix(".tmp").rename(log)
        print(f"generated {log} in {time.perf_counter() - t:.1f}s", flush=True)
    return log


def seed_history(history: Path, days: int = 7) -> None:
    """The ``days`` nights before DAY, each the digest of a 16 MB log of the workload."""
    from dbtune.digest import digest_slowlog
    from dbtune.nightly import History

    small = digest_slowlog([str(log_of(16))], jobs=1)
    with History(history) as h:
        for i in range(days, 0, -1):
            h.write_day(DAY - timedelta(days=i), small)


def run(argv: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the children, exit status) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1, 3):
        sys.exit(f"{' '.join(argv)} failed: {done.stderr.decode()[-800:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    log = log_of(args.size_mb)
    work = Path(tempfile.mkdtemp(prefix="nightly-speed-"))
    schema = work / "schema.sql"
    schema.write_text(schema_ddl())
    seeded = work / "seeded.sqlite"
    seed_history(seeded)
    dbtune = [sys.executable, "-m", "dbtune"]
    analyze = dbtune + ["analyze", "slowlog", str(log), "--format", "json"]
    load = os.getloadavg()[0]
    times: dict[str, list[tuple[float, float, int]]] = {"analyze": [], "nightly": []}
    for i in range(args.rounds):
        history = work / f"history-{i}.sqlite"
        shutil.copy(seeded, history)  # every round reports the same night on the same history
        nightly = dbtune + ["report", "nightly", str(log), "--history", str(history),
                            "--schema", str(schema), "--format", "html",
                            "-o", str(work / "report.html")]
        times["analyze"].append(run(analyze))
        times["nightly"].append(run(nightly))
        print(f"round {i + 1}: analyze {times['analyze'][-1][0]:.1f}s, "
              f"nightly {times['nightly'][-1][0]:.1f}s (exit {times['nightly'][-1][2]})",
              flush=True)
    size_mb = log.stat().st_size / (1 << 20)
    print(f"\nlog: {log.name}, {size_mb:.0f} MB; load average before {load:.1f}, after "
          f"{os.getloadavg()[0]:.1f}; {args.rounds} rounds, alternating")
    medians = {}
    for name, runs in times.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        medians[name] = wall
        print(f"{name:<10} median wall {wall:7.1f}s  ({size_mb / wall:5.1f} MB/s)  "
              f"median CPU {cpu:7.1f}s")
    ratio = medians["nightly"] / medians["analyze"]
    print(f"report nightly / analyze slowlog: {ratio:.2f}x (goal <= 1.5x)")
    print(f"HTML report: {work / 'report.html'} ({(work / 'report.html').stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
