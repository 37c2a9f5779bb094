"""Slow-log inputs: names and globs, stdin, gzip detected by its magic bytes, the
"not a slow log" sniff of an input's first megabyte, and blocks cut at entry boundaries.

:mod:`dbtune.ingest.slowlog` scans the blocks; :mod:`dbtune.ingest.slowlog_source`
splits one plain file into byte ranges on the same boundaries.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dbtune.ingest.slowlog_grammar import ADMIN, HEADER_ENDS, SLOWLOG_LINE
from dbtune.model import InputError

#: Bytes read per block; entries are never split across blocks.
BLOCK_SIZE = 1 << 20
_BOUNDARY = b";\n#"
_ADMIN_BYTES = ADMIN.encode()


def expand_paths(paths: str | os.PathLike | list) -> list[str]:
    """Input names in order: globs expanded (sorted), ``-`` for stdin; missing -> InputError."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[str] = []
    for item in paths:
        name = os.fspath(item)
        if name == "-" or os.path.exists(name):
            out.append(name)
            continue
        matches = sorted(glob.glob(name)) if glob.has_magic(name) else []
        if not matches:
            raise InputError(f"{name}: no such file")
        out.extend(matches)
    if not out:
        raise InputError("no slow log given")
    return out


#: Bytes of an input read before it is called "not a slow log" if none looks like one.
SNIFF_BYTES = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"


def open_input(name: str) -> BinaryIO:
    """A binary stream of one input: stdin for ``-``, gzip-decoded if it starts gzipped.

    The first :data:`SNIFF_BYTES` are read at once: an input holding no slow-log line
    there (``# Time:``, ``# User@Host:``, ``# Query_time:``, an admin command or a server
    banner) is an InputError ("not a slow log"), and so is a ``.gz`` name that is empty
    or not gzip data, and gzip data that cannot be decoded.
    """
    if name == "-":
        raw: BinaryIO = sys.stdin.buffer
    elif Path(name).is_dir():
        raise InputError(f"{name}: is a directory, not a slow log")
    else:
        try:
            raw = open(name, "rb")  # noqa: SIM115 - returned to the caller
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    label = "standard input" if name == "-" else name
    try:
        magic = _read_chunk(raw, 2, label)
        if magic == GZIP_MAGIC:
            stream: BinaryIO = gzip.GzipFile(  # type: ignore[assignment]
                fileobj=_Prefixed(magic, raw, label), mode="rb")
            head = _read_chunk(stream, SNIFF_BYTES, label)
        elif name.endswith(".gz"):
            raise InputError(f"{name}: cannot read (not gzip data: "
                             f"{'empty file' if not magic else 'no gzip header'})")
        else:
            stream = raw
            head = magic + _read_chunk(raw, SNIFF_BYTES - len(magic), label)
        if head and not SLOWLOG_LINE.search(head):
            raise InputError(
                f"{label}: not a slow log (no '# Time:', '# User@Host:' or '# Query_time:' "
                f"line, nor a server banner, in the first {len(head)} bytes)")
    except InputError:
        if raw is not sys.stdin.buffer:
            raw.close()
        raise
    if raw is not sys.stdin.buffer and magic != GZIP_MAGIC:
        raw.seek(0)  # a plain file: read it from the start, seekable for byte ranges
        return raw
    return _Prefixed(head, stream, label, raw)  # type: ignore[return-value]


class _Prefixed(io.RawIOBase):
    """``head`` (bytes already read) followed by the rest of ``stream``; closing it
    closes ``stream`` and the file under it (never stdin)."""

    def __init__(self, head: bytes, stream: BinaryIO, name: str,
                 raw: BinaryIO | None = None) -> None:
        self.head, self.stream, self.name, self.raw = head, stream, name, raw

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if size < 0 or size >= len(self.head):
                out, self.head = self.head, b""
                if size < 0:
                    return out + self.stream.read()
                return out + (self.stream.read(size - len(out)) if size > len(out) else b"")
            out, self.head = self.head[:size], self.head[size:]
            return out
        return self.stream.read(size)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        for stream in (self.stream, self.raw):
            if stream is not None and stream is not sys.stdin.buffer:
                stream.close()
        super().close()


def iter_blocks(
    stream: BinaryIO, limit: int | None = None, block_size: int = BLOCK_SIZE
) -> Iterator[tuple[str, int]]:
    """(text, raw bytes read) blocks of ``stream``, each cut after a ``;\\n`` before ``#``.

    The stream must be positioned on an entry boundary; ``limit`` bounds the bytes read
    (the caller ends it on a boundary too). CRLF line ends become LF.
    """
    buffer = bytearray()
    pending = 0
    left = limit
    # boundaries before ``seen`` were all refused: only the new bytes need a search
    seen = 0
    while True:
        size = block_size if left is None else min(block_size, left)
        chunk = _read_chunk(stream, size)
        if not chunk:
            break
        if chunk.endswith(b"\r") and (left is None or left > len(chunk)):
            chunk += stream.read(1)
        if left is not None:
            left -= len(chunk)
        pending += len(chunk)
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n")
        buffer += chunk
        cut = buffer.rfind(_BOUNDARY, seen)
        # never cut before an admin-command line, nor where one may be cut short, nor
        # after a header line (an entry of header lines only reads on, see _headless)
        while cut >= 0 and (buffer.startswith(_ADMIN_BYTES, cut + 2)
                            or len(buffer) - cut - 2 < len(_ADMIN_BYTES)
                            or buffer.startswith(HEADER_ENDS, buffer.rfind(b"\n", 0, cut) + 1)):
            cut = buffer.rfind(_BOUNDARY, seen, cut)
        if cut < 0:
            seen = max(0, len(buffer) - len(_ADMIN_BYTES) - len(_BOUNDARY))
            continue
        yield buffer[: cut + 2].decode("utf-8", "surrogateescape"), pending
        del buffer[: cut + 2]
        seen = 0
        pending = 0
    if buffer or pending:
        yield buffer.decode("utf-8", "surrogateescape"), pending


def _read_chunk(stream: BinaryIO, size: int, name: str | None = None) -> bytes:
    """Up to ``size`` bytes; a broken input (corrupt gzip, I/O error) is an InputError."""
    if size <= 0:
        return b""
    try:
        return stream.read(size)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        if name is None:
            name = getattr(stream, "name", None) or getattr(
                getattr(stream, "fileobj", None), "name", "input")
        raise InputError(f"{name}: cannot read ({exc or type(exc).__name__})") from None


class closing_input:
    """Close a stream unless it is stdin."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def __enter__(self) -> BinaryIO:
        return self.stream

    def __exit__(self, *exc: object) -> None:
        if self.stream is not sys.stdin.buffer and not isinstance(self.stream, io.TextIOBase):
            self.stream.close()
