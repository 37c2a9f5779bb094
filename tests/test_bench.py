"""dbtune.bench without a server: targets, bootstrap intervals, tie-breaking, workloads."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from dbtune.bench.equivalence import Outcome, compare, is_repeatable, tie_broken
from dbtune.bench.rounds import phase_order
from dbtune.bench.stats import bootstrap_ratio, summary
from dbtune.bench.verdict import Target, TargetError, evaluate, parse_targets
from dbtune.bench.workloads import slowlog_workload, spec_workload, sql_file_workload
from dbtune.model import InputError
from dbtune.workload.spec import marketplace_spec

CAPTURED = "fixtures/slowlogs/mariadb-10.11-captured.log"


@pytest.mark.parametrize(("text", "expected"), [
    ("mean<30ms", [Target("mean", "<", 30.0, False)]),
    ("p95<=200ms", [Target("p95", "<=", 200.0, False)]),
    ("P99 < 0.5s", [Target("p99", "<", 500.0, False)]),
    ("p50<750us", [Target("p50", "<", 0.75, False)]),
    ("mean<=0.5x", [Target("mean", "<=", 0.5, True)]),
    ("mean<30ms, p95<=.8x", [Target("mean", "<", 30.0, False), Target("p95", "<=", 0.8, True)]),
])
def test_targets_parse(text, expected):
    assert parse_targets(text) == expected


@pytest.mark.parametrize("text", ["mean>30ms", "avg<30ms", "mean<30", "mean<30 minutes", "",
                                  "mean<30ms,", "p90<1s"])
def test_bad_targets_name_the_part(text):
    with pytest.raises(TargetError, match="expected STAT<VALUE"):
        parse_targets(text)


def test_targets_evaluate_absolute_and_relative():
    before = {"mean_ms": 41.0, "p95_ms": 200.0}
    after = {"mean_ms": 30.0, "p95_ms": 100.0}
    rows = evaluate(parse_targets("mean<30ms,mean<=30ms,p95<=0.5x,p95<0.5x"), before, after)
    assert [r["met"] for r in rows] == [False, True, True, False]
    assert rows[2]["observed"] == pytest.approx(0.5)


def test_bootstrap_interval_covers_the_true_ratio_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    covered = 0
    for trial in range(60):
        ratio = bootstrap_ratio(rng.exponential(10, 200), rng.exponential(5, 200), "mean",
                                resamples=300, seed=trial)
        assert ratio.low < ratio.ratio < ratio.high
        covered += ratio.low < 0.5 < ratio.high
    assert 51 <= covered <= 60  # 95% nominal; binomial(60, 0.95) is >= 52 in 97% of runs


def test_bootstrap_interval_shrinks_with_n_and_spans_one_when_nothing_changed():
    rng = np.random.default_rng(4)
    small = bootstrap_ratio(rng.exponential(10, 300), rng.exponential(5, 300), "mean")
    large = bootstrap_ratio(rng.exponential(10, 20000), rng.exponential(5, 20000), "mean")
    assert large.high - large.low < (small.high - small.low) / 4
    assert large.low < 0.5 < large.high
    same = bootstrap_ratio(rng.exponential(10, 5000), rng.exponential(10, 5000), "p95")
    assert same.low < 1.0 < same.high


def test_bootstrap_is_seeded_and_empty_is_nan():
    a, b = np.arange(1, 500.0), np.arange(2, 600.0)
    assert bootstrap_ratio(a, b, "p99", seed=1) == bootstrap_ratio(a, b, "p99", seed=1)
    assert np.isnan(bootstrap_ratio([], b).ratio)
    assert summary([]) == {"count": 0, "mean_ms": pytest.approx(np.nan, nan_ok=True),
                           "p50_ms": pytest.approx(np.nan, nan_ok=True),
                           "p95_ms": pytest.approx(np.nan, nan_ok=True),
                           "p99_ms": pytest.approx(np.nan, nan_ok=True)}


def test_phase_order():
    assert phase_order(2, interleave=True) == ["before", "after", "before", "after"]
    assert phase_order(2, interleave=False) == ["before", "before", "after", "after"]


def test_tie_broken_only_for_limit_selects():
    assert tie_broken("SELECT a, b FROM t ORDER BY a DESC LIMIT 5", 2) == (
        "SELECT a, b FROM t ORDER BY a DESC, 1, 2 LIMIT 5")
    assert tie_broken("SELECT * FROM t LIMIT 5", 3) == "SELECT * FROM t ORDER BY 1, 2, 3 LIMIT 5"
    assert tie_broken("SELECT a FROM t ORDER BY a", 1) is None
    assert tie_broken("UPDATE t SET a = 1 LIMIT 5", 0) is None


def test_compare_lists_each_changed_class_once_with_an_example():
    checks = [("c1", "SELECT 1"), ("c1", "SELECT 2"), ("c2", "SELECT 3")]
    same = Outcome(1, "x")
    result = compare(checks, [same, same, same], [same, Outcome(0, "y"), same], {"c1": "one"})
    assert not result.ok and result.classes == 2 and result.statements == 3
    (difference,) = result.differences
    assert (difference.name, difference.label, difference.differing) == ("c1", "one", 1)
    assert difference.example_sql == "SELECT 2"


def test_spec_workload_checks_are_deterministic_reads():
    workload = spec_workload(marketplace_spec(0.02))
    checks = workload.check_statements(3, seed=5)
    assert checks == workload.check_statements(3, seed=5)
    kinds = marketplace_spec(0.02).kinds
    assert {kinds[name] for name, _ in checks} == {"read"}
    per_class = {name: sum(1 for n, _ in checks if n == name) for name, _ in checks}
    assert max(per_class.values()) == 3
    assert len(per_class) == sum(1 for k in kinds.values() if k == "read")


def test_slowlog_workload_keeps_reads_and_dml_of_the_main_database():
    workload = slowlog_workload(CAPTURED)
    assert workload.database == "shop"
    assert workload.skipped == {"not a read or DML statement": 3}  # CREATE DATABASE/TABLE
    sqls = [sql for _, sql in workload.items]
    assert any(s.startswith("UPDATE products") for s in sqls)
    assert not any(s.upper().startswith("CREATE") for s in sqls)
    name, sql = next(iter(workload.items))
    assert workload.labels[name] == "select database()"


def test_sql_file_workload(tmp_path):
    path = tmp_path / "w.sql"
    path.write_text("SELECT 1;\n-- a comment; with a semicolon\nSET @a = 1;\n"
                    "SELECT 'x;y';\nselect  1 ;\n", encoding="utf-8")
    workload = sql_file_workload(path)
    assert [sql for _, sql in workload.items] == ["SELECT 1", "SELECT 'x;y'", "select  1"]
    assert workload.items[0][0] == workload.items[2][0]  # one class
    assert workload.skipped == {"not a read or DML statement": 1}
    (tmp_path / "empty.sql").write_text("SET @a = 1;", encoding="utf-8")
    with pytest.raises(InputError, match="empty.sql: no replayable statement"):
        sql_file_workload(tmp_path / "empty.sql")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_on_a_terminal(monkeypatch):
    from dbtune.bench.rounds import Replay
    from dbtune.cli.bench import _progress

    for stream, shown in ((io.StringIO(), False), (_Terminal(), True)):
        monkeypatch.setattr(sys, "stderr", stream)
        with _progress(Replay(count=500), rounds=2) as progress:
            progress.rows("audit_log", 1500)
            for done in range(1, 2001):
                progress.statements(done)
        assert ("load audit_log" in stream.getvalue()) is shown
        assert ("bench: " in stream.getvalue()) is shown
        if shown:
            assert "2000/2000" in stream.getvalue() and "1.50k rows" in stream.getvalue()


def test_volatile_statements_are_not_checked(tmp_path):
    assert not is_repeatable("SELECT * FROM t WHERE created_at > NOW() - INTERVAL 1 DAY")
    assert not is_repeatable("select id from t order by rand ( ) limit 3")
    assert is_repeatable("SELECT now_playing, random_id FROM t WHERE uuid = 'x'")
    assert not is_repeatable("SELECT COUNT_STAR FROM performance_schema.table_io_waits_summary"
                             "_by_index_usage")
    assert not is_repeatable("select table_rows from `information_schema`.`TABLES`")
    assert not is_repeatable("SHOW GLOBAL STATUS LIKE 'Uptime'")
    assert is_repeatable("SELECT show_id FROM performance_schemas WHERE info = 1")
    path = tmp_path / "w.sql"
    path.write_text("SELECT a FROM t WHERE b = 1;\nSELECT a FROM t WHERE b > NOW();\n"
                    "SELECT SLEEP(1);\n", encoding="utf-8")
    workload = sql_file_workload(path)
    assert len(workload.items) == 3
    assert [sql for _, sql in workload.check_statements(5, 0)] == ["SELECT a FROM t WHERE b = 1"]


def test_server_time_joins_digests_to_classes_by_fingerprint() -> None:
    from dbtune.bench.rounds import server_time_by_class

    samples = {"page": "SELECT id, val FROM items WHERE grp = 7",
               "count": "select count(*) from items",
               "twin_a": "SELECT * FROM t WHERE a = 1", "twin_b": "SELECT * FROM t WHERE a = 2"}
    digests = [(10, 0.5, "SELECT `id` , `val` FROM `items` WHERE `grp` = ?"),
               (4, 0.25, "SELECT `id` , `val` FROM `items` WHERE `grp` = ?"),  # another digest
               (3, 0.03, "SELECT COUNT ( * ) FROM `items`"),
               (2, 0.01, "SELECT * FROM `t` WHERE `a` = ?"),  # two classes: nobody's
               (1, 0.01, "SET `autocommit` = ?")]  # no class
    assert server_time_by_class(samples, digests) == {"page": (14, 0.75), "count": (3, 0.03)}
