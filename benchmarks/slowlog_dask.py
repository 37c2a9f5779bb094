"""Dask scaling: one slow log digested on a LocalCluster of 1 and of 2 process workers.

    python benchmarks/slowlog_dask.py benchmarks/data/marketplace-100mb-seed42.log --rounds 2

Each round digests the log with ``digest_slowlog(path, scheduler=client)`` on a fresh
LocalCluster of 1 worker, then of 2 workers (1 thread each; cluster start-up not
timed), and checks that the classes and summary equal those of one in-process run. It
prints wall seconds, MB/s, the 2-vs-1 speed-up and the load average around each run
(the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from dask.distributed import Client, LocalCluster

from dbtune.digest import digest_slowlog


def _timed(path: Path, workers: int) -> tuple[float, object]:
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        t = time.perf_counter()
        digest = digest_slowlog(path, scheduler=client)
        return time.perf_counter() - t, digest


def _same(a, b) -> bool:
    return a.summary == b.summary and a.classes == b.classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    size_mb = args.log.stat().st_size / (1 << 20)
    reference = digest_slowlog(args.log, jobs=1)
    print(f"log: {args.log.name}, {size_mb:.0f} MB")
    print(f"{'round':<7}{'workers':>8}{'wall s':>9}{'MB/s':>8}{'load before':>13}"
          f"{'load after':>12}  identical")
    for k in range(1, args.rounds + 1):
        seconds = {}
        for workers in (1, 2):
            before = os.getloadavg()[0]
            seconds[workers], digest = _timed(args.log, workers)
            print(f"{k:<7}{workers:>8}{seconds[workers]:>9.1f}{size_mb / seconds[workers]:>8.1f}"
                  f"{before:>13.1f}{os.getloadavg()[0]:>12.1f}  {_same(digest, reference)}")
        print(f"round {k}: 2 workers vs 1: {seconds[1] / seconds[2]:.2f}x")


if __name__ == "__main__":
    main()
