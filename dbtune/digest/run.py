"""digest_slowlog: slow-log byte ranges read and aggregated in one process or a pool."""

from __future__ import annotations

import multiprocessing
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from dbtune.digest.aggregate import Aggregate
from dbtune.digest.filters import Filters
from dbtune.digest.result import Digest
from dbtune.fingerprint import FingerprintCache
from dbtune.ingest.slowlog import EPOCH, expand_paths
from dbtune.ingest.slowlog_source import MIN_PARALLEL_BYTES, ByteRange, RangeReader, byte_ranges

#: One fingerprint cache per process, shared by the inputs and ranges it reads.
_FINGERPRINTS = FingerprintCache()


def digest_range(part: ByteRange, filters: Filters | None = None,
                 progress: Any = None) -> Aggregate:
    """The aggregate of one byte range of a slow log, its events kept by ``filters``."""
    aggregate = Aggregate(files=[part.name])
    reader = RangeReader(part, progress)
    active = filters is not None and filters.active()
    for block in reader:
        if active:
            block = block.take(filters.mask(block))
        aggregate.add_block(block, _FINGERPRINTS, part.name)
    aggregate.stats = reader.stats
    aggregate.lines = reader.lines
    return aggregate


def _digest_task(task: tuple[ByteRange, Filters]) -> Aggregate:
    return digest_range(*task)


def _to_us(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return (value - EPOCH) // timedelta(microseconds=1)


def digest_slowlog(
    paths: str | Path | list,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    database: str | None = None,
    user: str | None = None,
    host: str | None = None,
    jobs: int | None = None,
    progress: bool = False,
) -> Digest:
    """Digest slow logs (paths, globs, ``.gz``, ``-`` for stdin) into query classes.

    ``since``/``until`` compare with event times (naive = the log's clock; aware values
    are converted to UTC); events without any time are dropped by a time filter.
    ``jobs`` worker processes (default: 1 below 16 MB, else up to 4 by CPU count) read
    byte ranges of large plain files; the result does not depend on it.
    """
    names = expand_paths(paths)
    filters = Filters(_to_us(since), _to_us(until), database, user, host)
    if jobs is None:
        big = sum(os.path.getsize(n) for n in names if n != "-" and os.path.isfile(n))
        jobs = 1 if big < MIN_PARALLEL_BYTES else min(os.cpu_count() or 1, 4)
    jobs = max(1, jobs)
    parts = 4 * jobs if jobs > 1 else 1  # several ranges per worker evens their loads
    tasks = [(part, filters) for name in names for part in byte_ranges(name, parts)]
    bar = _progress_bar(names) if progress else None
    total = Aggregate()
    try:
        if jobs == 1 or len(tasks) == 1:
            for part, _ in tasks:
                merge_in_order(total, digest_range(part, filters, bar), part)
        else:
            context = multiprocessing.get_context("spawn")
            with context.Pool(min(jobs, len(tasks))) as pool:
                for (part, _), done in zip(tasks, pool.imap(_digest_task, tasks), strict=True):
                    if bar is not None:
                        bar.update(done.stats.bytes_read)
                    merge_in_order(total, done, part)
    finally:
        if bar is not None:
            bar.close()
    return Digest(total)


def merge_in_order(total: Aggregate, done: Aggregate, part: ByteRange) -> None:
    """Merge the aggregate of ``part``; ranges after the first of a file continue its lines.

    Ranges must be merged in input order.
    """
    shift = total.lines if part.start else 0
    if not part.start:
        total.lines = 0
    total.merge(done, shift)


def _progress_bar(names: list[str]):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    size = sum(os.path.getsize(n) for n in names if n != "-" and os.path.isfile(n))
    return tqdm(total=size or None, unit="B", unit_scale=True, file=sys.stderr,
                desc="slow log")
