"""dbtune's digest against pt-query-digest on every fixture: same classes, counts, time."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dbtune.digest import digest_slowlog

FIXTURES = Path(__file__).parent.parent / "fixtures" / "slowlogs"
PT = shutil.which("pt-query-digest")

# Fixtures where pt-query-digest's reading differs on purpose, and why.
DIFFERENT = {
    # pt splits entries on ";\n#" only, so with CRLF line ends the whole file is one entry.
    "mysql-5.7.22-crlf.log",
    # pt keeps garbled entries: the truncated first header merges into the next entry,
    # and "Query_time: abc" is counted; dbtune skips both with a file:line warning.
    "garbled.log",
    # pt glues a banner without a path ("mariadbd, Version: ...", as Docker images write
    # it) onto the statement before it: its banner pattern wants "/" or A-Z, then mysqld.
    "mariadb-11.4-docker-banner.log",
    # pt counts the headerless "# administrator command: Quit;" at the top in its class
    # (query_count 2) but not in its global query_count; dbtune counts it in both (see
    # test_headerless_admin_command_counts_like_pt).
    "mysql-5.7-quit-at-start.log",
}
CASES = sorted(p.name for p in FIXTURES.glob("*.log") if p.name not in DIFFERENT)


def _pt(path: Path) -> dict:
    out = subprocess.run(
        [PT, "--output", "json", "--limit", "100%:100000", str(path)],
        capture_output=True, check=True, timeout=300,
    ).stdout
    return json.loads(out) if out.strip() else {"classes": [], "global": {"query_count": 0}}


@pytest.mark.skipif(PT is None, reason="pt-query-digest (percona-toolkit) is not installed")
@pytest.mark.parametrize("name", CASES)
def test_same_classes_counts_and_query_time(name: str) -> None:
    path = FIXTURES / name
    pt = _pt(path)
    ours = digest_slowlog(path)
    assert ours.summary["events"] == pt["global"]["query_count"]
    theirs = {c["checksum"]: c for c in pt["classes"]}
    mine = {c.id: c for c in ours.classes}
    assert {k: c.count for k, c in mine.items()} == {
        k: c["query_count"] for k, c in theirs.items()}
    for key, c in mine.items():
        expected = float(theirs[key]["metrics"]["Query_time"]["sum"])
        assert c.metrics["query_time"]["sum"] == pytest.approx(expected, rel=1e-3, abs=1e-6)
        if c.count < 10:  # pt's 95% of fewer than 10 values is their max, as our nearest rank
            pct_95 = float(theirs[key]["metrics"]["Query_time"]["pct_95"])
            # pt's buckets are 5% wide, ours 1%
            assert c.metrics["query_time"]["p95"] == pytest.approx(pct_95, rel=0.06, abs=2e-6)


@pytest.mark.skipif(PT is None, reason="pt-query-digest (percona-toolkit) is not installed")
def test_crlf_fixture_really_differs_for_pt() -> None:
    assert _pt(FIXTURES / "mysql-5.7.22-crlf.log")["global"]["query_count"] == 1
    assert digest_slowlog(FIXTURES / "mysql-5.7.22-crlf.log").summary["events"] == 4


@pytest.mark.skipif(PT is None, reason="pt-query-digest (percona-toolkit) is not installed")
def test_headerless_admin_command_counts_like_pt() -> None:
    """A rotated log's first line, a bare admin command: in its class, untimed, as pt."""
    path = FIXTURES / "mysql-5.7-quit-at-start.log"
    pt = _pt(path)
    ours = digest_slowlog(path)
    theirs = {c["checksum"]: c for c in pt["classes"]}
    assert {c.id: c.count for c in ours.classes} == {
        k: c["query_count"] for k, c in theirs.items()}
    for c in ours.classes:
        timed = theirs[c.id]["metrics"]["Query_time"]
        assert c.metrics["query_time"]["sum"] == pytest.approx(float(timed["sum"]))
        assert c.metrics["query_time"]["min"] == pytest.approx(float(timed["min"]))
    # pt's global count leaves the untimed entry out; dbtune's events are its classes' sum
    assert ours.summary["events"] == sum(c.count for c in ours.classes)
    assert ours.summary["skipped"] == 0
