"""benchmarks/estimate_rank.py: estimated against measured what-if ratios, ranked per class
and per table (counts and ranges are checked, never timings)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pandas as pd
import pytest
import test_advise_measure
from test_advise_indexes import Klass

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"
_SPEC = importlib.util.spec_from_file_location("estimate_rank", BENCHMARKS / "estimate_rank.py")
rank = importlib.util.module_from_spec(_SPEC)
sys.modules["estimate_rank"] = rank
_SPEC.loader.exec_module(rank)

#: table s (20,000 sessions) and its live catalog
sessions = test_advise_measure.sessions


def test_compare_ranks_per_class_and_per_table() -> None:
    rows = [("t", "a", "x", 0.5, 0.1, 0.05), ("t", "a", "y", 0.5, 0.5, 0.4),
            ("t", "a", "z", 0.5, 0.9, 0.95),
            ("t", "b", "x", 0.3, 0.2, 0.9), ("t", "b", "y", 0.3, 0.6, 0.1),
            ("u", "c", "w", 0.2, 0.5, 1.0)]
    frame = pd.DataFrame([dict(zip(["table", "class", "candidate", "weight", "estimated",
                                    "measured"], r, strict=True)) for r in rows])
    per_class, per_table, summary = rank.compare(frame)
    assert per_class.set_index("class")["rho"].to_dict()["a"] == 1.0
    assert per_class.set_index("class")["rho"].to_dict()["b"] == -1.0
    assert math.isnan(per_class.set_index("class")["rho"]["c"])  # one candidate
    assert per_class.set_index("class")["agrees"].to_dict() == {"a": True, "b": False,
                                                               "c": None}
    assert per_table.set_index("table")["candidates"].to_dict() == {"t": 3, "u": 1}
    assert summary["classes"] == 3 and summary["classes_ranked"] == 2
    assert summary["classes_judged"] == 2 and summary["class_best_agrees"] == 0.5


@pytest.mark.server
def test_two_classes_measured_on_a_sandbox(dbtune_server, dbtune_database, sessions) -> None:
    catalog = sessions
    classes = [Klass("user", "SELECT id, expires_at FROM s WHERE user_id = 77", 0.5,
                     sample_db=dbtune_database),
               Klass("expiry", "SELECT id, token FROM s WHERE user_id = 5 AND expires_at > "
                     "'2026-01-08' ORDER BY expires_at LIMIT 10", 0.5,
                     sample_db=dbtune_database)]
    run, wanted = rank.measured_run(classes, catalog, dbtune_server)
    frame = rank.pairs(run)
    assert rank.coverage(frame, wanted)["unmeasured"] == 0
    candidates = frame["candidate"].nunique()
    assert candidates >= 2 and set(frame["class"]) == {"user", "expiry"}
    assert len(frame) == 2 * candidates  # every candidate measured with both classes
    assert frame[["estimated", "measured"]].stack().between(0.0, 1.0).all()
    per_class, per_table, summary = rank.compare(frame)
    assert len(per_class) == 2 and (per_class["candidates"] == candidates).all()
    assert per_class["rho"].dropna().between(-1.0, 1.0).all()
    assert len(per_table) == 1 and per_table.at[0, "candidates"] == candidates
    assert summary["pairs"] == len(frame) and summary["classes"] == 2
    assert 0.0 <= summary["class_best_agrees"] <= 1.0 or summary["classes_judged"] == 0
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.statistics WHERE "
                       "table_schema = %s AND index_name <> 'PRIMARY'", (dbtune_database,))
        assert cursor.fetchone()[0] == 0  # the what-if left the schema as it was


def test_coverage_counts_what_was_not_measured() -> None:
    frame = pd.DataFrame([{"table": "t", "class": "a", "candidate": "x"},
                          {"table": "t", "class": "b", "candidate": "x"}])
    wanted = {("t", "a", "x"), ("t", "b", "x"), ("t", "b", "y"), ("u", "a", "z"),
              ("u", "b", "z")}
    assert rank.coverage(frame, wanted) == {"expected": 5, "unmeasured": 3,
                                            "table_skipped": 2, "pair_skipped": 1}


@pytest.mark.server
@pytest.mark.slow
def test_tiny_tpch_captured_labelled_and_measured(dbtune_server, tmp_path) -> None:
    """The TPC-H path at SF 0.002 (about 12,000 lineitems): loaded by
    advice_quality_workloads.py, captured, every class named by its query number, and the
    what-if of two of its queries (Q3: three tables joined with date ranges; Q17: a
    correlated subquery on lineitem) compared, every expected pair accounted for."""
    pytest.importorskip("duckdb", reason="duckdb is not installed: pip install -e '.[bench]'")
    import advice_quality_workloads as quality

    with dbtune_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT @@GLOBAL.long_query_time")
        long_query_time = cursor.fetchone()[0]
    try:
        classes, catalog, labels = rank.captured(dbtune_server, quality.tpch_workload(0.002),
                                                 tmp_path)
        assert sorted(labels.values(), key=lambda n: int(n[1:])) == [
            f"Q{n}" for n in range(1, 23)]
        named = {labels[c.id]: c for c in classes if c.id in labels}
        run, wanted = rank.measured_run([named["Q3"], named["Q17"]], catalog, dbtune_server)
        frame = rank.pairs(run)
    finally:
        with dbtune_server.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"SET GLOBAL long_query_time = {long_query_time}")
            cursor.execute("DROP DATABASE IF EXISTS tpch")
    shape = rank.shapes(run)
    q3, q17 = named["Q3"].id, named["Q17"].id
    assert shape["tpch.lineitem", q3] == "3 tables; eq l_orderkey; range l_shipdate"
    assert shape["tpch.lineitem", q17] == "2 tables; eq l_partkey; range l_quantity"
    assert shape["tpch.customer", q3] == "3 tables; eq c_mktsegment"
    got = set(zip(frame["table"], frame["class"], frame["candidate"], strict=True))
    assert got <= wanted and {t for t, _, _ in got} >= {"tpch.lineitem"}
    assert {c for t, c, _ in got if t == "tpch.lineitem"} == {q3, q17}
    covered = rank.coverage(frame, wanted)
    assert covered["expected"] == len(frame) + covered["unmeasured"]
    per_class, _, summary = rank.compare(frame)
    assert summary["pairs"] == len(frame) and set(per_class["class"]) <= {q3, q17}
