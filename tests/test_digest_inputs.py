"""Many inputs as a DBA passes them: one bad input is named with its reason, the rest is
digested (summary["inputs_failed"]); nothing readable is an InputError."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from dbtune.digest import digest_slowlog
from dbtune.ingest import slowlog_source
from dbtune.model import InputError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "slowlogs"
GOOD = ["mysql-8.0-log-slow-extra.log", "percona-8.0-full.log"]


def _comparable(digest) -> tuple:
    summary = {k: v for k, v in digest.summary.items() if k not in ("files", "inputs_failed")}
    return summary, [c.to_dict() for c in digest.classes]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """A directory of rotated logs: two good ones (one gzipped), and five bad inputs."""
    (tmp_path / "slow.log").write_bytes((FIXTURES / GOOD[0]).read_bytes())
    packed = gzip.compress((FIXTURES / GOOD[1]).read_bytes())
    (tmp_path / "slow.log.1.gz").write_bytes(packed)
    (tmp_path / "slow.log.2.gz").write_bytes(packed[: len(packed) // 2])  # still being written
    (tmp_path / "slow.log.3.gz").write_bytes(b"")
    (tmp_path / "slow.log.4.gz").write_bytes(packed[:10] + b"\xff" * 40 + packed[50:])
    (tmp_path / "README").write_text("Rotated slow logs of db-1.\nOldest last.\n")
    return tmp_path


REASONS = {
    "README": "not a slow log",
    "slow.log.2.gz": "cannot read",
    "slow.log.3.gz": "cannot read (not gzip data: empty file)",
    "slow.log.4.gz": "cannot read",
}


@pytest.mark.parametrize("jobs", [1, 2])
def test_bad_inputs_are_named_and_the_good_ones_digested(logs: Path, jobs: int,
                                                         monkeypatch) -> None:
    monkeypatch.setattr(slowlog_source, "MIN_PARALLEL_BYTES", 0)  # ranges even when small
    digest = digest_slowlog([str(logs / "*"), str(logs / "missing.log")], jobs=jobs)
    failed = digest.summary["inputs_failed"]
    assert failed[0] == {"path": str(logs / "missing.log"), "reason": "no such file"}
    by_name = {Path(f["path"]).name: f["reason"] for f in failed[1:]}
    assert sorted(by_name) == sorted(REASONS)
    for name, reason in REASONS.items():
        assert by_name[name].startswith(reason), (name, by_name[name])
    assert digest.summary["files"] == [str(logs / "slow.log"), str(logs / "slow.log.1.gz")]
    alone = digest_slowlog([logs / "slow.log", logs / "slow.log.1.gz"])
    assert alone.summary["inputs_failed"] == []
    assert _comparable(digest) == _comparable(alone)


def test_nothing_readable_is_an_input_error(logs: Path) -> None:
    with pytest.raises(InputError, match=r"^no readable slow log: .*README: not a slow log"):
        digest_slowlog([logs / "README", logs / "slow.log.3.gz"])
    with pytest.raises(InputError, match=r"slow.log.2.gz: cannot read"):
        digest_slowlog(logs / "slow.log.2.gz")  # one input: its own message, as before
    with pytest.raises(InputError, match="no slow log given"):
        digest_slowlog([])
