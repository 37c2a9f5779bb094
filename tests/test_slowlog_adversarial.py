"""The reader on hostile input shapes (benchmarks/slowlog_adversarial.py), small: every
line is accounted for, and what is not a slow log is said so from its first part."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from dbtune.ingest.slowlog import read_events
from dbtune.ingest.slowlog_input import SNIFF_BYTES
from dbtune.model import InputError

_SPEC = importlib.util.spec_from_file_location(
    "slowlog_adversarial", Path(__file__).parent.parent / "benchmarks" / "slowlog_adversarial.py")
adversarial = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(adversarial)

SIZE = 200_000
# shape -> (events, skipped entries) at SIZE bytes
EXPECTED = {
    "no_semicolon": (1, 0),  # as pt-query-digest: one entry, whose statement runs on
    "one_statement": (1, 0),
    "long_line": (0, 1),
    "binary": (0, 1),
    "only_headers": (0, 1243),  # each (partial) header a skipped entry
    "only_set_timestamp": (0, 1),
    "late_slowlog": (443, 2),  # the error-log lines, and the last entry cut short
}


def test_every_shape_is_listed() -> None:
    assert sorted(adversarial.SHAPES) == sorted(EXPECTED)


@pytest.mark.parametrize("shape", sorted(EXPECTED))
def test_every_line_is_accounted_for(shape: str) -> None:
    data = adversarial.SHAPES[shape](SIZE)
    assert len(data) == SIZE
    stats = adversarial.scan(data)
    assert stats.bytes_read == SIZE
    assert stats.lines == data.count(b"\n") + (not data.endswith(b"\n"))
    assert (stats.events, stats.skipped) == EXPECTED[shape]


@pytest.mark.parametrize("shape", ["long_line", "binary", "only_set_timestamp", "late_slowlog"])
def test_not_a_slow_log_is_said_from_the_first_part(shape: str, tmp_path: Path) -> None:
    log = tmp_path / "input.log"
    log.write_bytes(adversarial.SHAPES[shape](4 * SNIFF_BYTES))
    with pytest.raises(InputError, match=rf"input.log: not a slow log \(.*first {SNIFF_BYTES} "):
        next(read_events(log))


def test_only_headers_is_not_a_slow_log(tmp_path: Path) -> None:
    log = tmp_path / "input.log"
    log.write_bytes(adversarial.SHAPES["only_headers"](SIZE))
    with pytest.raises(InputError, match=r"input.log: not a slow log \(no '# Query_time:' entry"):
        list(read_events(log))
