"""The slow-log source: inputs cut into byte ranges, each read as a stream of blocks.

A large plain file is cut into byte ranges that start at entries with a ``# Time:``
line (so each range knows its time and no entry is split); gzip files and stdin are one
range each. :class:`RangeReader` reads one range with a :class:`~dbtune.ingest.slowlog.
Scanner` and yields its :class:`~dbtune.ingest.slowlog.Block`\\ s; the digest
(:mod:`dbtune.digest`) aggregates them, in one process, a pool or Dask tasks.
"""

from __future__ import annotations

import gc
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from dbtune.ingest.slowlog import Block, Scanner, ScanStats, check_is_slowlog
from dbtune.ingest.slowlog_input import GZIP_MAGIC, iter_blocks, open_input
from dbtune.model import InputError

#: Inputs smaller than this are read as one range.
MIN_PARALLEL_BYTES = 16 << 20



@dataclass(frozen=True)
class ByteRange:
    """Bytes ``[start, start + limit)`` of one input (``limit`` None: to its end)."""

    name: str
    start: int = 0
    limit: int | None = None


def byte_ranges(name: str, parts: int, min_bytes: int | None = None) -> list[ByteRange]:
    """About ``parts`` ranges of a plain file, each starting at a ``# Time:`` entry.

    Stdin, gzip files and files under ``min_bytes`` (default :data:`MIN_PARALLEL_BYTES`)
    are one range.
    """
    whole = [ByteRange(name)]
    if name == "-" or parts < 2 or not os.path.isfile(name):
        return whole
    size = os.path.getsize(name)
    limit = MIN_PARALLEL_BYTES if min_bytes is None else min_bytes
    with open(name, "rb") as fh:
        if size < limit or fh.read(2) == GZIP_MAGIC:
            return whole
        cuts = [0]
        for k in range(1, parts):
            cut = _next_time_entry(fh, size * k // parts)
            if cut is not None and cut > cuts[-1]:
                cuts.append(cut)
    cuts.append(size)
    return [ByteRange(name, a, b - a) for a, b in zip(cuts, cuts[1:], strict=False)]


def _next_time_entry(fh: BinaryIO, offset: int, window: int = 1 << 20) -> int | None:
    """Offset of the first ``# Time:`` entry start at or after ``offset``, else None."""
    fh.seek(offset)
    carry = b""
    base = offset
    while True:
        chunk = fh.read(window)
        if not chunk:
            return None
        data = carry + chunk
        hits = [i for i in (data.find(b";\n# Time:"), data.find(b";\r\n# Time:")) if i >= 0]
        if hits:
            i = min(hits)
            return base - len(carry) + i + (2 if data[i + 1] == 10 else 3)
        carry = data[-16:]
        base += len(chunk)


class RangeReader:
    """The blocks of one byte range, in order; then its ``stats`` and ``lines``.

    The first range of an input checks that it is a slow log
    (:func:`~dbtune.ingest.slowlog.check_is_slowlog`); ``progress`` (a tqdm-like bar)
    is advanced by the raw bytes read.
    """

    def __init__(self, part: ByteRange, progress: Any = None) -> None:
        self.part = part
        self.progress = progress
        self.stats = ScanStats()
        #: lines read (to continue the line numbers of the next range of the input)
        self.lines = 0

    def __iter__(self) -> Iterator[Block]:
        part = self.part
        scanner = Scanner(part.name)
        first = part.start == 0
        with _opened(part.name) as stream, _gc_paused():
            if part.start:
                stream.seek(part.start)
            blocks = iter_blocks(stream, part.limit)
            while True:
                try:
                    text, raw = next(blocks)
                except StopIteration:
                    break
                except zlib.error as exc:  # a corrupt deflate stream inside a .gz
                    raise InputError(f"{part.name}: cannot read ({exc})") from None
                scanner.stats.bytes_read += raw
                block = scanner.scan_block(text)
                if first:
                    check_is_slowlog(scanner)
                yield block
                if self.progress is not None:
                    self.progress.update(raw)
        if first:
            check_is_slowlog(scanner, final=True)
        self.stats = scanner.stats
        self.lines = scanner.line - 1


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while reading: blocks make many short-lived, acyclic objects
    (freed by reference counting) and generation scans only cost time (~15% measured)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _opened(name: str) -> Iterator[BinaryIO]:
    """open_input, leaving stdin open."""
    try:
        stream = open_input(name)
    except zlib.error as exc:  # a corrupt deflate stream in the first bytes of a .gz
        raise InputError(f"{name}: cannot read ({exc})") from None
    try:
        yield stream
    finally:
        if name != "-":
            stream.close()
