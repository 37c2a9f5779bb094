"""digest_slowlog: slow-log byte ranges read and aggregated in one process, a pool or Dask."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from dbtune.digest.aggregate import Aggregate
from dbtune.digest.filters import Filters, values
from dbtune.digest.result import Digest
from dbtune.fingerprint import FingerprintCache
from dbtune.ingest.slowlog import EPOCH
from dbtune.ingest.slowlog_input import expand_paths
from dbtune.ingest.slowlog_source import MIN_PARALLEL_BYTES, ByteRange, RangeReader, byte_ranges
from dbtune.model import InputError

# One fingerprint cache per thread (Dask workers may be threads), kept across the inputs
# and ranges it reads.
_LOCAL = threading.local()


def _fingerprints() -> FingerprintCache:
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = FingerprintCache()
    return cache


def digest_range(part: ByteRange, filters: Filters | None = None,
                 progress: Any = None) -> Aggregate:
    """The aggregate of one byte range of a slow log, its events kept by ``filters``."""
    aggregate = Aggregate(files=[part.name])
    reader = RangeReader(part, progress)
    active = filters is not None and filters.active()
    aggregate.filtered = active
    fingerprints = _fingerprints()
    for block in reader:
        if active:
            aggregate.read += len(block)
            block = block.take(filters.mask(block))
        aggregate.add_block(block, fingerprints, part.name)
    aggregate.stats = reader.stats
    aggregate.lines = reader.lines
    return aggregate


def _attempt(part: ByteRange, filters: Filters | None, progress: Any = None
             ) -> Aggregate | InputError:
    """digest_range, or the InputError that says why the input cannot be read."""
    try:
        return digest_range(part, filters, progress)
    except InputError as exc:
        return exc


def _digest_task(task: tuple[ByteRange, Filters]) -> Aggregate | InputError:
    return _attempt(*task)


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
    database: str | Sequence[str] | None = None,
    user: str | Sequence[str] | None = None,
    host: str | Sequence[str] | None = None,
    jobs: int | None = None,
    progress: bool = False,
    label: str | None = None,
    scheduler: Any = None,
) -> Digest:
    """Digest slow logs (paths, globs, ``.gz``, ``-`` for stdin) into query classes.

    ``since``/``until`` compare with event times (naive = the log's clock; aware values
    are converted to UTC); events without any time are dropped by a time filter.
    ``database``, ``user`` and ``host`` take one value or several (an event matching any
    is kept). With a filter, the summary
    says how many events were read (``events_read``) besides those kept (``events``).
    ``jobs`` worker processes (default: 1 below 16 MB, else up to 4 by CPU count) read
    byte ranges of large plain files; the result does not depend on it.

    ``scheduler``: a ``dask.distributed.Client``, a scheduler address, or ``"local"`` (a
    LocalCluster of one process per core for this call) to read the
    byte ranges as Dask tasks on its workers instead (``jobs`` then only sets the number
    of ranges per file: 4 per worker by default); the workers need dbtune and read
    access to the same paths. ``label`` names the server the logs come from: each class
    counts its events per label (:attr:`QueryClass.labels`), which survives merges.
    """
    names, failed = _inputs(paths)
    filters = Filters(_to_us(since), _to_us(until), values(database), values(user),
                      values(host))
    if jobs is None:
        big = sum(os.path.getsize(n) for n in names if n != "-" and os.path.isfile(n))
        jobs = 1 if big < MIN_PARALLEL_BYTES else min(os.cpu_count() or 1, 4)
    jobs = max(1, jobs)
    if scheduler is not None:
        with _dask_client(scheduler) as client:
            workers = max(1, len(client.scheduler_info()["workers"]))
            parts = 4 * (jobs if jobs > 1 else workers)
            tasks = [(part, filters) for name in names for part in byte_ranges(name, parts)]
            futures = client.map(_digest_task, tasks, pure=False)
            done = client.gather(futures)
        total = _combine(zip([p for p, _ in tasks], done, strict=True), failed)
    else:
        parts = 4 * jobs if jobs > 1 else 1  # several ranges per worker evens their loads
        tasks = [(part, filters) for name in names for part in byte_ranges(name, parts)]
        bar = _progress_bar(names) if progress else None
        try:
            total = _combine(_results(tasks, jobs, bar), failed)
        finally:
            if bar is not None:
                bar.close()
    if not total.files:
        if len(failed) == 1:
            raise failed[0][1]
        raise InputError("no readable slow log: " + "; ".join(str(e) for _, e in failed))
    if label is not None:
        total.label(label)
    return Digest(total)


@contextmanager
def _dask_client(scheduler: Any) -> Iterator[Any]:
    """The dask.distributed Client of ``scheduler``: a Client as given, an address
    connected (and closed after), or ``"local"``: a LocalCluster of one process per core."""
    if not isinstance(scheduler, str):
        yield scheduler
        return
    from dask.distributed import Client, LocalCluster

    if scheduler == "local":
        with LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
        return
    with Client(scheduler) as client:
        yield client


def _inputs(paths: str | Path | list) -> tuple[list[str], list[tuple[str, InputError]]]:
    """The input names in order, and (name, error) of each that does not exist."""
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        expand_paths(items)  # raises "no slow log given"
    names: list[str] = []
    failed: list[tuple[str, InputError]] = []
    for item in items:
        try:
            names += expand_paths(item)
        except InputError as exc:
            failed.append((os.fspath(item), exc))
    return names, failed


def _results(tasks: list[tuple[ByteRange, Filters]], jobs: int, bar: Any
             ) -> Iterator[tuple[ByteRange, Aggregate | InputError]]:
    """(range, its aggregate or error) of each task, in task order."""
    if jobs == 1 or len(tasks) == 1:
        for part, filters in tasks:
            yield part, _attempt(part, filters, bar)
        return
    import multiprocessing  # a pool only: one job does without its imports

    context = multiprocessing.get_context("spawn")
    with context.Pool(min(jobs, len(tasks))) as pool:
        for (part, _), done in zip(tasks, pool.imap(_digest_task, tasks), strict=True):
            if bar is not None and isinstance(done, Aggregate):
                bar.update(done.stats.bytes_read)
            yield part, done


def _combine(results: Iterable[tuple[ByteRange, Aggregate | InputError]],
             failed: list[tuple[str, InputError]]) -> Aggregate:
    """One aggregate of the ranges of every input, in order; an input with a range that
    failed is left out whole and added to ``failed`` ((name, error) pairs)."""
    total = Aggregate()
    name, current = "", None  # the input being read: its aggregate so far, or its error

    def done_with_input() -> None:
        if isinstance(current, Aggregate):
            total.merge(current)
        elif current is not None:
            failed.append((name, current))

    for part, result in results:
        if part.start == 0:
            done_with_input()
            name, current = part.name, Aggregate()
        if isinstance(current, Aggregate):
            if isinstance(result, InputError):
                current = result
            else:
                merge_in_order(current, result, part)
    done_with_input()
    total.failed = [{"path": name, "reason": _reason(name, exc)} for name, exc in failed]
    return total


def _reason(name: str, exc: InputError) -> str:
    """The error message without the input name it starts with."""
    text = str(exc)
    return text[len(name) + 2:] if text.startswith(name + ": ") else text


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
