"""The slow-log reader on real and hand-written logs of every flavour (fixtures/slowlogs)."""

from __future__ import annotations

import gzip
import io
import sys
from datetime import datetime
from pathlib import Path

import pytest
from test_slowlog_fuzz import both_ways

from dbtune.ingest.slowlog import (
    Scanner,
    ScanStats,
    iter_blocks,
    open_input,
    read_events,
    time_us,
    us_to_datetime,
)
from dbtune.model import InputError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "slowlogs"

# file -> (events, skipped entries)
EXPECTED = {
    "example-marketplace.log": (250, 0),
    "garbled.log": (2, 3),
    "latin1-bytes.log": (2, 0),
    "mariadb-10.1.21.log": (1, 0),
    "mariadb-10.11-captured.log": (21, 0),
    "mariadb-10.2.12.log": (1, 0),
    "mariadb-10.3.13.log": (1, 0),
    "mariadb-10.6-query-plan-explain.log": (3, 0),
    "mariadb-10.6-use-only-entry.log": (2, 0),
    "mariadb-11.4-docker-banner.log": (2, 0),
    "mariadb-explain.log": (1, 0),
    "mysql-5.1-time-user-host-one-line.log": (3, 0),
    "mysql-5.7-admin-commands.log": (3, 0),
    "mysql-5.7-quit-at-start.log": (3, 0),
    "mysql-5.7.22-crlf.log": (4, 0),
    "mysql-5.7.22.log": (4, 0),
    "mysql-8.0-banner-after-last-statement.log": (3, 0),
    "mysql-8.0-log-slow-extra.log": (5, 0),
    "mysql-8.4-restart.log": (3, 0),
    "mysql-darwin-brew-5.7.10.log": (1, 0),
    "mysql-debian-5.7.17.log": (3, 0),
    "mysql-ubuntu-5.5.53.log": (14, 0),
    "mysql-ubuntu-8.0.15.log": (2, 0),
    "percona-8.0-full.log": (3, 0),
    "percona-8.0-statement-starts-with-hash.log": (2, 0),
    "percona-ubuntu-5.7.19.log": (8, 0),
    "percona-ubuntu-8.0.15.log": (2, 0),
}


def _read(name: str) -> tuple[list, ScanStats]:
    stats = ScanStats()
    return list(read_events(FIXTURES / name, stats=stats)), stats


def _line_count(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def test_every_fixture_is_covered() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.log")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_counts_and_every_line_accounted(name: str) -> None:
    events, stats = _read(name)
    assert (len(events), stats.skipped) == EXPECTED[name]
    assert stats.events == len(events)
    assert stats.lines == _line_count(FIXTURES / name)
    assert stats.bytes_read == (FIXTURES / name).stat().st_size
    for event in events:
        assert event.sql and not event.sql.endswith(";\n")
        assert event.query_time >= 0


@pytest.mark.parametrize("block_size", [64, 333, 1000, 4096])
@pytest.mark.parametrize("name", ["example-marketplace.log", "mysql-8.4-restart.log",
                                  "mysql-8.0-log-slow-extra.log", "garbled.log"])
def test_block_size_does_not_change_entries(name: str, block_size: int) -> None:
    def scan(size: int) -> list:
        scanner = Scanner(name)
        with open_input(str(FIXTURES / name)) as stream:
            return [e for text, _ in iter_blocks(stream, block_size=size)
                    for e in scanner.scan(text)]

    assert scan(block_size) == scan(1 << 20)


@pytest.mark.parametrize("block_size", [64, 1000, 1 << 20])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_column_reader_matches_the_entry_reader(name: str, block_size: int) -> None:
    data = (FIXTURES / name).read_bytes()
    got, want, _ = both_ways(data, block_size)
    assert got == want


@pytest.mark.parametrize("name", ["example-marketplace.log", "mysql-8.0-log-slow-extra.log",
                                  "percona-8.0-full.log", "mariadb-10.11-captured.log",
                                  "mysql-ubuntu-5.5.53.log"])
def test_regular_blocks_are_read_column_wise(name: str) -> None:
    assert both_ways((FIXTURES / name).read_bytes(), 1000)[2] > 0


def test_mysql80_log_slow_extra_fields() -> None:
    events, _ = _read("mysql-8.0-log-slow-extra.log")
    first = events[0]
    assert set(first.extra) == {
        "errno", "killed", "bytes_received", "bytes_sent", "read_first", "read_last",
        "read_key", "read_next", "read_prev", "read_rnd", "read_rnd_next",
        "sort_merge_passes", "sort_range_count", "sort_rows", "sort_scan_count",
        "created_tmp_disk_tables", "created_tmp_tables"}
    assert first.flags["start"] == "2024-05-13T10:15:40.888889Z"
    assert first.flags["end"] == "2024-05-13T10:15:42.123456Z"
    assert first.flags["thread_id"] == "42"
    assert (first.query_time, first.lock_time, first.rows_sent, first.rows_examined) == (
        1.234567, 0.000123, 10, 123456)
    assert first.time == datetime(2024, 5, 13, 10, 15, 42, 123456)
    assert (first.user, first.host, first.db) == ("app", "web-1", "shop")
    assert first.extra["read_rnd_next"] == 123457
    assert first.line == 9  # the statement's line
    killed = events[3]
    assert killed.extra["errno"] == 1317 and killed.extra["killed"] == 1
    assert killed.sql.count("\n") == 5 and killed.db == "analytics"
    assert events[2].db is None  # no `use` line and MySQL logs no Schema attribute
    quit_ = events[4]
    assert quit_.sql == "administrator command: Quit"
    assert quit_.query_time == 0.00002


def test_restart_banner_mid_file() -> None:
    events, stats = _read("mysql-8.4-restart.log")
    assert [e.sql.split()[0] for e in events] == ["UPDATE", "UPDATE", "INSERT"]
    assert events[0].sql.endswith("'E-1001'")
    assert stats.banner_lines == 6 and stats.skipped == 0


def test_time_line_carrying_user_host() -> None:
    events, stats = _read("mysql-5.1-time-user-host-one-line.log")
    slave = events[0]
    assert (slave.user, slave.host, slave.db) == ("[SQL_SLAVE]", None, "shop")
    assert slave.time == datetime(2007, 12, 18, 11, 48, 27)
    assert events[1].time == datetime(2007, 12, 18, 11, 48, 57)
    assert (events[2].user, events[2].time) == ("app", events[1].time)
    assert stats.banner_lines == 3 and not stats.warnings


def test_banner_after_the_last_statement_of_a_piece() -> None:
    events, stats = _read("mysql-8.0-banner-after-last-statement.log")
    assert [e.sql for e in events] == [f"SELECT * FROM products WHERE id = {i}"
                                       for i in (1, 2, 3)]
    assert stats.banner_lines == 6


@pytest.mark.parametrize("banner", [
    "mariadbd, Version: 11.4.2-MariaDB-ubu2404-log (mariadb.org binary distribution). "
    "started with:",
    "mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:",
    "/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). started with:",
    "C:\\Program Files\\MySQL\\bin\\mysqld, Version: 8.0.36 (MySQL Community Server - GPL)."
    " started with:",
])
def test_banners_with_and_without_a_path(banner: str, tmp_path: Path) -> None:
    text = (FIXTURES / "mariadb-11.4-docker-banner.log").read_text()
    log = tmp_path / "slow.log"
    log.write_text(text.replace(text.split("\n", 1)[0], banner))
    stats = ScanStats()
    events = list(read_events(log, stats=stats))
    assert [e.sql for e in events] == [f"SELECT * FROM products WHERE id = {i} LIMIT 10"
                                       for i in (1, 2)]
    assert stats.banner_lines == 6 and not stats.warnings


def test_admin_commands_report_no_rows_and_a_headerless_one_is_counted() -> None:
    events, _ = _read("mysql-5.7-admin-commands.log")
    assert [(e.sql, e.rows_sent, e.rows_examined) for e in events] == [
        ("SELECT * FROM products WHERE id = 1", 1, 20),
        ("administrator command: Close stmt", 0, 0),
        ("administrator command: Quit", 0, 0)]
    events, stats = _read("mysql-5.7-quit-at-start.log")
    assert [(e.sql, e.query_time) for e in events] == [
        ("administrator command: Quit", 0.0),
        ("SELECT * FROM products WHERE id = 1", 0.1),
        ("administrator command: Quit", 0.00002)]
    assert stats.warnings == [] and stats.skipped == 0


def test_entry_of_header_lines_only_is_no_query() -> None:
    events, _ = _read("mariadb-10.6-use-only-entry.log")
    assert [(e.sql, e.db, e.line) for e in events] == [
        ("/* No query */", "shop", 7), ("SELECT * FROM products WHERE id = 1", "shop", 13)]
    assert events[0].query_time == 0.00012 and events[0].extra["bytes_sent"] == 11


def test_statement_whose_first_line_starts_with_hash() -> None:
    events, _ = _read("percona-8.0-statement-starts-with-hash.log")
    assert events[0].sql == "### Channels ###\nSELECT id, name FROM channels WHERE active = 1"
    assert (events[0].db, events[0].rows_sent, events[0].line) == ("shop", 3, 7)
    assert events[1].sql == "SELECT * FROM products WHERE id = 1"


def test_percona_full_verbosity() -> None:
    events, _ = _read("percona-8.0-full.log")
    first, _, lock = events
    assert first.db == "shop"
    assert first.extra["innodb_io_r_ops"] == 120
    assert first.extra["innodb_io_r_bytes"] == 1966080
    assert first.extra["innodb_io_r_wait"] == 0.012345
    assert first.extra["innodb_pages_distinct"] == 95
    assert first.extra["full_scan"] == 1.0 and first.extra["qc_hit"] == 0.0
    assert first.flags["innodb_trx_id"] == "1A2B3C"
    assert first.flags["log_slow_rate_type"] == "query"
    assert lock.extra["innodb_rec_lock_wait"] == 1.899 and lock.extra["last_errno"] == 1213


def test_mariadb_query_plan_and_explain() -> None:
    events, _ = _read("mariadb-10.6-query-plan-explain.log")
    first, second, third = events
    assert first.time == datetime(2024, 5, 13, 9, 5, 1)  # "240513 9:05:01"
    assert second.time == first.time  # no Time line: inherits the previous one
    assert third.time == datetime(2024, 5, 13, 10, 0, 0)
    assert first.db == second.db == "shop"
    assert first.flags["explain"].startswith("id\tselect_type")
    assert "Using filesort" in first.flags["explain"]
    assert "explain" not in second.flags
    assert second.extra["filesort_on_disk"] == 1.0 and second.extra["merge_passes"] == 3
    assert first.extra["priority_queue"] == 1.0 and third.extra["qc_hit"] == 1.0
    assert first.extra["tmp_table_sizes"] == 253952


def test_mariadb_empty_schema_and_captured_log() -> None:
    event = _read("mariadb-10.1.21.log")[0][0]
    assert event.db is None and event.flags["schema"] == "" and event.extra["qc_hit"] == 0
    events, _ = _read("mariadb-10.11-captured.log")
    assert events[0].sql == "CREATE DATABASE shop" and events[0].db is None
    assert events[2].db == "shop"  # from `use `shop`;`
    assert events[-1].db == "shop" and events[-1].sql == "SELECT SLEEP(0.1)"  # from Schema
    assert all(e.user == "root" and e.host == "localhost" for e in events)


def test_mysql55_shared_time_and_missing_first_time() -> None:
    events, _ = _read("mysql-ubuntu-5.5.53.log")
    assert len({e.time for e in events}) < len(events)
    assert all(e.time is not None for e in events)
    events, _ = _read("mysql-debian-5.7.17.log")
    # no Time line before the first event: SET timestamp=1493370459 gives its time
    assert events[0].time == us_to_datetime(1493370459 * 1_000_000)
    assert events[1].time == datetime(2017, 4, 28, 9, 16, 30, 738365)


def test_iso_offsets_become_utc() -> None:
    events, _ = _read("mysql-5.7.22.log")
    assert events[0].time == datetime(2018, 8, 7, 8, 27, 47, 169604)  # 16:27:47+08:00
    assert events[0].host == "218.76.8.37" and events[0].flags["thread_id"] == "7234"


def test_crlf_reads_like_lf() -> None:
    lf, _ = _read("mysql-5.7.22.log")
    crlf, _ = _read("mysql-5.7.22-crlf.log")
    assert [(e.sql, e.query_time, e.time) for e in crlf] == [
        (e.sql, e.query_time, e.time) for e in lf]


def test_bytes_that_are_not_utf8() -> None:
    events, _ = _read("latin1-bytes.log")
    assert events[0].sql.endswith("'caf\udce9'")
    assert events[1].sql.encode("utf-8", "surrogateescape").endswith(b"M\xc3\xbcller \xff\xfe'")


def test_garbled_entries_are_skipped_with_file_line() -> None:
    events, stats = _read("garbled.log")
    assert [e.sql for e in events] == ["SELECT * FROM products WHERE id = 1",
                                       "SELECT * FROM products WHERE id = 3"]
    name = str(FIXTURES / "garbled.log")
    assert stats.warnings == [
        (name, 1, "entry without a statement"),
        (name, 11, "entry without a valid Query_time"),
        (name, 16, "entry without a statement"),
    ]
    assert stats.skipped_lines == 13


def test_gzip_globs_several_paths_and_stdin(tmp_path: Path, monkeypatch) -> None:
    plain = FIXTURES / "mysql-8.0-log-slow-extra.log"
    packed = tmp_path / "slow.log.1.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    expected = [(e.sql, e.query_time) for e in read_events(plain)]
    assert [(e.sql, e.query_time) for e in read_events(packed)] == expected
    both = list(read_events([plain, str(tmp_path / "*.gz")]))
    assert len(both) == 2 * len(expected)
    assert {e.source for e in both} == {str(plain), str(packed)}
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(plain.read_bytes())))
    assert [(e.sql, e.query_time) for e in read_events("-")] == expected


def test_unreadable_or_not_a_slow_log(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(read_events(tmp_path / "missing.log"))
    with pytest.raises(InputError, match="is a directory"):
        list(read_events(tmp_path))
    text = tmp_path / "notes.txt"
    text.write_text("just some text;\nanother line\n")
    with pytest.raises(InputError, match="not a slow log"):
        list(read_events(text))
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 50)
    with pytest.raises(InputError, match="not a slow log"):
        list(read_events(binary))
    broken = tmp_path / "broken.log.gz"
    broken.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    with pytest.raises(InputError, match="broken.log.gz: cannot read"):
        list(read_events(broken))
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    assert list(read_events(empty)) == []


def test_gzip_on_stdin_by_its_magic_bytes(monkeypatch) -> None:
    plain = FIXTURES / "mysql-8.0-log-slow-extra.log"
    expected = [(e.sql, e.query_time) for e in read_events(plain)]
    packed = io.BytesIO(gzip.compress(plain.read_bytes()))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(packed))
    assert [(e.sql, e.query_time) for e in read_events("-")] == expected


@pytest.mark.parametrize(("data", "reason"), [
    (b"", r"cannot read \(not gzip data: empty file\)"),
    (b"just text", r"cannot read \(not gzip data: no gzip header\)"),
    (gzip.compress((FIXTURES / "mysql-5.7.22.log").read_bytes())[:200],
     r"cannot read \(Compressed file ended before the end-of-stream marker"),
    (b"\x1f\x8b" + b"not really gzip" * 10, r"cannot read \(Unknown compression method\)"),
])
def test_empty_corrupt_and_truncated_gzip_are_one_clear_error(
        data: bytes, reason: str, tmp_path: Path) -> None:
    log = tmp_path / "slow.log.2.gz"
    log.write_bytes(data)
    with pytest.raises(InputError, match=rf"^{log}: {reason}"):
        list(read_events(log))


def test_not_a_slow_log_is_decided_from_the_first_part(tmp_path: Path) -> None:
    log = tmp_path / "dump.sql"
    entry = (FIXTURES / "mysql-5.7.22.log").read_bytes()
    log.write_bytes(b"INSERT INTO t VALUES (1);\n" * 200_000 + entry)
    with pytest.raises(InputError, match=rf"^{log}: not a slow log \(no '# Time:', "
                                         r"'# User@Host:' or '# Query_time:' line, nor a "
                                         r"server banner, in the first 1048576 bytes\)"):
        next(read_events(log))


@pytest.mark.parametrize(("text", "expected"), [
    ("2019-03-24T16:22:43.836524Z", datetime(2019, 3, 24, 16, 22, 43, 836524)),
    ("2018-08-07T16:27:47.169604+08:00", datetime(2018, 8, 7, 8, 27, 47, 169604)),
    ("131112 17:03:32", datetime(2013, 11, 12, 17, 3, 32)),
    ("240513  9:05:01", datetime(2024, 5, 13, 9, 5, 1)),
    ("garbage", None),
    ("991399 25:00:00", None),
])
def test_time_formats(text: str, expected: datetime | None) -> None:
    value = time_us(text)
    assert (None if value is None else us_to_datetime(value)) == expected


MARIADB_DEFAULT_VERBOSITY = b"""\
/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-log (Debian 12). started with:
Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock
Time\t\t    Id Command\tArgument
# Time: 261203 13:44:22
# User@Host: root[root] @  [127.0.0.1]
# Thread_id: 5  Schema:   QC_hit: No
# Query_time: 0.000060  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
# Rows_affected: 0  Bytes_sent: 11
SET timestamp=1796305461;
SET GLOBAL long_query_time = 0;
# User@Host: app[app] @  [127.0.0.1]
# Thread_id: 7  Schema: shop  QC_hit: No
# Query_time: 0.000044  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
# Rows_affected: 0  Bytes_sent: 111
use `shop`;
SET timestamp=1796305462;
SET NAMES utf8mb4;
# User@Host: app[app] @  [127.0.0.1]
# Thread_id: 7  Schema: shop  QC_hit: No
# Query_time: 0.003936  Lock_time: 0.000401  Rows_sent: 1  Rows_examined: 15000
# Rows_affected: 0  Bytes_sent: 288
SET timestamp=1796305462;
SELECT id FROM sessions WHERE token = 'ab';
"""


@pytest.mark.parametrize("block_size", [64, 1 << 20])
def test_mariadb_default_verbosity_is_read_column_wise(block_size: int) -> None:
    """A leading banner, an empty Schema and SET statements keep a block column-wise."""
    got, want, regular = both_ways(MARIADB_DEFAULT_VERBOSITY, block_size)
    assert got == want
    assert regular == len(list(iter_blocks(io.BytesIO(MARIADB_DEFAULT_VERBOSITY),
                                           block_size=block_size)))
    entries = got[0]
    assert [e[0] for e in entries] == ["SET GLOBAL long_query_time = 0", "SET NAMES utf8mb4",
                                       "SELECT id FROM sessions WHERE token = 'ab'"]
    assert [e[2] for e in entries] == [None, "shop", "shop"]
    assert entries[0][6]["Schema"] == "" and [e[5] for e in entries] == [10, 17, 23]
    assert got[1].banner_lines == 3


@pytest.mark.parametrize("header", [b"SET insert_id=5;", b"SET timestamp=1796305463;",
                                    b"use `other`;"])
def test_header_set_and_use_lines_are_not_statements(header: bytes) -> None:
    """The entry reader takes these lines for headers; the column reader leaves such an
    entry to it (so both read the next line as the statement)."""
    data = MARIADB_DEFAULT_VERBOSITY.replace(b"SET NAMES utf8mb4;", header + b"\nSELECT 1;")
    got, want, _ = both_ways(data, 1 << 20)
    assert got == want
    assert got[0][1][0] == "SELECT 1"
