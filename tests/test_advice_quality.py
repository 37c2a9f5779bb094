"""benchmarks/advice_quality.py on a tiny sysbench (a few hundred rows, a few events): the
three phases run round-robin, every class is counted alike in each, and the summary holds
the ratios and index counts (counts are checked, never timings)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
_SPEC = importlib.util.spec_from_file_location("advice_quality",
                                               BENCHMARKS / "advice_quality.py")
quality = importlib.util.module_from_spec(_SPEC)
sys.modules["advice_quality"] = quality  # its dataclasses look their module up
_SPEC.loader.exec_module(quality)
workloads = sys.modules["advice_quality_workloads"]

pytestmark = [pytest.mark.server, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("sysbench") is None,
                                 reason="sysbench is not installed")]


def test_expert_files_parse() -> None:
    assert workloads.expert_set(workloads.HERE / "sysbench_expert.sql") == [
        "CREATE INDEX k_1 ON sbtest1 (k)"]
    assert len(workloads.expert_set(workloads.HERE / "tpch_expert.sql")) == 11
    assert len(workloads.expert_set(workloads.HERE / "tpcds_expert.sql")) == 39


def test_adaptations_apply() -> None:
    q13 = ("SELECT c_count FROM (SELECT c_custkey, count(o_orderkey) FROM customer GROUP BY "
           "c_custkey) AS c_orders (c_custkey, c_count)")
    assert workloads.adapt(13, q13, workloads.TPCH_ADAPTATIONS) == (
        "SELECT c_count FROM (SELECT c_custkey, count(o_orderkey) AS c_count FROM customer "
        "GROUP BY c_custkey) AS c_orders")
    with pytest.raises(RuntimeError, match="did not match"):
        workloads.adapt(13, "SELECT 1", workloads.TPCH_ADAPTATIONS)
    assert workloads.adapt(3, "SELECT SUM (x) FROM t ORDER BY x NULLS FIRST",
                           workloads.TPCDS_ADAPTATIONS) == "SELECT SUM(x) FROM t ORDER BY x"


def test_tiny_sysbench_three_phases(dbtune_server) -> None:
    workload = workloads.sysbench_workload(events=10)
    messages: list[str] = []
    try:
        result = quality.run_quality(dbtune_server, workload, rounds=2, scale=0.003,
                                     say=messages.append)
    finally:
        with dbtune_server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS sbtest")
    assert [(r.phase, r.round) for r in result.runs] == [
        ("bare", 0), ("expert", 0), ("dbtune", 0), ("expert", 1), ("dbtune", 1), ("bare", 1)]
    # every phase replays the same captured statements: the same executions per class
    counts = {r.phase: {c: v[0] for c, v in r.classes.items()} for r in result.runs}
    assert counts["bare"] == counts["expert"] == counts["dbtune"]
    assert sum(counts["bare"].values()) == result.statements
    assert all(v[2] == 0 for r in result.runs for v in r.classes.values())  # no errors
    # oltp_read_write's writes (UPDATE x2, DELETE, INSERT) and the k reads are classes
    assert len(result.writes) == 4
    kinds = [row["kind"] for row in result.class_rows()]
    assert kinds.count("write") == 4 and kinds.count("read") >= 7
    summary = result.summary()
    assert summary["expert_idx"] == 1 and summary["rounds"] == 2
    assert summary["dbtune/expert"] == round(result.ratio(), 2) > 0
    assert summary["writes_s b/e/d"].count("/") == 2
    assert len(result.paired()) == 2 and summary["paired (range)"].count("-") == 1
    assert result.indexes["expert"] == ["CREATE INDEX k_1 ON sbtest1 (k)"]
    assert result.index_bytes["bare"] == 0 < result.index_bytes["expert"]
    assert any("captured" in m for m in messages)
