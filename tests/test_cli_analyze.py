"""`dbtune analyze slowlog`: the command DBAs run every day, end to end through click."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbtune.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "slowlogs"
PERCONA = str(FIXTURES / "percona-ubuntu-5.7.19.log")
ALL_LOGS = sorted(str(p) for p in FIXTURES.glob("*.log"))


def run(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(main, ["analyze", "slowlog", *args], input=input)


def as_json(*args: str) -> dict:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_layout_holds_the_documented_fields():
    report = as_json(PERCONA, "--top", "0")
    summary = report["summary"]
    assert summary["events"] == 8 and summary["classes"] == 8 and summary["skipped"] == 0
    first = report["classes"][0]
    assert first["rank"] == 1 and first["count"] == 1 and first["db"] == "test"
    assert first["fingerprint"].startswith("update test set test.state = ?")
    assert first["id"] == "8977DE7D1089D535F28ACA32BFA820B3"
    for metric in ("query_time", "lock_time", "rows_sent", "rows_examined"):
        assert set(first[metric]) == {"sum", "min", "max", "mean", "p50", "p95", "p99"}
    assert first["query_time"]["sum"] == pytest.approx(153.883481)
    assert first["rows_examined"]["max"] == 120309968
    assert first["metrics"]["innodb_io_r_ops"]["sum"] == 9744
    assert first["tables"] == ["test"]
    assert first["sample_source"].endswith("percona-ubuntu-5.7.19.log:121")


def test_ranking_top_and_order_by():
    by_time = as_json(*ALL_LOGS, "--top", "3")
    sums = [c["query_time"]["sum"] for c in by_time["classes"]]
    assert len(sums) == 3 and sums == sorted(sums, reverse=True)
    by_count = as_json(*ALL_LOGS, "--order-by", "count", "--top", "0")
    counts = [c["count"] for c in by_count["classes"]]
    assert counts == sorted(counts, reverse=True)
    assert len(counts) == by_count["summary"]["classes"]
    by_rows = as_json(*ALL_LOGS, "--order-by", "rows_examined:max", "--top", "2")
    assert by_rows["classes"][0]["rows_examined"]["max"] == 120309968


def test_min_count_hides_rare_classes():
    report = as_json(*ALL_LOGS, "--min-count", "3", "--top", "0")
    assert report["classes"] and all(c["count"] >= 3 for c in report["classes"])


def test_filters_by_database_and_time():
    only_test = as_json(*ALL_LOGS, "--database", "test", "--top", "0")
    assert only_test["summary"]["events"] > 0
    assert all(c["dbs"] == {"test": c["count"]} for c in only_test["classes"])
    recent = as_json(*ALL_LOGS, "--since", "2019-01-01", "--until", "2019-02-01")
    assert 0 < recent["summary"]["events"] < as_json(*ALL_LOGS)["summary"]["events"]


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_text_formats_show_summary_profile_and_details(fmt):
    result = run(PERCONA, "--format", fmt, "--details", "1")
    assert result.exit_code == 0, result.output
    assert "events: 8  classes: 8  skipped entries: 0" in result.stdout
    assert "8977DE7D1089D535F28ACA32BFA820B3" in result.stdout
    assert "120,309,968" in result.stdout  # rows examined of the worst class, in its details


def test_csv_has_one_row_per_class_with_every_metric():
    result = run(PERCONA, "--format", "csv", "--top", "0")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 8
    assert float(rows[0]["query_time_sum"]) == pytest.approx(153.883481)
    assert "innodb_io_r_ops_p95" in rows[0]


def test_stdin_and_output_file(tmp_path):
    out = tmp_path / "report.json"
    result = run("-", "--format", "json", "--output", str(out),
                 input=Path(PERCONA).read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["summary"]["events"] == 8


def test_missing_file_is_one_line_and_status_2(tmp_path):
    result = run(str(tmp_path / "nope.log"))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dbtune: error:") and "nope.log" in lines[0]


def test_not_a_slow_log_is_one_line_and_status_2(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("shopping list\neggs\nmilk\n" * 50)
    result = run(str(junk))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "notes.txt" in result.stderr


def test_garbled_entry_warns_with_file_and_line_and_run_completes(tmp_path):
    text = Path(PERCONA).read_text()
    broken = text.replace("# Query_time: 153.883481", "# Query_time: 1x3.88##", 1)
    log = tmp_path / "broken.log"
    log.write_text(broken)
    result = run(str(log), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["skipped"] >= 1
    assert f"{log}:" in result.stderr and "warning" in result.stderr
    assert report["summary"]["events"] == 8 - report["summary"]["skipped"]


def one_error_line(result) -> str:
    """The single ``dbtune: error:`` line of a failed run (exit 2, nothing else on stderr)."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dbtune: error:"), result.stderr
    return lines[0]


def test_bad_order_by_is_a_usage_error():
    result = run(PERCONA, "--order-by", "query_time:median")
    assert "METRIC:STAT" in one_error_line(result)


@pytest.mark.parametrize("args", [("--since", "yesterday"), ("--top", "many"), ("--bogus",),
                                  ("--top", "-1"), ("--jobs", "0")])
def test_bad_options_are_one_line(args):
    assert "--help" in one_error_line(run(PERCONA, *args))


def test_options_that_would_report_nothing_are_errors():
    typo = one_error_line(run(PERCONA, "--order-by", "query_tme:sum"))
    assert "no class has metric 'query_tme'" in typo and "query_time" in typo
    assert "is not before" in one_error_line(run(PERCONA, "--since", "2020-01-02",
                                                 "--until", "2020-01-01"))


SECRET_LOG = """# Time: 180613 11:04:36
# User@Host: root[root] @ localhost [127.0.0.1]
# Thread_id: 5  Schema: shop  QC_hit: No
# Query_time: 2.000652  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
SET timestamp=1528898676;
ALTER USER 'app'@'%' IDENTIFIED BY 'S3cr3t-pw';
# Time: 180613 11:04:37
# User@Host: root[root] @ localhost [127.0.0.1]
# Thread_id: 5  Schema: shop  QC_hit: No
# Query_time: 1.000000  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
SET timestamp=1528898677;
SET PASSWORD FOR 'app'@'%' = PASSWORD('S3cr3t-pw');
"""


@pytest.mark.parametrize("fmt", ["json", "table", "markdown", "csv"])
def test_passwords_in_logged_statements_are_not_reported(tmp_path, fmt):
    """MariaDB logs ALTER USER ... IDENTIFIED BY as sent; reports show '***' instead."""
    log = tmp_path / "slow.log"
    log.write_text(SECRET_LOG)
    result = run(str(log), "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "S3cr3t-pw" not in result.output
    if fmt != "csv":  # CSV's quoting doubles the quotes
        assert "IDENTIFIED BY '***'" in result.stdout and "PASSWORD('***')" in result.stdout


def test_unwritable_output_is_one_line(tmp_path):
    out = tmp_path / "missing-dir" / "report.txt"
    assert str(out) in one_error_line(run(PERCONA, "--output", str(out)))  # before any work
    assert not out.parent.exists()
    refused = one_error_line(run(PERCONA, "--output", "/proc/dbtune-report.txt"))
    assert "/proc/dbtune-report.txt: cannot write the report" in refused


@pytest.mark.parametrize("fmt", ["json", "table", "csv"])
def test_bytes_that_are_not_utf8_survive_every_format(fmt):
    result = run(str(FIXTURES / "latin1-bytes.log"), "--format", fmt, "--top", "0")
    assert result.exit_code == 0, result.output
    result.stdout.encode("utf-8")  # valid UTF-8 out, whatever came in
    if fmt == "json":
        samples = [c["sample"] for c in json.loads(result.stdout)["classes"]]
        assert any("\udcff" in sample for sample in samples)  # the raw byte 0xff, kept
    else:
        assert "\\xff" in result.stdout


def test_every_report_goes_out_without_credentials(tmp_path, capsys):
    from dbtune.cli.common import emit

    text = "worst sample: ALTER USER 'app'@'%' IDENTIFIED BY 'hunter2secret';\n"
    emit(text, None)
    emit(text, tmp_path / "report.txt")
    shown = capsys.readouterr().out + (tmp_path / "report.txt").read_text()
    assert "hunter2secret" not in shown and shown.count("IDENTIFIED BY '***'") == 2
