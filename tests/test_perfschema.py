"""`analyze perfschema`: snapshots, windows, MySQL 8 columns, the slow-log join, index usage.

Server tests run on the session's disposable MariaDB (dbtune_server); counts are read per
schema (``class.dbs[database]``) because other tests share the server. MySQL 8 cannot be
installed here: its columns (QUANTILE_*, QUERY_SAMPLE_TEXT, histograms) are tested on a
snapshot written from the reference manual (fixtures/perfschema/).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dbtune.cli.analyze import analyze
from dbtune.cli.analyze_perfschema import perfschema
from dbtune.fingerprint import class_id, fingerprint
from dbtune.ingest.perfschema import (
    DIGEST_SQL,
    HISTORY_SQL,
    READ_ONLY_SQL,
    PerfSchemaUnavailable,
    Snapshot,
    digest_sql,
    is_truncated,
    join_key,
    read_snapshot,
)
from dbtune.ingest.perfschema_digest import PerfSchemaDigest, watch
from dbtune.ingest.perfschema_usage import (
    index_usage,
    problem_statements,
    unused_indexes,
)
from dbtune.model import InputError
from dbtune.report import render
from dbtune.report.slowlog import DigestReport
from dbtune.sandbox import Server, start_server

MYSQL8 = Path(__file__).resolve().parent.parent / "fixtures" / "perfschema" / \
    "mysql-8.0.36-snapshot.json"
PICO = 1e12

if "perfschema" not in analyze.commands:  # until the lead wires it into `dbtune analyze`
    analyze.add_command(perfschema)


def run_cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(analyze, ["perfschema", *args], env=env)


def by_fingerprint(digest: PerfSchemaDigest, sql: str):
    return next(c for c in digest.classes if c.fingerprint == fingerprint(sql))


# ---------------------------------------------------------------------------------------------
# MySQL 8 columns, on the snapshot written from the manual
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def mysql8() -> Snapshot:
    return Snapshot.load(MYSQL8)


def test_mysql8_rows_become_classes_merged_across_schemas(mysql8: Snapshot):
    digest = PerfSchemaDigest(mysql8)
    assert digest.summary["events"] == 37 and digest.summary["classes"] == 4
    listing = by_fingerprint(
        digest, "SELECT id, title FROM listings WHERE seller_id = 42 ORDER BY updated_at DESC "
                "LIMIT 20")
    assert listing.count == 25 and listing.dbs == {"shop": 20, "shop_eu": 5}
    assert listing.db == "shop" and listing.id == class_id(listing.fingerprint)
    assert listing.sample_source == "QUERY_SAMPLE_TEXT" and "seller_id = 42" in listing.sample
    rows = [r for r in mysql8.digest_rows if r["DIGEST"] == listing.digests[0]]
    qt = listing.metrics["query_time"]
    assert qt["sum"] == pytest.approx(sum(r["SUM_TIMER_WAIT"] for r in rows) / PICO)
    assert qt["min"] == min(r["MIN_TIMER_WAIT"] for r in rows) / PICO
    assert qt["max"] == max(r["MAX_TIMER_WAIT"] for r in rows) / PICO
    assert qt["mean"] == pytest.approx(qt["sum"] / 25)
    # sums only: mean is there, min/max/percentiles are n/a
    assert listing.metrics["no_index_used"] == {
        "sum": 25.0, "min": None, "max": None, "mean": 1.0, "p50": None, "p95": None,
        "p99": None}
    assert listing.metrics["sort_merge_passes"]["sum"] == 3
    assert listing.metrics["cpu_time"]["sum"] == pytest.approx(0.02)
    assert listing.metrics["lock_time"]["sum"] == pytest.approx(25 * 2e-6)
    assert listing.rows_examined_per_sent == pytest.approx(150000 / 500)
    assert listing.tables == ["listings"]


def test_mysql8_histogram_quantiles_follow_the_manuals_rule(mysql8: Snapshot):
    """One row: p95/p99 from buckets equal QUANTILE_95/99 (capped at the max); merged rows
    combine buckets (10+5+8+1+1 executions: the 24th is in bucket 130)."""
    digest = PerfSchemaDigest(mysql8)
    assert digest.summary["quantiles"] == "events_statements_histogram_by_digest"
    for row in mysql8.digest_rows:
        if row["DIGEST"].startswith("3d9e"):
            continue
        qt = next(c for c in digest.classes if row["DIGEST"] in c.digests).metrics["query_time"]
        cap = row["MAX_TIMER_WAIT"] / PICO
        assert qt["p95"] == pytest.approx(min(row["QUANTILE_95"] / PICO, cap))
        assert qt["p99"] == pytest.approx(min(row["QUANTILE_99"] / PICO, cap))
    merged = next(c for c in digest.classes if len(c.dbs) == 2).metrics["query_time"]
    assert merged["p50"] == pytest.approx(10 ** (7 + 105 / 50) / PICO, rel=1e-6)
    assert merged["p95"] == pytest.approx(10 ** (7 + 130 / 50) / PICO, rel=1e-6)
    assert merged["p99"] == merged["max"] < 10 ** (7 + 150 / 50) / PICO  # capped at the max


def test_mysql8_quantile_columns_without_histograms(mysql8: Snapshot):
    mysql8.histograms, mysql8.bucket_high = {}, {}
    digest = PerfSchemaDigest(mysql8)
    insert = next(c for c in digest.classes if c.fingerprint.startswith("insert"))
    row = next(r for r in mysql8.digest_rows if r["DIGEST"] in insert.digests)
    qt = insert.metrics["query_time"]
    assert qt["p50"] is None
    assert qt["p95"] == pytest.approx(min(row["QUANTILE_95"], row["MAX_TIMER_WAIT"]) / PICO)
    merged = next(c for c in digest.classes if len(c.dbs) == 2).metrics["query_time"]
    assert merged["p95"] is None  # two rows' quantiles cannot be combined
    assert digest.summary["quantiles"].startswith("QUANTILE_95")


def test_mysql8_multi_row_insert_and_truncated_digest(mysql8: Snapshot):
    digest = PerfSchemaDigest(mysql8)
    insert = next(c for c in digest.classes if c.fingerprint.startswith("insert"))
    assert insert.fingerprint == fingerprint(
        "INSERT INTO orders (customer_id, total) VALUES (5, 1.00), (6, 2.00), (7, 3.00)")
    audit = next(c for c in digest.classes if "audit_log" in c.fingerprint)
    assert audit.truncated and is_truncated(mysql8.digest_rows[-1]["DIGEST_TEXT"])
    # the sample is shown, but a truncated digest cannot vouch for it: fingerprint of the text
    assert audit.sample.startswith("SELECT id FROM audit_log") and audit.fingerprint.endswith("...")


def test_window_of_two_mysql8_snapshots_uses_bucket_deltas(mysql8: Snapshot):
    after = copy.deepcopy(mysql8)
    after.taken_at += timedelta(minutes=5)
    after.uptime += 300
    row = after.digest_rows[2]  # the insert: 10 more executions of 100 ms, bucket 200
    key = f"{row['SCHEMA_NAME']}\0{row['DIGEST']}"
    row["COUNT_STAR"] += 10
    row["SUM_TIMER_WAIT"] += 10 * 10**11
    row["SUM_ROWS_AFFECTED"] += 20
    row["MAX_TIMER_WAIT"] = 10**11
    after.histograms[key].append([200, 10])
    after.bucket_high[200] = 10**11
    window = PerfSchemaDigest(after, mysql8)
    assert window.window and [c.count for c in window.classes] == [10]
    qt = window.classes[0].metrics["query_time"]
    assert qt["sum"] == pytest.approx(1.0)
    assert qt["min"] is None and qt["max"] is None  # since-restart extremes, not the window's
    assert qt["p50"] == qt["p95"] == qt["p99"] == pytest.approx(0.1)
    assert window.classes[0].metrics["rows_affected"]["sum"] == 20
    summary = window.summary
    assert summary["span_seconds"] == 300 and summary["events"] == 10
    assert summary["warnings"] == []


def test_window_notes_resets_new_and_vanished_digests(mysql8: Snapshot):
    after = copy.deepcopy(mysql8)
    after.taken_at += timedelta(minutes=1)
    after.uptime += 60
    gone = after.digest_rows.pop()  # TRUNCATE then not run again
    reset = after.digest_rows[3]  # TRUNCATE then run twice
    reset["COUNT_STAR"], reset["FIRST_SEEN"] = 2, after.taken_at
    truncated = PerfSchemaDigest(after, mysql8)
    assert "truncated between the snapshots (1 digests gone)" in truncated.notes[0]
    # every row after a TRUNCATE is new: counted whole
    assert sorted(c.count for c in truncated.classes) == [2, 4, 25]
    after.digest_rows.append(gone)  # no TRUNCATE: one digest reset on its own, one new
    new = dict(after.digest_rows[2], DIGEST="ffff0000ffff0000ffff0000ffff0000",
               DIGEST_TEXT="DELETE FROM `orders` WHERE `id` = ? ", QUERY_SAMPLE_TEXT=None,
               COUNT_STAR=3)
    after.digest_rows.append(new)
    window = PerfSchemaDigest(after, mysql8)
    counts = {c.fingerprint.split()[0]: c.count for c in window.classes}
    assert counts == {"select": 2, "delete": 3}
    assert "the counters of 1 digests were reset" in window.notes[0]
    restarted = copy.deepcopy(mysql8)
    restarted.taken_at += timedelta(hours=1)
    restarted.uptime = 5
    assert "restarted" in PerfSchemaDigest(restarted, mysql8).notes[0]
    with pytest.raises(InputError, match="compare snapshots of one server"):
        PerfSchemaDigest(dataclasses.replace(mysql8, server="other:3306"), mysql8)


def test_full_digest_table_overflow_row_is_left_out_and_said(mysql8: Snapshot):
    overflow = dict(mysql8.digest_rows[0], SCHEMA_NAME=None, DIGEST=None, DIGEST_TEXT=None,
                    QUERY_SAMPLE_TEXT=None, COUNT_STAR=7)
    mysql8.digest_rows.append(overflow)
    mysql8.digest_lost = 7
    digest = PerfSchemaDigest(mysql8)
    assert digest.summary["events"] == 37 and len(digest.classes) == 4
    assert digest.notes == [
        "7 statements found the digest table full and are not in any class "
        "(Performance_schema_digest_lost): raise performance_schema_digests_size"]
    later = copy.deepcopy(mysql8)
    later.taken_at += timedelta(seconds=10)
    assert PerfSchemaDigest(later, mysql8).notes == []  # none lost inside the window


def test_snapshot_file_round_trip_and_bad_files(mysql8: Snapshot, tmp_path: Path):
    path = tmp_path / "snap.json"
    mysql8.save(path)
    assert Snapshot.load(path) == mysql8
    (tmp_path / "other.json").write_text('{"hello": 1}')
    (tmp_path / "broken.json").write_text('{"format": "dbtune-perfschema')
    for name, message in (("other.json", "no format marker"), ("broken.json", "not a dbtune"),
                          ("missing.json", "no such snapshot file")):
        with pytest.raises(InputError, match=message) as caught:
            Snapshot.load(tmp_path / name)
        assert "\n" not in str(caught.value) and name in str(caught.value)
    unwritable = tmp_path / "no-such-dir" / "snap.json"
    with pytest.raises(InputError, match="cannot write the snapshot") as caught:
        mysql8.save(unwritable)
    assert str(caught.value).startswith(f"{unwritable}: ")


def test_reports_render_in_every_format(mysql8: Snapshot):
    digest = PerfSchemaDigest(mysql8)
    document = json.loads(render(DigestReport(digest, order_by="count"), "json"))
    assert [c["count"] for c in document["classes"]] == [25, 6, 4, 2]
    assert document["summary"]["source"] == "performance_schema"
    assert "query_time_p95" in render(DigestReport(digest, order_by="count"), "csv")
    frame = digest.to_frame()
    assert list(frame["count"]) == [6, 25, 2, 4]  # ranked by total query time
    scans = problem_statements(digest, "full-scans")
    assert list(scans["count"]) == [25, 6] and list(scans["no_index_used"]) == [25, 6]
    disk = problem_statements(digest, "tmp-disk")
    assert list(disk["created_tmp_disk_tables"]) == [2] and list(disk["created_tmp_tables"]) == [6]
    assert list(problem_statements(digest, "sort-merge")["sort_merge_passes"]) == [3]


def test_table_report_shows_na_quantiles(mysql8: Snapshot):
    mysql8.histograms, mysql8.bucket_high = {}, {}
    digest = PerfSchemaDigest(mysql8)
    text = render(DigestReport(digest), "table")
    assert "p95 ms" in text
    query_time_line = next(line for line in text.splitlines() if line.startswith("query_time"))
    assert "n/a" in query_time_line  # p50/p95/p99 the source does not have


@pytest.mark.parametrize(("digest_text", "sql"), [
    ("SELECT * FROM `t` . `a` WHERE ID IN (...) AND `b` = ? ",
     "select * from t.a where id in (1, 2, 3) and b = 'x'"),
    ("SELECT COUNT ( * ) FROM `a` WHERE `c` > ? ORDER BY `b` LIMIT ?, ... ",
     "SELECT count(*) FROM a WHERE c > 3 ORDER BY b LIMIT 10, 5"),
    ("UPDATE `a` SET `c` = `c` - ? WHERE ID = - ? ", "update a set c = c - 1 where id = -3"),
    ("INSERT INTO `a` ( ID , `b` ) VALUES (...) /* , ... */ ON DUPLICATE KEY UPDATE `b` = ? ",
     "INSERT INTO a (id, b) VALUES (1, 'x'), (2, 'y') ON DUPLICATE KEY UPDATE b = 'z'"),
    ("INSERT INTO `a` VALUES (...) ", "insert into a values (1, 'x', 3)"),
    ("SELECT `a` . `id` FROM `a` JOIN `b` ON `b` . `id` = `a` . `id` WHERE `a` . `x` NOT IN "
     "(?) LIMIT ? OFFSET ? ", "select a.id from a join b on b.id = a.id where a.x not in (1) "
                              "limit 3 offset 2"),
    # MariaDB writes interval units and aliases named like them by their canonical token
    ("SELECT DATE ( `created_at` ) AS SQL_TSI_DAY , COUNT ( * ) FROM `o` WHERE `created_at` > "
     "NOW ( ) - INTERVAL ? SQL_TSI_DAY GROUP BY SQL_TSI_DAY ",
     "select date(created_at) as day, count(*) from o where created_at > now() - interval 7 day "
     "group by day"),
    # MariaDB's digest spells <> as != (seen on the marketplace's top_products_report)
    ("SELECT `i` . `product_id` FROM `o` WHERE `o` . `status` != ? LIMIT ? ",
     "SELECT i.product_id FROM o WHERE o.status <> 'cancelled' LIMIT 10"),
])
def test_digest_text_joins_the_statements_fingerprint(digest_text: str, sql: str):
    assert join_key(fingerprint(digest_sql(digest_text))) == join_key(fingerprint(sql))


def test_join_key_keeps_different_statements_apart():
    assert join_key(fingerprint("select a from t where b = 1")) != \
        join_key(fingerprint("select a from t where c = 1"))
    assert not is_truncated("SELECT ?, ... ") and not is_truncated("SELECT * FROM t LIMIT ?, ... ")


# ---------------------------------------------------------------------------------------------
# The real server
# ---------------------------------------------------------------------------------------------
def execute(server: Server, database: str | None, *statements: str) -> None:
    with server.connect(database) as connection, connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            cursor.fetchall()  # every statement runs to its end


@pytest.fixture
def items(dbtune_server: Server, dbtune_database: str) -> str:
    execute(dbtune_server, dbtune_database,
            "CREATE TABLE items (id INT PRIMARY KEY, a INT, b TEXT, KEY ka (a), KEY kb (b(8)))",
            "INSERT INTO items SELECT seq, seq % 50, REPEAT(CHAR(65 + seq % 26), 300) "
            "FROM seq_1_to_2000")
    return dbtune_database


@pytest.fixture
def history_on(dbtune_server: Server):
    """history_long fills only with events_statements_current on (the sandbox turns on
    history_long alone)."""
    toggle = ("UPDATE performance_schema.setup_consumers SET ENABLED = %s "
              "WHERE NAME = 'events_statements_current'")
    with dbtune_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(toggle, ("YES",))
    yield
    with dbtune_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(toggle, ("NO",))


def test_classes_appear_with_their_counts(dbtune_server: Server, items: str):
    execute(dbtune_server, items, *[f"SELECT id FROM items WHERE a = {i}" for i in range(7)],
            *[f"SELECT COUNT(*) FROM items WHERE b LIKE '%{i}'" for i in range(3)])
    with dbtune_server.connect() as connection:
        digest = PerfSchemaDigest(read_snapshot(connection))
    point = by_fingerprint(digest, "SELECT id FROM items WHERE a = 1")
    scan = by_fingerprint(digest, "SELECT COUNT(*) FROM items WHERE b LIKE 'x'")
    assert point.dbs[items] == 7 and scan.dbs[items] == 3
    assert scan.metrics["rows_examined"]["sum"] >= 3 * 2000
    assert scan.metrics["no_index_used"]["sum"] >= 3
    assert point.metrics["query_time"]["min"] <= point.metrics["query_time"]["max"]
    assert digest.summary["flavour"] == "mariadb" and not digest.window
    own = {fingerprint(sql) for sql in (DIGEST_SQL, HISTORY_SQL, READ_ONLY_SQL)}
    assert not own & {c.fingerprint for c in digest.classes}


def test_window_counts_only_what_ran_inside(dbtune_server: Server, items: str, history_on):
    execute(dbtune_server, items, *["SELECT b FROM items WHERE id = 1"] * 4)
    with dbtune_server.connect() as connection:
        digest = watch(connection, 0.25, sleep=lambda _: execute(
            dbtune_server, items, *[f"SELECT b FROM items WHERE id = {i}" for i in range(5)]))
    # the window: 5 selects, and the SET NAMES pymysql sends on connecting
    assert sorted((c.fingerprint, c.count) for c in digest.classes) == [
        ("select b from items where id = ?", 5), ("set names utf?m?", 1)]
    point = by_fingerprint(digest, "SELECT b FROM items WHERE id = 1")
    qt = point.metrics["query_time"]
    # MariaDB has no quantile columns; history_long holds all 5 executions of the window
    assert point.sample_source == "events_statements_history_long"
    assert qt["min"] is None and 0 < qt["p50"] <= qt["p95"] <= qt["p99"]
    assert qt["p99"] >= qt["sum"] / 5  # the worst of 5 is at least the mean
    assert "history_long" in digest.summary["quantiles"]


def test_snapshot_then_baseline_through_the_cli(dbtune_server: Server, items: str,
                                                tmp_path: Path):
    env = {"DBTUNE_DSN": dbtune_server.dsn(reveal_password=True), "HOME": str(tmp_path)}
    saved = tmp_path / "before.json"
    first = run_cli("--snapshot", str(saved), "--format", "json", env=env)
    assert first.exit_code == 0, first.output
    assert f"snapshot written to {saved}" in first.stderr
    execute(dbtune_server, items, *[f"SELECT a FROM items WHERE id > {i}" for i in range(6)])
    second = run_cli("--baseline", str(saved), "--format", "json", "--top", "0", env=env)
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    assert report["summary"]["window"] is True
    # SET NAMES: pymysql's, on connecting (dbtune's own connection among them)
    assert [(c["count"], c["dbs"]) for c in report["classes"]
            if not c["fingerprint"].startswith("set names")] == [(6, {items: 6})]
    for result in (first, second):
        assert dbtune_server.password not in result.output


def test_interval_through_the_cli(dbtune_server: Server, items: str, tmp_path: Path):
    env = {"DBTUNE_DSN": dbtune_server.dsn(reveal_password=True), "HOME": str(tmp_path)}
    result = run_cli("--interval", "0.3s", "--format", "json", env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["window"] is True and 0.3 <= summary["span_seconds"] < 5
    assert "sampling for 0.3s" in result.stderr


def test_counters_reset_inside_the_window(dbtune_server: Server, items: str):
    with dbtune_server.connect() as connection:
        execute(dbtune_server, items, "SELECT a FROM items WHERE id = 1")
        before = read_snapshot(connection)  # the snapshot's session is read-only from now on
        execute(dbtune_server, items,
                "TRUNCATE TABLE performance_schema.events_statements_summary_by_digest")
        execute(dbtune_server, items, "SELECT a FROM items WHERE id = 2",
                "SELECT a FROM items WHERE id = 3")
        window = PerfSchemaDigest(read_snapshot(connection), before)
    assert by_fingerprint(window, "SELECT a FROM items WHERE id = 9").dbs[items] == 2
    assert "the digest table was truncated between the snapshots" in window.notes[0]


def test_problem_statements_on_the_server(dbtune_server: Server, items: str):
    with dbtune_server.connect() as connection:
        before = read_snapshot(connection)
    with dbtune_server.connect(items) as connection, connection.cursor() as cursor:
        cursor.execute("SET SESSION sort_buffer_size = 32768")
        for sql in ("SELECT id FROM items ORDER BY b, a LIMIT 1990, 1",
                    "SELECT b, COUNT(*) FROM items GROUP BY b LIMIT 1",
                    "SELECT id FROM items WHERE a = 5 LIMIT 1"):
            cursor.execute(sql)
            cursor.fetchall()
        window = PerfSchemaDigest(read_snapshot(connection), before)
    first = {name: problem_statements(window, name)["fingerprint"].iloc[0]
             for name in ("tmp-disk", "sort-merge")}
    assert first == {
        "tmp-disk": fingerprint("SELECT b, COUNT(*) FROM items GROUP BY b LIMIT 1"),
        "sort-merge": fingerprint("SELECT id FROM items ORDER BY b, a LIMIT 1990, 1"),
    }
    scans = set(problem_statements(window, "full-scans")["fingerprint"])
    assert fingerprint("SELECT id FROM items WHERE a = 5 LIMIT 1") not in scans
    assert fingerprint("SELECT id FROM items ORDER BY b, a LIMIT 1990, 1") in scans


def test_index_usage_feeds_hygiene(dbtune_server: Server, items: str):
    from dbtune.advise.hygiene import find_hygiene
    from dbtune.catalog import Catalog

    execute(dbtune_server, items, "SELECT id FROM items WHERE a = 3")
    with dbtune_server.connect() as connection:
        usage = index_usage(connection)
        unused = unused_indexes(connection)
        catalog = Catalog.from_server(connection, items)
    assert usage[(f"{items}.items", "ka")] > 0 and usage[(f"{items}.items", "kb")] == 0
    mine = unused[unused["schema"] == items]
    assert list(mine["index"]) == ["kb"]  # PRIMARY is never listed
    assert "since the server started" in unused.attrs["caveat"]
    assert (mine["uptime_seconds"] > 0).all()
    findings = [(f.index, f.kind) for f in find_hygiene(catalog, usage=usage)]
    assert findings == [("kb", "unused")]


def test_index_reports_through_the_cli(dbtune_server: Server, items: str, tmp_path: Path):
    env = {"DBTUNE_DSN": dbtune_server.dsn(reveal_password=True), "HOME": str(tmp_path)}
    result = run_cli("--show", "unused-indexes", "--format", "csv", env=env)
    assert result.exit_code == 0, result.output
    assert f"{items},items,kb," in result.stdout and f"{items},items,ka," in result.stdout
    assert "index usage covers only" in result.stderr
    assert dbtune_server.password not in result.output


def test_slow_log_and_perfschema_agree_per_class(dbtune_server: Server, dbtune_database: str,
                                                  tmp_path: Path):
    """The marketplace workload, slow log on (long_query_time=0): every class has the same
    count in the slow log's part written during the window and in the perfschema window.
    Allowed differences: `use ?` (the slow log writes the client's change of database as
    an entry; perfschema sees no statement) and classes whose digest text the server
    truncated (max_digest_length; none in this workload, checked)."""
    from dbtune.digest import digest_slowlog
    from dbtune.workload.marketplace import load_marketplace
    from dbtune.workload.runner import run_workload
    from dbtune.workload.spec import marketplace_spec

    load_marketplace(dbtune_server, dbtune_database, scale=0.01)
    with dbtune_server.connect() as connection:
        before = read_snapshot(connection)
        offset = Path(dbtune_server.slow_log_path).stat().st_size
        run_workload(dbtune_server, marketplace_spec(scale=0.01), count=400, concurrency=2,
                     database=dbtune_database, seed=3)
        window = PerfSchemaDigest(read_snapshot(connection), before)
    assert not any(c.truncated for c in window.classes)
    with open(dbtune_server.slow_log_path, "rb") as log:
        log.seek(offset)
        (tmp_path / "window.log").write_bytes(log.read())
    slow = digest_slowlog(tmp_path / "window.log", database=dbtune_database)
    slow_counts: dict[str, int] = {}
    for c in slow.classes:
        key = join_key(c.fingerprint)
        if key != "use?":
            slow_counts[key] = slow_counts.get(key, 0) + c.count
    ps_counts: dict[str, int] = {}
    for c in window.classes:
        if dbtune_database in c.dbs:
            key = join_key(c.fingerprint)
            ps_counts[key] = ps_counts.get(key, 0) + c.dbs[dbtune_database]
    # the 400 statements, and the SET NAMES each of the 2 connections sent
    assert ps_counts.pop("setnamesutf?m?") == 2 == slow_counts.pop("setnamesutf?m?")
    assert sum(ps_counts.values()) == 400
    assert ps_counts == slow_counts
    # where perfschema had a real sample, the class ids are the slow log's own
    slow_ids = {c.id for c in slow.classes}
    sampled = [c for c in window.classes if c.sample_source != "DIGEST_TEXT"]
    assert all(c.id in slow_ids for c in sampled)


# ---------------------------------------------------------------------------------------------
# performance_schema off, consumer off, bad credentials
# ---------------------------------------------------------------------------------------------
def test_performance_schema_off_is_one_line_exit_2(tmp_path: Path):
    with start_server("local", server_args=["--performance-schema=OFF"],
                      buffer_pool_size="32M") as server:
        with server.connect() as connection, pytest.raises(PerfSchemaUnavailable) as caught:
            read_snapshot(connection)
        assert "performance_schema=ON" in str(caught.value) and "restart" in str(caught.value)
        env = {"DBTUNE_DSN": server.dsn(reveal_password=True), "HOME": str(tmp_path)}
        results = [run_cli(*args, env=env) for args in
                   ([], ["--show", "index-usage"], ["--show", "unused-indexes"])]
    for result in results:  # not an empty report: no index would look unused
        assert result.exit_code == 2
        assert result.stderr.startswith(f"dbtune: error: {server.dsn()}: performance_schema "
                                        "is OFF")
        assert result.stderr.count("\n") == 1 and result.stdout == ""
        assert server.password not in result.output


def test_digest_consumer_off_says_how_to_enable(dbtune_server: Server):
    toggle = ("UPDATE performance_schema.setup_consumers SET ENABLED = %s "
              "WHERE NAME = 'statements_digest'")
    execute(dbtune_server, None, toggle % "'NO'")
    try:
        with dbtune_server.connect() as connection, \
                pytest.raises(PerfSchemaUnavailable, match="consumer statements_digest") as caught:
            read_snapshot(connection)
    finally:
        execute(dbtune_server, None, toggle % "'YES'")
    assert "ENABLED='YES'" in str(caught.value) and "\n" not in str(caught.value)


def test_wrong_password_and_bad_options_never_leak(dbtune_server: Server, tmp_path: Path):
    secret = "not-the-password-S3cr3t"
    dsn = f"mysql://root:{secret}@{dbtune_server.host}:{dbtune_server.port}/"
    result = run_cli("--dsn", dsn, "--connect-timeout", "5", env={"HOME": str(tmp_path)})
    assert result.exit_code == 2 and secret not in result.output
    assert result.stderr.startswith("dbtune: error: cannot connect to mysql://root:***@")
    both = run_cli("--dsn", dsn, "--interval", "5s", "--baseline", "x.json")
    assert both.exit_code == 2 and "either --interval or --baseline" in both.stderr
    index = run_cli("--dsn", dsn, "--show", "unused-indexes", "--interval", "5s")
    assert index.exit_code == 2 and "do not apply" in index.stderr
    bad = run_cli("--dsn", dsn, "--interval", "soon")
    assert bad.exit_code == 2 and "not a duration" in bad.output
    missing = run_cli("--dsn", dbtune_server.dsn(reveal_password=True), "--baseline",
                      str(tmp_path / "nope.json"), env={"HOME": str(tmp_path)})
    assert missing.exit_code == 2 and "no such snapshot file" in missing.stderr
    assert dbtune_server.password not in missing.output


def test_password_prompt(dbtune_server: Server, tmp_path: Path):
    dsn = f"mysql://root@{dbtune_server.host}:{dbtune_server.port}/"
    result = CliRunner().invoke(analyze, ["perfschema", "--dsn", dsn, "--ask-password",
                                          "--format", "csv", "--top", "1"],
                                input=dbtune_server.password + "\n", env={"HOME": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("rank,id,count")
    assert dbtune_server.password not in result.output


def test_command_is_a_click_command():
    assert isinstance(perfschema, click.Command) and perfschema.name == "perfschema"
