"""The CLI's saved digests: analyze slowlog --save."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbtune.cli import main
from dbtune.digest import load_digest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "slowlogs"
PERCONA = str(FIXTURES / "percona-ubuntu-5.7.19.log")


def test_save_writes_a_digest_that_loads_with_the_reported_classes(tmp_path: Path) -> None:
    saved = tmp_path / "d.parquet"
    result = CliRunner().invoke(main, ["analyze", "slowlog", PERCONA, "--save", str(saved),
                                       "--format", "json", "--top", "0"])
    assert result.exit_code == 0, result.output
    reported = {c["id"]: c["count"] for c in json.loads(result.stdout)["classes"]}
    loaded = {c.id: c.count for c in load_digest(saved).classes}
    assert reported and loaded == reported


EXAMPLE = str(FIXTURES / "example-marketplace.log")


def _events(*args: str) -> int:
    result = CliRunner().invoke(main, ["analyze", "slowlog", EXAMPLE, *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["summary"]["events"]


def test_repeated_host_keeps_both_hosts() -> None:
    one, three = _events("--host", "web-1"), _events("--host", "web-3")
    assert one > 0 and three > 0
    assert _events("--host", "web-1", "--host", "web-3") == one + three


def test_label_names_the_server_in_the_saved_digest(tmp_path: Path) -> None:
    saved = tmp_path / "d.parquet"
    result = CliRunner().invoke(main, ["analyze", "slowlog", PERCONA, "--label", "db-1",
                                       "--save", str(saved), "--format", "json"])
    assert result.exit_code == 0, result.output
    classes = load_digest(saved).classes
    assert classes and all(c.labels == {"db-1": c.count} for c in classes)


def _classes(*args: str) -> dict[str, tuple]:
    result = CliRunner().invoke(main, ["analyze", *args, "--format", "json", "--top", "0"])
    assert result.exit_code == 0, result.output
    return {c["id"]: (c["count"], c["query_time"]["sum"], c["rows_examined"]["sum"])
            for c in json.loads(result.stdout)["classes"]}


def test_analyze_digest_of_two_saved_logs_equals_slowlog_of_both(tmp_path: Path) -> None:
    a, b = str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")
    _classes("slowlog", EXAMPLE, "--save", a)
    _classes("slowlog", PERCONA, "--save", b)
    merged = _classes("digest", a, b)
    assert len(merged) > len(_classes("digest", a))
    together = _classes("slowlog", EXAMPLE, PERCONA)
    assert merged.keys() == together.keys()
    for key, (count, time, rows) in together.items():
        assert merged[key][0] == count and merged[key][2] == rows
        assert merged[key][1] == pytest.approx(time)


def test_a_file_that_is_not_a_saved_digest_is_one_line_and_status_2() -> None:
    result = CliRunner().invoke(main, ["analyze", "digest", PERCONA])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "not a saved digest" in result.stderr


def test_digest_merge_saves_what_analyze_digest_of_its_parts_reports(tmp_path: Path) -> None:
    a, b, c = (str(tmp_path / f"{n}.parquet") for n in "abc")
    _classes("slowlog", EXAMPLE, "--save", a)
    _classes("slowlog", PERCONA, "--save", b)
    result = CliRunner().invoke(main, ["digest", "merge", a, b, "--save", c])
    assert result.exit_code == 0, result.output
    assert _classes("digest", c) == _classes("digest", a, b)
    bad = CliRunner().invoke(main, ["digest", "merge", a, PERCONA, "--save", c])
    assert bad.exit_code == 2 and "not a saved digest" in bad.stderr


def test_dask_local_gives_the_same_json() -> None:
    def report(*args: str) -> dict:
        result = CliRunner().invoke(main, ["analyze", "slowlog", EXAMPLE, *args,
                                           "--format", "json", "--top", "0"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert report("--dask", "local") == report()
