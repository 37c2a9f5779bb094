"""The nightly report over a 14-day history of real logs (tests/test_nightly_days.py):
findings, exit codes, re-aggregation, history versions and retention, every format."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_nightly_days import FIXED, GONE, NEW, REGRESSES, day_log, write_days

from dbtune.cli import main
from dbtune.digest import digest_slowlog
from dbtune.model import InputError
from dbtune.nightly import History, HistoryError, Thresholds, nightly_report
from dbtune.nightly.history import SCHEMA_VERSION

ROOT = Path(__file__).parent.parent
SCHEMA = ROOT / "fixtures" / "marketplace" / "schema.sql"
FIRST = date(2026, 11, 13)


def _class_of(report, prefix: str) -> str:
    """The id of the one class whose fingerprint starts like ``prefix``."""
    found = {c.class_id for c in report.classes
             if " ".join(c.fingerprint.split()).startswith(prefix.lower())}
    assert len(found) == 1, (prefix, found)
    return found.pop()


@pytest.fixture(scope="module")
def fourteen(tmp_path_factory):
    """Fourteen nights run in order into one history; (directory, days, reports)."""
    directory = tmp_path_factory.mktemp("nightly")
    days = write_days(directory, FIRST)
    reports = [nightly_report([path], history=directory / "history.sqlite", schemas=[SCHEMA])
               for _, path in days]
    return directory, days, reports


def test_each_day_before_the_last_warns_only_about_the_slow_class(fourteen) -> None:
    _, _, reports = fourteen
    fixed = _class_of(reports[0], FIXED)
    for report in reports[:-1]:
        assert [(f.rule, f.severity, f.class_id) for f in report.findings
                if f.rule != "advice_changes"] == [("over_thresholds", "warning", fixed)]
        assert report.exit_status == 1
    assert reports[0].notes[-1].startswith("first night")


def test_last_day_finds_the_regression_the_new_the_gone_and_the_fixed_class(fourteen) -> None:
    _, _, reports = fourteen
    last, before = reports[-1], reports[-2]
    regressed, fixed = _class_of(last, REGRESSES), _class_of(last, FIXED)
    new, gone = _class_of(last, NEW), _class_of(before, GONE)
    found = {(f.rule, f.severity, f.class_id) for f in last.findings
             if f.rule != "advice_changes"}
    assert found == {("over_thresholds", "critical", regressed),
                     ("p95_regressions", "warning", regressed),
                     ("total_time_regressions", "warning", regressed),
                     ("new_classes", "info", new), ("gone_classes", "info", gone),
                     ("fixed_classes", "info", fixed)}
    assert last.exit_status == 3
    p95 = next(f for f in last.findings if f.rule == "p95_regressions").figures
    assert 20 < p95["ratio"] < 30 and p95["baseline_exact"]  # 25x slower, jitter +-10%
    assert last.findings[0].severity == "critical"  # worst first


def test_advice_changes_are_compared_with_yesterdays_stored_advice(fourteen) -> None:
    directory, _, reports = fourteen
    last = reports[-1]
    with History(directory / "history.sqlite") as history:
        yesterday = history.advice(last.day - timedelta(days=1))
    keys = {(a["kind"], a["table"], tuple(a["ddl"])) for a in last.advice}
    before = {(a["kind"], a["table"], tuple(a["ddl"])) for a in yesterday}
    changes = [f.figures for f in last.findings if f.rule == "advice_changes"]
    assert {tuple(c["ddl"]) for c in changes if c["change"] == "new"} == \
        {k[2] for k in keys - before}
    assert {tuple(c["ddl"]) for c in changes if c["change"] == "withdrawn"} == \
        {k[2] for k in before - keys}
    assert last.advice and all(a["ddl"] and a["rollback"] for a in last.advice)
    # a quiet day between two identical workloads changes no advice
    assert not [f for f in reports[5].findings if f.rule == "advice_changes"]


@pytest.mark.parametrize("first, last", [(0, 13), (2, 8), (13, 13)])
def test_a_range_of_days_reaggregates_to_the_digest_of_the_concatenated_logs(
        fourteen, first: int, last: int) -> None:
    directory, days, _ = fourteen
    with History(directory / "history.sqlite") as history:
        merged = history.digest(days[first][0], days[last][0])
    whole = digest_slowlog([str(p) for _, p in days[first:last + 1]], jobs=1)
    assert merged.summary["events"] == whole.summary["events"]
    mine = {c.id: c for c in merged.classes}
    assert mine.keys() == {c.id for c in whole.classes}
    for c in whole.classes:
        m = mine[c.id]
        assert m.count == c.count
        for name, stats in c.metrics.items():
            for stat in ("sum", "min", "max"):
                assert m.metrics[name][stat] == stats[stat], (c.id, name, stat)
            for q in ("p50", "p95", "p99"):  # the sketch's bound: 1% relative error
                assert m.metrics[name][q] == pytest.approx(stats[q], rel=0.01, abs=1e-9)


def test_a_quiet_history_is_clean(tmp_path: Path) -> None:
    reports = []
    for i in range(3):
        day = FIRST + timedelta(days=i)
        log = tmp_path / f"{day}.log.gz"
        log.write_bytes(gzip.compress(day_log(day).encode()))  # rotated and gzipped
        reports.append(nightly_report([log], history=tmp_path / "h.sqlite"))
    assert [r.exit_status for r in reports] == [0, 0, 0]
    assert [r.findings for r in reports] == [[], [], []]
    assert reports[-1].advice_note.startswith("no advice: give --schema")


def test_thresholds_are_configurable(tmp_path: Path) -> None:
    log = tmp_path / "day.log"
    log.write_text(day_log(FIRST, slow_fixed=True))
    assert nightly_report([log], history=tmp_path / "a.sqlite").exit_status == 1
    high = Thresholds(warning_ms=1000, critical_ms=2000)
    assert nightly_report([log], history=tmp_path / "b.sqlite", thresholds=high).exit_status == 0
    low = Thresholds(warning_ms=50, critical_ms=100)
    assert nightly_report([log], history=tmp_path / "c.sqlite", thresholds=low).exit_status == 3


def test_the_day_option_keeps_one_calendar_day_of_a_longer_log(tmp_path: Path) -> None:
    log = tmp_path / "two-days.log"
    log.write_text(day_log(FIRST) + day_log(FIRST + timedelta(days=1), new=True))
    report = nightly_report([log], history=tmp_path / "h.sqlite", day=FIRST)
    assert report.day == FIRST and report.summary["events"] == 250
    assert nightly_report([log], history=tmp_path / "h.sqlite").day == FIRST + timedelta(days=1)


def test_rerunning_a_day_replaces_it_and_retention_drops_old_days(tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite"
    paths = write_days(tmp_path, FIRST, count=6)
    for _, path in paths:
        nightly_report([path], history=history, keep_days=None)
    nightly_report([paths[-1][1]], history=history, keep_days=None)
    with History(history) as h:
        assert [d.day for d in h.days()] == [d for d, _ in paths]
        assert sum(1 for c in h.class_days() if c.day == paths[-1][0]) == \
            h.days()[-1].classes
    report = nightly_report([paths[-1][1]], history=history, keep_days=3)
    with History(history) as h:
        assert [d.day for d in h.days()] == [d for d, _ in paths[-3:]]
    assert any(n.startswith("retention: dropped 3 day(s)") for n in report.notes)


def test_a_history_of_a_newer_schema_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite"
    log = tmp_path / "day.log"
    log.write_text(day_log(FIRST))
    nightly_report([log], history=history)
    with sqlite3.connect(history) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                   (str(SCHEMA_VERSION + 1),))
    db.close()
    before = history.read_bytes()
    with pytest.raises(HistoryError, match=r"schema 2 was written by a newer dbtune"):
        nightly_report([log], history=history)
    assert history.read_bytes() == before


@pytest.mark.parametrize("content", [b"not a database at all\n" * 10, None])
def test_a_file_that_is_not_a_history_is_refused(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "other.sqlite"
    if content is None:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t (x)")
        db.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="not a dbtune history"):
        History(path)
    assert path.read_bytes() == before


def test_days_without_a_readable_state_use_their_plain_columns(tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite"
    paths = write_days(tmp_path, FIRST, count=4)
    for _, path in paths[:-1]:
        nightly_report([path], history=history)
    with sqlite3.connect(history) as db:  # as if written by another dbtune version
        db.execute("UPDATE days SET state_format = 'dbtune-digest-pickle/0.0.1'")
    db.close()
    report = nightly_report([paths[-1][1]], history=history)
    assert any("mean of daily p95s, not a percentile" in n for n in report.notes)
    assert {f.rule for f in report.findings} >= {"p95_regressions", "over_thresholds"}
    assert not next(f for f in report.findings if f.rule == "p95_regressions"
                    ).figures["baseline_exact"]
    with History(history) as h, pytest.raises(HistoryError, match="no mergeable state"):
        h.digest(paths[0][0], paths[1][0])


def test_every_format_links_classes_to_samples_and_advice(fourteen) -> None:
    last = fourteen[2][-1]
    document = json.loads(last.render("json"))
    assert document["exit_status"] == 3 and document["day"] == "2026-11-26"
    assert len(document["history"]["days"]) == 14
    assert all(c["sample"] for c in document["classes"])
    assert any(c["advice"] for c in document["classes"])
    markdown = last.render("markdown")
    assert "## Findings" in markdown and "critical" in markdown and "```sql" in markdown
    assert last.render("csv").splitlines()[0] == "day,rule,severity,class_id,message,figures"
    page = last.render("html")
    assert page.count("<svg") == 3 and "<table" in page
    for c in document["classes"]:
        short = c["class_id"][:12]
        assert f'href="#class-{short}"' in page and f'id="class-{short}"' in page
        for n in c["advice"]:
            assert f'href="#advice-{n}"' in page and f'id="advice-{n}"' in page


def test_cli_exit_codes(fourteen, tmp_path: Path) -> None:
    directory, days, _ = fourteen
    history = tmp_path / "h.sqlite"
    shutil.copy(directory / "history.sqlite", history)
    runner = CliRunner()
    result = runner.invoke(main, ["report", "nightly", str(days[-1][1]), "--history",
                                  str(history), "--format", "json"])
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["verdict"] == "critical"
    result = runner.invoke(main, ["report", "nightly", str(days[-2][1]), "--history",
                                  str(history), "--warning-ms", "1000", "--critical-ms", "2000"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["report", "nightly", str(days[-2][1]), "--history",
                                  str(history)])
    assert result.exit_code == 1 and "over_thresholds" in result.stdout
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not sqlite\n" * 100)
    result = runner.invoke(main, ["report", "nightly", str(days[-1][1]), "--history", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith("dbtune: error: ") and "not a dbtune history" in result.stderr
    result = runner.invoke(main, ["report", "nightly", str(tmp_path / "missing.log"),
                                  "--history", str(history)])
    assert result.exit_code == 2 and "missing.log" in result.stderr


def test_a_performance_schema_snapshot_pair_is_a_night(tmp_path: Path) -> None:
    after = ROOT / "fixtures" / "perfschema" / "mysql-8.0.36-snapshot.json"
    snapshot = json.loads(after.read_text())
    snapshot["taken_at"], snapshot["uptime"] = "2026-11-25T10:00:00", 3600
    for row in snapshot["digest_rows"]:  # a day earlier the counters stood at half
        for column, value in row.items():
            if (column == "COUNT_STAR" or column.startswith("SUM_")) and isinstance(value, int):
                row[column] = value // 2
    snapshot["histograms"] = {k: [[b, n // 2] for b, n in v]
                              for k, v in snapshot["histograms"].items()}
    before = tmp_path / "before.json"
    before.write_text(json.dumps(snapshot))
    history = tmp_path / "h.sqlite"
    first = nightly_report(perfschema=(before, after), history=history,
                           day=date(2026, 11, 25))
    second = nightly_report(perfschema=(before, after), history=history)
    assert second.day == date(2026, 11, 26) and second.classes
    assert second.summary["source"] == "performance_schema"
    assert [c.count for c in first.classes] == [c.count for c in second.classes]
    assert not {f.rule for f in second.findings} & {"p95_regressions", "new_classes",
                                                    "gone_classes"}
    with History(history) as h:
        assert [(d.source, d.mergeable) for d in h.days()] == [("performance_schema", False)] * 2
    with pytest.raises(InputError, match="not both"):
        nightly_report([ROOT / "fixtures" / "slowlogs" / "mysql-5.7.22.log"],
                       perfschema=(before, after), history=history)


def test_a_state_that_does_not_decode_is_reported_not_fatal(tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite"
    paths = write_days(tmp_path, FIRST, count=3)
    for _, path in paths[:-1]:
        nightly_report([path], history=history)
    with sqlite3.connect(history) as db:  # same format name, bytes another build cannot load
        db.execute("UPDATE days SET state = ? WHERE day = ?",
                   (b"\x78\x01garbage", paths[0][0].isoformat()))
    db.close()
    report = nightly_report([paths[-1][1]], history=history)
    assert any(f"mergeable state of {paths[0][0]} cannot be read" in n for n in report.notes)
    assert report.exit_status == 3  # the findings still come, from the plain columns


def test_propose_writes_the_migrations_of_the_nights_advice(tmp_path: Path) -> None:
    log = tmp_path / "day.log"
    log.write_text(day_log(FIRST))
    report = nightly_report([log], history=tmp_path / "h.sqlite", schemas=[SCHEMA],
                            propose=tmp_path / "proposal")
    ups = sorted(p.name for p in (tmp_path / "proposal").glob("*.up.sql"))
    assert len(ups) == len(report.advice) > 0
    assert len(list((tmp_path / "proposal").glob("test_*.py"))) == len(ups)
    assert f"proposal: {len(ups)} step(s) written to" in " ".join(report.notes)
    result = CliRunner().invoke(main, ["report", "nightly", str(log), "--history",
                                       str(tmp_path / "h.sqlite"), "--propose",
                                       str(tmp_path / "other")])
    assert result.exit_code == 2 and "give --schema" in result.stderr
    assert not (tmp_path / "other").exists()
