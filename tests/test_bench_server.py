"""dbtune bench on a real disposable server: rounds, apply/rollback, equivalence, refusal."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dbtune.bench.rounds import Migration, Replay, run_bench
from dbtune.bench.story import bench_on
from dbtune.bench.workloads import slowlog_workload, sql_file_workload
from dbtune.cli import main
from dbtune.sandbox import NotDisposableError, start_server
from dbtune.workload.drivers import get_driver

pytestmark = pytest.mark.server

ROWS = 3000
ADD = "ALTER TABLE items ADD INDEX ix_grp (grp)"
DROP = "ALTER TABLE items DROP INDEX ix_grp"


@pytest.fixture
def items(dbtune_server, dbtune_database, tmp_path):
    """A table of ROWS rows (grp = id % 50), a workload file and migration files."""
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE items (id INT PRIMARY KEY, grp INT NOT NULL, "
                       "val VARCHAR(20) NOT NULL)")
        cursor.executemany("INSERT INTO items VALUES (%s, %s, %s)",
                           [(i, i % 50, f"v{i}") for i in range(1, ROWS + 1)])
    workload = tmp_path / "workload.sql"
    workload.write_text("".join(f"SELECT id, val FROM items WHERE grp = {g};\n"
                                for g in range(50))
                        + "SELECT COUNT(*) FROM items;\n", encoding="utf-8")
    files = {"workload": workload}
    for name, text in {"up": ADD, "down": DROP, "delete": "DELETE FROM items WHERE id = 3",
                       "reinsert": "INSERT INTO items VALUES (3, 3, 'v3')"}.items():
        files[name] = tmp_path / f"{name}.sql"
        files[name].write_text(text + ";\n", encoding="utf-8")
    return files


def has_index(server, database) -> bool:
    with server.connect(database) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW INDEX FROM items WHERE Key_name = 'ix_grp'")
        return bool(cursor.fetchall())


def test_interleaved_rounds_apply_and_roll_back_between_rounds(dbtune_server, dbtune_database,
                                                               items):
    seen = []
    result = run_bench(
        dbtune_server, sql_file_workload(items["workload"]), dbtune_database,
        Migration.from_files(items["up"], items["down"]), rounds=2,
        replay=Replay(count=150, warmup=0, concurrency=2),
        on_round=lambda i, phase: seen.append((phase, has_index(dbtune_server, dbtune_database))))
    assert seen == [("before", False), ("after", True), ("before", False), ("after", True)]
    assert result.interleaved and [r.phase for r in result.rounds] == [p for p, _ in seen]
    assert result.equivalence.ok and result.equivalence.classes == 2
    assert result.equivalence.statements == 6  # 5 of the grp class + the count
    assert result.overall("before")["count"] == result.overall("after")["count"] == 300
    assert result.per_class["count_before"].sum() == 300
    # performance_schema timed every statement of every round: 150 measured and each of the
    # 2 connections' SET autocommit (no warm-up here, whose statements it would count too)
    assert [r.server_time[0] for r in result.rounds] == [152] * 4
    # per class too: each digest joined to its class, with the client's count
    for r in result.rounds:
        assert {name: count for name, (count, _) in r.server_classes.items()} == {
            name: len(values) for name, values in r.result.latencies_ms.items()}
    # the server's time is of the client's order, not always below it: MariaDB's statement
    # timer also runs through the slow-log write (long_query_time 0), after the client has
    # its result - on these sub-millisecond statements that is a few percent
    for phase in ("before", "after"):
        overall = result.overall(phase)
        assert 0 < overall["server_mean_ms"] < 1.5 * overall["mean_ms"]
    # per class only that it is timed: a class of a few sub-millisecond statements read
    # 1.6-2.9x its client time under load here (one slow slow-log write is its mean)
    for row in result.per_class.to_dict("records"):
        for phase in ("before", "after"):
            assert row[f"server_mean_{phase}_ms"] > 0
    # same statements in paired rounds: the per-class counts match before and after
    assert (result.per_class["count_before"] == result.per_class["count_after"]).all()
    document = result.to_dict()
    assert document["order"] == "interleaved" and document["exit_status"] == 0
    assert document["ratios"]["mean"]["ci95_low"] <= document["ratios"]["mean"]["ratio"]


def test_without_rollback_all_before_rounds_run_first(dbtune_server, dbtune_database, items):
    seen = []
    result = bench_on(dbtune_server, dbtune_database, sql=items["workload"],
                      migration=items["up"], rounds=2,
                      replay=Replay(count=60, warmup=0, concurrency=1),
                      on_round=lambda i, phase: seen.append(
                          (phase, has_index(dbtune_server, dbtune_database))))
    assert seen == [("before", False), ("before", False), ("after", True), ("after", True)]
    assert not result.interleaved
    assert any("no rollback" in note for note in result.notes)


def test_a_migration_that_deletes_a_row_is_a_result_difference_exit_4(dbtune_server,
                                                                       dbtune_database, items):
    runner = CliRunner()
    outcome = runner.invoke(main, [
        "bench", "--dsn", dbtune_server.dsn(reveal_password=True), "--disposable",
        "--database", dbtune_database, "--sql", str(items["workload"]),
        "--migration", str(items["delete"]), "--rollback", str(items["reinsert"]),
        "--count", "100", "--warmup", "0", "--concurrency", "2", "--target", "mean<10s",
        "--format", "json"])
    assert outcome.exit_code == 4, outcome.output
    document = json.loads(outcome.stdout)
    differing = {d["label"]: d for d in document["result_differences"]}
    assert set(differing) == {"select id, val from items where grp = ?",
                              "select count(*) from items"}
    assert differing["select count(*) from items"]["before"].startswith("1 rows")
    grp = differing["select id, val from items where grp = ?"]
    assert grp["differing"] == 1 and grp["statements"] == 5
    assert grp["example_sql"] == "SELECT id, val FROM items WHERE grp = 3"
    assert grp["before"].startswith("60 rows") and grp["after"].startswith("59 rows")
    assert document["met"] is True  # the target held, the differences still decide


@pytest.mark.parametrize(("target", "status", "last"), [
    ("mean<10s", 0, "target mean<10000ms: MET"),
    ("p95<0.001ms", 1, "target p95<0.001ms: NOT MET"),
])
def test_target_verdict_sets_the_exit_status(dbtune_server, dbtune_database, items, target,
                                             status, last):
    outcome = CliRunner().invoke(main, [
        "bench", "--dsn", dbtune_server.dsn(reveal_password=True), "--disposable",
        "--database", dbtune_database, "--sql", str(items["workload"]),
        "--migration", str(items["up"]), "--rollback", str(items["down"]), "--rounds", "1",
        "--count", "60", "--warmup", "0", "--target", target,
        "--max-regression", "100"])  # one statement a class: the guard would judge noise
    assert outcome.exit_code == status, outcome.output
    assert outcome.stdout.rstrip().splitlines()[-1] == last
    assert "interleaved A B (A before, B after)" in outcome.stdout


@pytest.mark.parametrize(("fail_on", "status", "says"), [
    ("p95:1e6:1e6", 0, None),
    ("p95:0.0001:1e6", 1, "warning: 2 classes with p95 after >= 0.0001 ms"),
    ("mean:0.0001:0.0002", 3, "critical: 2 classes with mean after >= 0.0002 ms"),
])
def test_fail_on_judges_every_class_after_the_change(dbtune_server, dbtune_database, items,
                                                      fail_on, status, says):
    outcome = CliRunner().invoke(main, [
        "bench", "--dsn", dbtune_server.dsn(reveal_password=True), "--disposable",
        "--database", dbtune_database, "--sql", str(items["workload"]),
        "--migration", str(items["up"]), "--rollback", str(items["down"]), "--rounds", "1",
        "--count", "60", "--warmup", "0", "--fail-on", fail_on, "--format", "json",
        "--max-regression", "100"])  # one statement a class: the guard would judge noise
    assert outcome.exit_code == status, outcome.output
    document = json.loads(outcome.stdout)
    assert document["exit_status"] == status and document["fail_on"] is not None
    assert document["replay"]["driver"] == get_driver("auto").name  # which client was timed
    if says:
        assert says in document["alert"] and f"dbtune: {says}" in outcome.stderr
    else:
        assert document["alert"] is None


def test_a_bad_fail_on_is_a_usage_error() -> None:
    outcome = CliRunner().invoke(main, ["bench", "--fail-on", "max"])
    assert outcome.exit_code == 2 and "STAT in mean, p50, p95, p99" in outcome.output


def errors(outcome) -> list[str]:
    """stderr without the one line per round a bench logs when stderr is not a terminal."""
    return [line for line in outcome.stderr.splitlines()
            if not line.startswith("dbtune: bench round ")]


def test_html_report_is_self_contained(dbtune_server, dbtune_database, items, tmp_path):
    page = tmp_path / "bench.html"
    # 60 statements over 51 classes: one statement a class, whose point estimate the guard
    # (tests/test_bench_guard.py) judges at 2x, on noise here; this test is of the page
    outcome = CliRunner().invoke(main, [
        "bench", "--dsn", dbtune_server.dsn(reveal_password=True), "--disposable",
        "--database", dbtune_database, "--sql", str(items["workload"]),
        "--migration", str(items["up"]), "--rollback", str(items["down"]), "--rounds", "1",
        "--count", "60", "--warmup", "0", "--max-regression", "100", "--format", "html",
        "-o", str(page)])
    assert outcome.exit_code == 0, outcome.output
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<img alt="latency' in text
    assert 'src="data:image/png;base64,' in text
    assert "http://" not in text and "https://" not in text and "<script" not in text
    rounds = [line for line in outcome.stderr.splitlines() if "bench round" in line]
    assert [line.split(" (")[0] for line in rounds] == [
        "dbtune: bench round 1/2", "dbtune: bench round 2/2"]  # stderr is not a terminal


def test_non_disposable_dsn_is_refused_and_left_alone(dbtune_server, dbtune_database, items):
    outcome = CliRunner().invoke(main, [
        "bench", "--dsn", dbtune_server.dsn(reveal_password=True),
        "--database", dbtune_database, "--sql", str(items["workload"]),
        "--migration", str(items["up"]), "--count", "10"])
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    (line,) = errors(outcome)
    assert line.startswith("dbtune: error: refusing to run a before/after bench on mysql://")
    assert "not marked disposable" in line
    if dbtune_server.password:
        assert dbtune_server.password not in outcome.stderr
    assert not has_index(dbtune_server, dbtune_database)
    with (start_server("dsn", dsn=dbtune_server.dsn(reveal_password=True)) as plain,
          pytest.raises(NotDisposableError)):
        run_bench(plain, sql_file_workload(items["workload"]), dbtune_database,
                  Migration([ADD], [DROP]), replay=Replay(count=10))
    assert not has_index(dbtune_server, dbtune_database)


def test_slowlog_workload_replays_the_logged_statements_of_its_database(
        dbtune_server, dbtune_database, items):
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        for g in (1, 2, 3):
            cursor.execute(f"SELECT id FROM items WHERE grp = {g} AND id < 500")
            cursor.fetchall()
        cursor.execute("UPDATE items SET val = 'x' WHERE id = 1")
    workload = slowlog_workload(dbtune_server.slow_log_path, database=dbtune_database)
    labels = set(workload.labels.values())
    assert "select id from items where grp = ? and id < ?" in labels
    assert "update items set val = ? where id = ?" in labels
    assert workload.skipped  # other tests' databases and the DDL of this one
    result = run_bench(dbtune_server, workload, dbtune_database, Migration([ADD], [DROP]),
                       rounds=1, replay=Replay(count=40, warmup=0, read_only=True))
    kinds = {k for r in result.rounds for k in r.result.kinds.values()}
    assert kinds == {"read"} and result.equivalence.ok


def test_a_failing_migration_statement_is_one_line_naming_file_and_statement(
        dbtune_server, dbtune_database, items, tmp_path):
    bad = tmp_path / "bad.sql"
    bad.write_text("ALTER TABLE items ADD INDEX ix_grp (grp);\nALTER TABLE nope ADD x INT;\n",
                   encoding="utf-8")
    outcome = CliRunner().invoke(main, [
        "bench", "--dsn", dbtune_server.dsn(reveal_password=True), "--disposable",
        "--database", dbtune_database, "--sql", str(items["workload"]),
        "--migration", str(bad), "--rounds", "1", "--count", "20", "--warmup", "0"])
    assert outcome.exit_code == 2 and outcome.stdout == ""
    (line,) = errors(outcome)
    assert line.startswith(f"dbtune: error: migration {bad}, statement 2 (ALTER TABLE nope")
    assert "doesn't exist" in line
    # a statement over several lines whose syntax error quotes them: still one line
    bad.write_text("ALTER TABLE items\n  ADD INDEX ix_grp (grp),\n  ADD WHAT;\n", encoding="utf-8")
    outcome = CliRunner().invoke(main, [
        "bench", "--dsn", dbtune_server.dsn(reveal_password=True), "--disposable",
        "--database", dbtune_database, "--sql", str(items["workload"]),
        "--migration", str(bad), "--rounds", "1", "--count", "20", "--warmup", "0"])
    (line,) = errors(outcome)
    assert "statement 1 (ALTER TABLE items ADD INDEX ix_grp (grp), ADD WHAT)" in line
    assert "syntax" in line and outcome.exit_code == 2


def test_cli_slowlog_workload_runs_in_the_logs_database(dbtune_server, dbtune_database, items,
                                                        tmp_path):
    entry = ("# Time: 261126 14:13:50\n# User@Host: app[app] @ localhost []\n"
             "# Thread_id: 3  Schema: {db}  QC_hit: No\n"
             "# Query_time: 0.001555  Lock_time: 0.000000  Rows_sent: 60  Rows_examined: 3000\n"
             "use `{db}`;\nSET timestamp=1795702430;\n{sql};\n")
    log = tmp_path / "slow.log"
    log.write_text("".join(entry.format(db=dbtune_database, sql=sql) for sql in (
        "SELECT id, val FROM items WHERE grp = 5", "SELECT id, val FROM items WHERE grp = 9",
        "UPDATE items SET val = 'y' WHERE id = 2", "SET NAMES utf8mb4")), encoding="utf-8")
    outcome = CliRunner().invoke(main, [
        "bench", "--dsn", dbtune_server.dsn(reveal_password=True), "--disposable",
        "--slowlog", str(log), "--migration", str(items["up"]), "--rollback",
        str(items["down"]), "--rounds", "1", "--count", "30", "--warmup", "0", "--format",
        "json", "--max-regression", "100"])  # 10-20 statements a class: the guard judges noise
    assert outcome.exit_code == 0, outcome.output
    document = json.loads(outcome.stdout)
    assert document["database"] == dbtune_database
    assert document["skipped"] == {"not a read or DML statement": 1}
    labels = {c["label"] for c in document["classes"]}
    assert labels == {"select id, val from items where grp = ?",
                      "update items set val = ? where id = ?"}
    assert document["equivalence"] == {"statements": 2, "classes": 1}
