"""Digests of slow logs: exact sums, quantiles within 1%, exact merges, jobs, filters."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbtune.digest import Digest, digest_slowlog
from dbtune.fingerprint import class_id, fingerprint, prekey, prekeys
from dbtune.ingest import slowlog_source
from dbtune.ingest.slowlog import read_events
from dbtune.model import STATS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "slowlogs"
EXAMPLE = FIXTURES / "example-marketplace.log"


def _comparable(d: Digest) -> tuple:
    """Everything a digest says, minus where its samples came from."""
    summary = {k: v for k, v in d.summary.items() if k not in ("files", "warnings")}
    classes = []
    for c in d.classes:
        data = c.to_dict()
        data.pop("sample_source")
        classes.append(data)
    return summary, classes


@pytest.fixture(scope="module")
def example() -> Digest:
    return digest_slowlog(EXAMPLE)


def test_example_counts_sums_and_exact_metrics(example: Digest) -> None:
    events = list(read_events(EXAMPLE))
    by_class: dict[str, list] = defaultdict(list)
    for e in events:
        by_class[fingerprint(e.sql)].append(e)
    summary = example.summary
    assert (summary["events"], summary["classes"], summary["skipped"]) == (250, 15, 0)
    assert summary["lines"]["total"] == EXAMPLE.read_bytes().count(b"\n")
    exact_total = sum(Decimal(repr(e.query_time)) for e in events)
    assert Decimal(repr(summary["total_query_time"])) == exact_total
    assert {c.fingerprint: c.count for c in example.classes} == {
        fp: len(v) for fp, v in by_class.items()}
    for c in example.classes:
        group = by_class[c.fingerprint]
        assert c.id == class_id(c.fingerprint)
        qt = c.metrics["query_time"]
        assert Decimal(repr(qt["sum"])) == sum(Decimal(repr(e.query_time)) for e in group)
        assert qt["min"] == min(e.query_time for e in group)
        assert qt["max"] == max(e.query_time for e in group)
        assert c.metrics["rows_examined"]["sum"] == sum(e.rows_examined for e in group)
        if "full_scan" in group[0].extra:
            assert c.metrics["full_scan"]["sum"] == sum(e.extra["full_scan"] for e in group)
        else:
            assert "full_scan" not in c.metrics
        assert set(c.metrics["query_time"]) == set(STATS)
        assert c.first_seen == min(e.time for e in group)
        assert c.last_seen == max(e.time for e in group)
        assert sum(c.users.values()) == c.count == sum(c.hosts.values())
        worst = max(group, key=lambda e: e.query_time)
        assert c.sample == worst.sql and c.sample_db == worst.db
        assert c.sample_source == f"{EXAMPLE}:{worst.line}"
    assert math.isclose(sum(c.share for c in example.classes), 1.0)
    shares = [c.metrics["query_time"]["sum"] for c in example.classes]
    assert shares == sorted(shares, reverse=True)


def test_quantiles_within_one_percent(example: Digest) -> None:
    events = list(read_events(EXAMPLE))
    values: dict[str, list[float]] = defaultdict(list)
    for e in events:
        values[fingerprint(e.sql)].append(e.query_time)
    for c in example.classes:
        ordered = sorted(values[c.fingerprint])
        for percent, label in ((50, "p50"), (95, "p95"), (99, "p99")):
            exact = ordered[math.ceil(percent * len(ordered) / 100) - 1]  # nearest rank
            assert abs(c.metrics["query_time"][label] - exact) <= 0.01 * exact + 1e-9


def test_quantiles_of_a_few_events_are_nearest_ranks(example: Digest) -> None:
    """Three Quit commands (0.068, 0.071, 0.176 ms): p95 and p99 are the slowest, as
    pt-query-digest reports for fewer than 10 events, p50 the middle one."""
    quit_ = next(c for c in example.classes if c.fingerprint == "administrator command: Quit")
    qt = quit_.metrics["query_time"]
    assert quit_.count == 3 and qt["max"] == 0.000176
    assert qt["p95"] == qt["p99"] == pytest.approx(0.000176, rel=0.01)
    assert qt["p50"] == pytest.approx(0.000071, rel=0.01)


def test_rows_examined_per_sent_tables_and_db(example: Digest) -> None:
    for c in example.classes:
        sent, examined = (c.metrics[m]["sum"] for m in ("rows_sent", "rows_examined"))
        assert c.rows_examined_per_sent == (examined / sent if sent else None)
        assert c.db == (min(c.dbs, key=lambda k: (-c.dbs[k], k)) if c.dbs else None)
    quit_ = next(c for c in example.classes if c.fingerprint == "administrator command: Quit")
    assert quit_.tables == []
    join = next(c for c in example.classes if "join order_items" in c.fingerprint)
    assert join.tables == ["orders", "order_items", "products"]


def test_merge_of_parts_equals_whole(tmp_path: Path, example: Digest) -> None:
    data = EXAMPLE.read_bytes()
    cut = data.index(b";\n# Time:", len(data) // 2) + 2
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_bytes(data[:cut])
    second.write_bytes(data[cut:])
    merged = digest_slowlog(first).merge(digest_slowlog(second))
    assert _comparable(merged) == _comparable(example)
    assert _comparable(digest_slowlog([first, second])) == _comparable(example)
    assert merged.summary["files"] == [str(first), str(second)]


def test_merging_files_of_several_flavours_is_exact() -> None:
    names = ["percona-8.0-full.log", "mysql-8.0-log-slow-extra.log",
             "mariadb-10.11-captured.log", "mysql-ubuntu-5.5.53.log"]
    together = digest_slowlog([FIXTURES / n for n in names])
    merged = digest_slowlog(FIXTURES / names[0])
    for name in names[1:]:
        merged = merged.merge(digest_slowlog(FIXTURES / name))
    assert _comparable(merged) == _comparable(together)
    assert together.summary["events"] == 3 + 5 + 21 + 14


@pytest.mark.slow
def test_one_or_two_jobs_give_identical_results(monkeypatch, tmp_path: Path) -> None:
    log = tmp_path / "many.log"
    log.write_bytes(b"".join((FIXTURES / n).read_bytes() for n in (
        "mysql-8.0-log-slow-extra.log", "percona-8.0-full.log", "mysql-5.7.22.log")) * 40
        + (FIXTURES / "garbled.log").read_bytes())  # warnings from the last range
    one = digest_slowlog(log, jobs=1)
    monkeypatch.setattr(slowlog_source, "MIN_PARALLEL_BYTES", 0)
    ranges = slowlog_source.byte_ranges(str(log), 8)
    assert len(ranges) == 8 and sum(r.limit for r in ranges) == log.stat().st_size
    two = digest_slowlog(log, jobs=2)
    assert [c.to_dict() for c in two.classes] == [c.to_dict() for c in one.classes]
    assert two.summary == one.summary
    assert one.summary["events"] == 40 * (5 + 3 + 4) + 2
    lines = log.read_bytes().count(b"\n")
    assert one.summary["warnings"][-1] == f"{log}:{lines - 24 + 16}: entry without a statement"


CLASSES = {
    "example-marketplace.log": 15, "garbled.log": 1, "latin1-bytes.log": 1,
    "mariadb-10.1.21.log": 1, "mariadb-10.11-captured.log": 16, "mariadb-10.2.12.log": 1,
    "mariadb-10.3.13.log": 1, "mariadb-10.6-query-plan-explain.log": 2,
    "mariadb-explain.log": 1, "mysql-5.7.22-crlf.log": 4, "mysql-5.7.22.log": 4,
    "mysql-8.0-log-slow-extra.log": 4, "mysql-8.4-restart.log": 2,
    "mysql-darwin-brew-5.7.10.log": 1, "mysql-debian-5.7.17.log": 2,
    "mysql-ubuntu-5.5.53.log": 14, "mysql-ubuntu-8.0.15.log": 1, "percona-8.0-full.log": 2,
    "percona-ubuntu-5.7.19.log": 8, "percona-ubuntu-8.0.15.log": 1,
}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_fixture_classes(name: str) -> None:
    d = digest_slowlog(FIXTURES / name)
    assert d.summary["classes"] == CLASSES[name] == len(d.classes)
    assert sum(c.count for c in d.classes) == d.summary["events"]


def test_percona_metrics_per_class() -> None:
    d = digest_slowlog(FIXTURES / "percona-8.0-full.log")
    users = next(c for c in d.classes if "from users" in c.fingerprint)
    assert users.count == 2 and users.db == "shop"
    assert users.metrics["innodb_io_r_ops"]["sum"] == 200
    assert users.metrics["innodb_io_r_wait"]["sum"] == 0.02
    assert users.metrics["full_scan"]["mean"] == 1.0
    assert users.metrics["query_time"]["sum"] == 1.0
    assert users.rows_examined_per_sent == 50000
    update = next(c for c in d.classes if c.fingerprint.startswith("update"))
    assert update.metrics["innodb_rec_lock_wait"]["max"] == 1.899
    assert update.rows_examined_per_sent is None  # no row sent


def test_filters() -> None:
    path = FIXTURES / "mysql-8.0-log-slow-extra.log"
    assert digest_slowlog(path, database="analytics").summary["events"] == 1
    assert digest_slowlog(path, user="app").summary["events"] == 4
    assert digest_slowlog(path, host="bi-1").summary["events"] == 1
    assert "events_read" not in digest_slowlog(path).summary
    assert digest_slowlog(path, host="bi-1").summary["events_read"] == 5
    window = digest_slowlog(path, since=datetime(2024, 5, 13, 10, 15, 43),
                            until=datetime(2024, 5, 13, 10, 15, 45))
    assert window.summary["events"] == 3  # until is inclusive
    assert window.summary["first_seen"] == datetime(2024, 5, 13, 10, 15, 43, 100)


def test_repeated_filters_keep_every_value() -> None:
    path = FIXTURES / "mysql-8.0-log-slow-extra.log"
    both = digest_slowlog(path, database=["analytics", "shop"])
    assert both.summary["events"] == sum(
        digest_slowlog(path, database=db).summary["events"] for db in ("analytics", "shop"))
    assert both.summary["events"] > digest_slowlog(path, database="shop").summary["events"]
    assert digest_slowlog(path, user=("app", "report")).summary["events"] == 5


def test_errno_is_counted_per_code() -> None:
    d = digest_slowlog(FIXTURES / "mysql-8.0-log-slow-extra.log")
    assert all("errno" not in c.metrics for c in d.classes)
    killed = [c for c in d.classes if c.errors]
    assert [c.errors for c in killed] == [{"1317": 1}]
    assert killed[0].count == 1 and killed[0].metrics["killed"]["sum"] == 1
    merged = d.merge(d)
    assert [c.errors for c in merged.classes if c.errors] == [{"1317": 2}]


def test_garbled_log_summary() -> None:
    d = digest_slowlog(FIXTURES / "garbled.log")
    s = d.summary
    assert (s["events"], s["skipped"], s["warnings_total"]) == (2, 3, 3)
    assert s["warnings"][1] == f"{FIXTURES / 'garbled.log'}:11: entry without a valid Query_time"
    assert s["lines"] == {"total": 24, "events": 11, "banners_and_blank": 0, "skipped": 13}


def test_ranked_and_frame(example: Digest) -> None:
    top = example.ranked(top=3)
    assert top == example.classes[:3]
    by_count = example.ranked("count")
    assert [c.count for c in by_count] == sorted((c.count for c in by_count), reverse=True)
    by_p95 = example.ranked("rows_examined:p95", min_count=30)
    assert all(c.count >= 30 for c in by_p95)
    values = [c.metrics["rows_examined"]["p95"] for c in by_p95]
    assert values == sorted(values, reverse=True)
    with pytest.raises(ValueError, match="unknown statistic"):
        example.ranked("query_time:p42")
    frame = example.to_frame()
    assert len(frame) == 15 and list(frame["id"]) == [c.id for c in example.classes]
    for column in ("fingerprint", "count", "share", "db", "dbs", "users", "hosts", "first_seen",
                   "last_seen", "sample", "sample_db", "sample_source", "tables",
                   "rows_examined_per_sent", "query_time_p99", "lock_time_sum",
                   "rows_sent_mean", "rows_examined_max", "priority_queue_mean"):
        assert column in frame.columns


def test_summary_time_span(example: Digest) -> None:
    s = example.summary
    assert s["first_seen"] < s["last_seen"]
    assert s["span_seconds"] == (s["last_seen"] - s["first_seen"]).total_seconds()
    assert s["qps"] == pytest.approx(250 / s["span_seconds"])
    assert s["bytes_read"] == EXAMPLE.stat().st_size


def _fixture_statements() -> list[str]:
    return [e.sql for p in sorted(FIXTURES.glob("*.log")) if p.name != "garbled.log"
            for e in read_events(p)]


def test_prekey_keeps_the_fingerprint_of_every_fixture_statement() -> None:
    for sql in _fixture_statements():
        assert fingerprint(prekey(sql)) == fingerprint(sql), sql


SQLISH = st.lists(st.sampled_from([
    "SELECT", " ", "*", "FROM", "t1", "WHERE", "a", "=", "IN", "(", ")", ",", "'x'", "'it''s'",
    '"q"', "12", "0x1F", "-3.5e2", "ORDER BY", "ASC", "LIMIT", "/*", "*/", "--", "#", "\n",
    "\\'", "VALUES", "NULL", "true", "call", "use", "b2", "9a", "'a(b'", "'1'", "''", "+", "."]),
    max_size=30).map("".join)


@settings(max_examples=200, deadline=None)
@given(SQLISH)
def test_prekey_keeps_the_fingerprint(sql: str) -> None:
    assert fingerprint(prekey(sql)) == fingerprint(sql)


BLOCK_SQL = SQLISH | st.sampled_from([
    "administrator command: Quit", "administrator command: Binlog 12", " CALL p1(2)", "\x00",
    "SELECT 'a", "x = 'b'", "a IN ('(', 1)"])


@settings(max_examples=200, deadline=None)
@given(st.lists(BLOCK_SQL, min_size=1, max_size=8))
def test_block_prekeys_are_the_statement_prekeys(sqls: list[str]) -> None:
    assert prekeys(sqls) == [prekey(s) for s in sqls]


def test_block_prekeys_of_the_fixture_statements() -> None:
    sqls = _fixture_statements()
    assert prekeys(sqls) == [prekey(s) for s in sqls]
    plain = [s for s in sqls if '"' not in s and "\\" not in s and "/*" not in s]
    assert prekeys(plain) == [prekey(s) for s in plain]


JSON_AND_AGENTS = [
    "INSERT INTO audit_log (payload) VALUES ('{\"qty\": 12, \"sku\": \"P0003137\"}')",
    "INSERT INTO user_sessions (ua, id) VALUES ('Mozilla/5.0 (X11; Linux x86_64)', 42)",
    "SELECT id FROM products WHERE sku = 'P0002623'",
    "call refresh(7)",
    "SELECT 'a(b', 'c', 15 FROM t WHERE x IN ('d', 'e)')",
]


def test_block_prekeys_of_json_payloads_and_strings_with_parentheses() -> None:
    """The block paths of the real capture: double quotes in one statement, parentheses
    inside strings (kept as written), CALL kept as written."""
    assert prekeys(JSON_AND_AGENTS) == [prekey(s) for s in JSON_AND_AGENTS] == [
        "INSERT INTO audit_log (payload) VALUES ('{\"qty\": 0, \"sku\": \"P0\"}')",
        "INSERT INTO user_sessions (ua, id) VALUES ('Mozilla/0.0 (X0; Linux x0_0)', 0)",
        "SELECT id FROM products WHERE sku = ''",
        "call refresh(7)",
        "SELECT 'a(b', '', 0 FROM t WHERE x IN ('', 'e)')",
    ]
    plain = JSON_AND_AGENTS[1:]
    assert prekeys(plain) == [prekey(s) for s in plain]
    for sql in JSON_AND_AGENTS:
        assert fingerprint(prekey(sql)) == fingerprint(sql)


def _mixed_block_log(tmp_path: Path) -> Path:
    """A log whose blocks mix JSON payloads (double quotes, backslashes), strings with
    parentheses and plain statements: the block prekeys' mixed path, many blocks."""
    lines = []
    for i in range(6000):
        lines.append(f"# Time: 2026-12-04T10:{i // 600 % 60:02d}:{i % 60:02d}.000000Z\n"
                     f"# Query_time: 0.{i % 997:06d}  Lock_time: 0.000001  Rows_sent: {i % 7}"
                     f"  Rows_examined: {i % 13}")
        sql = JSON_AND_AGENTS[i % len(JSON_AND_AGENTS)].replace("12", str(i))
        if i % 11 == 0:
            sql = f"UPDATE t SET payload = '{{\\\"n\\\": {i}}}' WHERE id = {i}"
        lines.append(sql + ";")
    path = tmp_path / "mixed.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_digest_groups_events_as_the_reference_reader_and_fingerprint(tmp_path: Path) -> None:
    """The fast paths (column-wise blocks, block prekeys, cached fingerprints) give every
    class the events, query time and worst sample that read_events and fingerprint()
    of each event give, on every fixture and a log of mixed blocks."""
    logs = [*sorted(FIXTURES.glob("*.log")), _mixed_block_log(tmp_path)]
    for log in logs:
        want: dict[str, list] = defaultdict(lambda: [0, 0, -1.0, ""])
        for event in read_events(log):
            found = want[fingerprint(event.sql)]
            found[0] += 1
            found[1] += round(event.query_time * 1e6)
            if event.query_time > found[2]:
                found[2], found[3] = event.query_time, event.sql
        got = {c.fingerprint: [c.count, round(c.metrics["query_time"]["sum"] * 1e6),
                               c.metrics["query_time"]["max"], c.sample]
               for c in digest_slowlog(log, jobs=1).classes}
        assert got == {fp: v for fp, v in want.items()}, log.name


@pytest.mark.parametrize("log", ["mysql-8.0-log-slow-extra.log", "example-marketplace.log"])
def test_host_filter_matches_the_host_name_or_the_ip(log) -> None:
    """``--host 10.0.0.13`` finds ``@ web-3 [10.0.0.13]`` (issue 10), on either reader path."""
    path = FIXTURES / log
    pairs = {}
    for line in path.read_text().splitlines():
        if line.startswith("# User@Host:") and "[" in line.split("@ ", 1)[1]:
            name, ip = line.split("@ ", 1)[1].split("[")[:2]
            pairs[name.strip()] = ip.split("]")[0]
    assert pairs
    for name, ip in pairs.items():
        by_name = digest_slowlog(path, host=name).summary["events"]
        assert by_name > 0 and digest_slowlog(path, host=ip).summary["events"] == by_name
    (name, ip), (other, _) = list(pairs.items())[:2]
    assert digest_slowlog(path, host=[ip, other]).summary["events"] == (
        digest_slowlog(path, host=[name, other]).summary["events"])
