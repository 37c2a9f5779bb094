"""Random and mutated slow logs: the reader never raises and accounts for every line."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dbtune.ingest.slowlog import NO_QUERY, Block, Scanner
from dbtune.ingest.slowlog_input import iter_blocks

FIXTURES = Path(__file__).parent.parent / "fixtures" / "slowlogs"
LOGS = [p.read_bytes() for p in sorted(FIXTURES.glob("*.log")) if p.stat().st_size < 20_000]
PIECES = [b"# Time: 240513 9:05:01", b"# User@Host: a[a] @ h [1.2.3.4]", b"#",
          b"# Query_time: 0.1  Lock_time: 0  Rows_sent: 1  Rows_examined: 2", b"use db;",
          b"SET timestamp=1;", b"SELECT 1;", b"# administrator command: Quit;", b"",
          b"Tcp port: 3306  Unix socket: /s", b"Time  Id Command  Argument", b";", b"\r",
          b"# explain: 1\tSIMPLE", b"\xff\xfe\x80", b"# Schema:   QC_hit: No",
          b"# Time: 071218 11:48:27 # User@Host: [SQL_SLAVE] @  []", b"### Channels ###",
          b"mariadbd, Version: 11.4.2-MariaDB-log (x). started with:", b"use shop;",
          b"# administrator command: Close stmt;"]


def _mutate(data: bytes, ops: list[tuple[int, int, int, bytes]]) -> bytes:
    lines = data.split(b"\n")
    for kind, at, other, junk in ops:
        if not lines:
            lines = [junk]
            continue
        i, j = at % len(lines), other % len(lines)
        if kind == 0:
            del lines[i]
        elif kind == 1:
            lines.insert(j, lines[i])
        elif kind == 2:
            lines[i] = junk
        elif kind == 3:
            lines[i] = lines[i][: other % (len(lines[i]) + 1)]
        elif kind == 4:
            lines.insert(i, junk)
        else:
            lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def _scan(data: bytes, block_size: int) -> Scanner:
    scanner = Scanner("fuzz")
    for text, _ in iter_blocks(io.BytesIO(data), block_size=block_size):
        scanner.scan(text)
    return scanner


def entries_of(block: Block) -> list[tuple]:
    """Every entry of a block as (sql, time, db, user, host, line, attributes)."""
    attrs: list[dict[str, str]] = [{} for _ in range(len(block))]
    for names, rows, table in block.layouts:
        for row, values in zip(rows.tolist(), table.tolist(), strict=True):
            attrs[row] = dict(zip(names, values, strict=True))
    return [(block.sqls[i], int(block.times[i]), block.dbs[i], *block.who[block.people[i]],
             block.line(i), attrs[i]) for i in range(len(block))]


def both_ways(data: bytes, block_size: int) -> tuple[tuple, tuple, int]:
    """(entries, stats) read column-wise and entry by entry, and the regular blocks."""
    columns, careful = Scanner("x"), Scanner("x")
    got: list[tuple] = []
    want: list[tuple] = []
    regular = 0
    for text, _ in iter_blocks(io.BytesIO(data), block_size=block_size):
        block = columns.scan_block(text)
        regular += block.lines is None
        got += entries_of(block)
        want += entries_of(Block.from_entries(careful.scan(text)))
    return ((got, columns.stats, columns.last_time), (want, careful.stats, careful.last_time),
            regular)


def _lines(data: bytes) -> int:
    data = data.replace(b"\r\n", b"\n")
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


OPS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10**6), st.integers(0, 10**6),
                         st.sampled_from(PIECES) | st.binary(max_size=40)), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(LOGS), OPS, st.integers(0, 10**6), st.sampled_from([64, 700, 1 << 20]))
def test_mutated_fixtures(log: bytes, ops: list, cut: int, block_size: int) -> None:
    data = _mutate(log, ops)
    data = data[: cut % (len(data) + 1) if cut % 3 == 0 else len(data)]
    scanner = _scan(data, block_size)
    stats = scanner.stats
    assert stats.lines == _lines(data)
    assert stats.events + stats.skipped >= 0 and len(stats.warnings) <= 10


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.binary(max_size=30), max_size=40),
       st.sampled_from([16, 1 << 20]))
def test_random_logs(parts: list[bytes], block_size: int) -> None:
    data = b"\n".join(parts)
    assert _scan(data, block_size).stats.lines == _lines(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(LOGS), OPS, st.sampled_from([64, 700, 1 << 20]))
def test_column_reader_matches_the_entry_reader(log: bytes, ops: list, block_size: int) -> None:
    got, want, _ = both_ways(_mutate(log, ops), block_size)
    assert got == want


def test_banners_anywhere_are_read_as_by_the_entry_reader() -> None:
    entry = (b"# User@Host: a[a] @ h [1.2.3.4]\n# Query_time: 0.1  Lock_time: 0  Rows_sent: 1"
             b"  Rows_examined: 2\nSELECT 1;\n")
    for banner in (b"Tcp port: 3306  Unix socket: /s", b"Time  Id Command  Argument",
                   b"/usr/sbin/mariadbd, Version: 10.11 (x). started with:"):
        for log in (entry + banner + b";\n" + entry,
                    entry.replace(b"SELECT 1;", banner + b";") + entry,
                    entry.replace(b"SELECT 1;", b"SELECT 1\n" + banner + b";") + entry):
            got, want, _ = both_ways(entry * 3 + log, 1 << 20)
            assert got == want


# Entry shapes read as pt-query-digest reads them: (header, body) -> (sql, Rows_examined)
HEADERS = [
    "# Time: 2024-05-13T10:15:42.123456Z\n# User@Host: a[a] @ h [1.2.3.4]  Id: 7\n",
    "# Time: 071218 11:48:27 # User@Host: [SQL_SLAVE] @  []\n",
    "# User@Host: a[a] @ h [1.2.3.4]\n",
]
BANNERS = ["/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:",
           "mariadbd, Version: 11.4.2-MariaDB-ubu2404-log (mariadb.org binary). started with:",
           "mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:"]
BANNER_TAIL = "\nTcp port: 3306  Unix socket: /s\nTime                 Id Command    Argument\n"


def _body(kind: str, i: int) -> tuple[str, str | None, str]:
    """(text after the header, the statement read, Rows_examined read) of one entry."""
    if kind == "statement":
        return f"SET timestamp={i};\nSELECT {i};\n", f"SELECT {i}", "5"
    if kind == "hash_first":
        return (f"SET timestamp={i};\n### part {i} ###\nSELECT {i};\n",
                f"### part {i} ###\nSELECT {i}", "5")
    if kind == "use_only":
        return f"use db{i};\n", NO_QUERY, "5"
    return (f"SET timestamp={i};\n# administrator command: Quit;\n",
            "administrator command: Quit", "0")


ENTRIES = st.lists(st.tuples(st.integers(0, len(HEADERS) - 1),
                             st.sampled_from(["statement", "hash_first", "use_only", "admin"]),
                             st.none() | st.sampled_from(BANNERS)), min_size=1, max_size=25)


@settings(max_examples=150, deadline=None)
@given(ENTRIES, st.sampled_from([64, 700, 1 << 20]))
def test_entry_shapes_read_as_pt_reads_them(entries: list, block_size: int) -> None:
    text, want = "", []
    for i, (header, kind, banner) in enumerate(entries):
        body, sql, examined = _body(kind, i)
        text += (HEADERS[header] + "# Query_time: 0.1  Lock_time: 0  Rows_sent: 1  "
                 f"Rows_examined: {'0' if examined == '0' else 5}\n" + body)
        if banner:
            text += banner + BANNER_TAIL
        # an entry of header lines only is "/* No query */" unless nothing follows it
        if kind != "use_only" or i + 1 < len(entries):
            want.append((sql, examined))
    data = text.encode()
    got, careful, _ = both_ways(data, block_size)
    assert got == careful
    assert [(e[0], e[-1]["Rows_examined"]) for e in got[0]] == want
    assert got[1].lines == _lines(data)
    assert got[1].skipped == (entries[-1][1] == "use_only")
