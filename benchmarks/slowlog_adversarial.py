"""The slow-log reader on hostile inputs: time per MB must not grow with the size.

    python benchmarks/slowlog_adversarial.py              # 1, 4 and 16 MB per shape
    python benchmarks/slowlog_adversarial.py --sizes 1 2  # quicker

Each shape (:data:`SHAPES`) is generated in memory at each size and read the way the
digest reads a file (``iter_blocks`` + ``Scanner.scan_block``), to the end, without the
"not a slow log" check, so the figure is the cost of the reader consuming all of it.
Printed per shape and size: seconds (the best of ``--repeat`` runs, as the machine is
shared), MB/s, events, and the ratio of the time per MB at
the largest size to the time per MB at the smallest (1.0 = linear; it must not grow).
The verdict column says what ``read_events`` makes of the same input (events, or the
"not a slow log" error and how many bytes it read before saying so).
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
from collections.abc import Callable

from dbtune.ingest.slowlog import Scanner, ScanStats, read_events
from dbtune.ingest.slowlog_input import iter_blocks
from dbtune.model import InputError

MB = 1 << 20
HEADER = ("# Time: 2024-05-13T10:15:42.123456Z\n# User@Host: app[app] @ web-1 [10.0.0.7]  Id: 42\n"
          "# Query_time: 0.100000  Lock_time: 0.000010 Rows_sent: 1  Rows_examined: 20\n")


def _repeat(unit: str, size: int) -> bytes:
    data = unit.encode()
    return (data * (size // len(data) + 1))[:size]


def no_semicolon(size: int) -> bytes:
    """Entries whose statements end without ``;`` (as some log shippers write them)."""
    return _repeat(HEADER + "SELECT * FROM products WHERE id = 17\n", size)


def one_statement(size: int) -> bytes:
    """One entry holding a single statement of ``size`` bytes (a huge multi-row INSERT)."""
    head = HEADER + "INSERT INTO t VALUES "
    rows = _repeat("(1,'abc',2.5),\n", size - len(head) - 10)
    return head.encode() + rows + b"(0,'',0);\n"


def long_line(size: int) -> bytes:
    """One line without a newline (a JSON blob, a minified dump)."""
    return _repeat('{"k": "value", "n": 12345, "list": [1, 2, 3]}, ', size)


def binary(size: int) -> bytes:
    """Random bytes (a core file, an image, a database page)."""
    return random.Random(1).randbytes(size)


def only_headers(size: int) -> bytes:
    """Entry headers with no statement at all."""
    return _repeat(HEADER, size)


def only_set_timestamp(size: int) -> bytes:
    """Only ``SET timestamp=N;`` lines."""
    return _repeat("SET timestamp=1715595342;\n", size)


def late_slowlog(size: int) -> bytes:
    """A slow log after a first megabyte (half the file at most) of server error log lines."""
    line = "2024-05-13 10:15:42 0 [Note] InnoDB: Buffer pool(s) load completed\n"
    prefix = _repeat(line, min(MB, size // 2) + len(line))
    prefix = prefix[: prefix.rfind(b"\n") + 1]
    entry = HEADER + "SET timestamp=1715595342;\nSELECT * FROM products WHERE id = 17;\n"
    return prefix + _repeat(entry, size - len(prefix))


SHAPES: dict[str, Callable[[int], bytes]] = {
    f.__name__: f for f in (no_semicolon, one_statement, long_line, binary, only_headers,
                            only_set_timestamp, late_slowlog)}


def scan(data: bytes) -> ScanStats:
    """Read ``data`` to the end as the digest reads a file; the scanner's counts."""
    scanner = Scanner("input")
    for text, raw in iter_blocks(io.BytesIO(data)):
        scanner.stats.bytes_read += raw
        scanner.scan_block(text)
    return scanner.stats


def verdict(data: bytes) -> str:
    """What read_events says of ``data``: its events, or its error."""
    with tempfile.NamedTemporaryFile(suffix=".log") as fh:
        fh.write(data)
        fh.flush()
        try:
            return f"{sum(1 for _ in read_events(fh.name))} events"
        except InputError as exc:
            return str(exc).split(": ", 1)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16], help="MB")
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=list(SHAPES))
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best counts")
    args = parser.parse_args()
    print(f"{'shape':<20}{'MB':>4}{'seconds':>9}{'MB/s':>8}{'events':>9}{'lines':>10}")
    for name in args.shapes:
        per_mb = []
        for size in args.sizes:
            data = SHAPES[name](size * MB)
            seconds = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                stats = scan(data)
                seconds = min(seconds, time.perf_counter() - start)
            per_mb.append(seconds / size)
            print(f"{name:<20}{size:>4}{seconds:>9.3f}{size / seconds:>8.1f}{stats.events:>9}"
                  f"{stats.lines:>10}")
        print(f"{name:<20} time per MB, {args.sizes[-1]} MB / {args.sizes[0]} MB: "
              f"{per_mb[-1] / per_mb[0]:.2f}; read_events: "
              f"{verdict(SHAPES[name](args.sizes[-1] * MB))}")


if __name__ == "__main__":
    main()
