"""The marketplace generator, workload spec and result maths, without a server."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from dbtune.fingerprint import fingerprint
from dbtune.parsing import parse_statement
from dbtune.workload import model as m
from dbtune.workload.marketplace import TABLES, generate, schema_statements
from dbtune.workload.runner import WorkloadResult, is_write
from dbtune.workload.spec import Draw, Template, WorkloadSpec, marketplace_spec


def tables_of(scale: float, seed: int) -> dict[str, pd.DataFrame]:
    chunks: dict[str, list[pd.DataFrame]] = {}
    for table, frame in generate(scale, seed):
        chunks.setdefault(table, []).append(frame)
    return {table: pd.concat(frames, ignore_index=True) for table, frames in chunks.items()}


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    return tables_of(0.05, 42)


def test_schema_is_primary_keys_only():
    statements = schema_statements()
    assert [re.search(r"CREATE TABLE (\w+)", s).group(1) for s in statements] == list(TABLES)
    for statement in statements:
        assert statement.count("PRIMARY KEY") == 1
        assert not re.search(r"\b(UNIQUE|INDEX|FOREIGN)\b|^\s*KEY\b", statement, re.M)
        assert "ENGINE=InnoDB" in statement and "utf8mb4" in statement


def test_generator_is_deterministic_and_seeded(small):
    again = tables_of(0.05, 42)
    other = tables_of(0.05, 7)
    for table in TABLES:
        pd.testing.assert_frame_equal(small[table], again[table])
    assert not small["orders"]["customer_id"].equals(other["orders"]["customer_id"])
    # keys depend on the scale only, so a workload finds them whatever the data seed
    assert small["user_sessions"]["token"].equals(other["user_sessions"]["token"])
    assert small["marketplace_listings"]["sku"].equals(other["marketplace_listings"]["sku"])


def test_sizes_follow_the_scale(small):
    sizes = m.Sizes(0.05)
    assert len(small["products"]) == sizes.products
    assert len(small["marketplace_listings"]) == sizes.listings
    assert len(small["audit_log"]) == sizes.audit
    assert len(small["audit_log"]) == max(len(t) for t in small.values())
    for table in TABLES:
        assert small[table]["id"].is_unique and small[table]["id"].min() == 1


def test_data_is_skewed_like_a_marketplace(small):
    sold = Counter(small["order_items"]["product_id"])
    top = sum(count for _, count in sold.most_common(len(small["products"]) // 100))
    assert top / len(small["order_items"]) > 0.15  # 1% of products sell > 15% of items
    listings = small["marketplace_listings"]
    seller_share = listings["seller_id"].value_counts(normalize=True)
    assert seller_share.iloc[:20].sum() > 0.3
    # sync times come in 15-minute bursts: most updates within 2 minutes before a burst
    minute = listings["updated_at"].dt.minute % 15
    assert ((minute >= 13) | (minute == 0)).mean() > 0.6
    # audit_log: four years of append-only history, denser recently
    audit = small["audit_log"]["created_at"]
    assert (audit.max() - audit.min()).days > 3 * 365
    recent = (audit > pd.Timestamp(m.ago(365))).mean()
    assert recent > 0.35
    assert (audit.diff().dt.total_seconds().fillna(0) > -3600).all()  # ordered by id, ~1h


def test_nulls_and_statuses_are_consistent(small):
    jobs = small["listing_sync_jobs"]
    failed = jobs[jobs["status"] == "failed"]
    assert failed["error"].notna().all() and failed["finished_at"].notna().all()
    pending = jobs[jobs["status"] == "pending"]
    assert pending["started_at"].isna().all() and len(pending) > 0
    assert jobs.loc[jobs["status"] == "done", "error"].isna().all()
    sessions = small["user_sessions"]
    assert (sessions["expires_at"] > sessions["created_at"]).all()
    assert (sessions["last_seen"] >= sessions["created_at"]).all()
    assert sessions["token"].str.fullmatch(r"[0-9a-f]{40}").all()


def test_zipf_maps_ranks_to_every_id_once():
    zipf = m.Zipf(1000, 1.1)
    ranks = np.arange(1000)
    ids = (ranks * zipf._stride) % zipf.n + 1
    assert sorted(ids) == list(range(1, 1001))
    sample = zipf.sample(np.random.default_rng(1), 10_000)
    assert sample.min() >= 1 and sample.max() <= 1000
    assert Counter(sample.tolist()).most_common(1)[0][1] > 500


@pytest.fixture(scope="module")
def spec() -> WorkloadSpec:
    return marketplace_spec(1.0)


def test_spec_shape(spec):
    assert 25 <= len(spec.templates) <= 40
    assert sum(t.weight for t in spec.templates) == pytest.approx(100, abs=1)
    kinds = Counter(spec.kinds.values())
    assert kinds["read"] >= 20 and kinds["write"] >= 8
    text = " ".join(t.sql for t in spec.templates)
    for shape in ("GROUP BY", "OFFSET", " IN ", "LIKE", "JOIN", "DELETE", "LIMIT"):
        assert shape in text


def test_statements_are_reproducible_and_weighted(spec):
    first = list(spec.statements(3000, seed=3))
    assert first == list(spec.statements(3000, seed=3))
    assert first != list(spec.statements(3000, seed=4))
    counts = Counter(name for name, _ in first)
    weights = {t.name: t.weight for t in spec.templates}
    total = sum(weights.values())
    for name in ("product_by_id", "session_touch", "session_by_token"):
        assert counts[name] / 3000 == pytest.approx(weights[name] / total, abs=0.02)
    read_only = list(spec.statements(500, seed=3, read_only=True))
    assert len(read_only) == 500
    assert all(spec.kinds[name] == "read" for name, _ in read_only)


def test_every_template_is_one_parseable_class(spec):
    """Each template renders valid MySQL and always lands in a single digest class."""
    fingerprints: dict[str, set[str]] = {}
    for name, sql in spec.statements(6000, seed=5):
        fingerprints.setdefault(name, set()).add(fingerprint(sql))
        assert is_write(sql) == (spec.kinds[name] == "write"), sql
    assert set(fingerprints) == set(spec.kinds)
    for name, prints in fingerprints.items():
        assert len(prints) == 1, (name, prints)
    assert len({next(iter(p)) for p in fingerprints.values()}) == len(fingerprints)
    for template in spec.templates:
        _, sql = next((n, s) for n, s in spec.statements(6000, seed=5) if n == template.name)
        assert parse_statement(sql) is not None, sql


def test_parameters_are_escaped_literals():
    sql = "SELECT * FROM products WHERE title = %(q)s AND id IN %(ids)s"
    hostile = "O'Brien\\'; DROP TABLE products; --"
    template = Template("t", 1, "read", sql, lambda d: {"q": hostile, "ids": (1, 2)})
    draw = Draw(np.random.default_rng(0), m.Distributions(0.01))
    sql = template.render(draw)
    assert sql == ("SELECT * FROM products WHERE title = "
                   "'O\\'Brien\\\\\\'; DROP TABLE products; --' AND id IN (1, 2)")
    assert parse_statement(sql) is not None


def test_workload_keys_exist_in_the_data(small):
    spec = marketplace_spec(0.05)
    tokens = set(small["user_sessions"]["token"])
    skus = set(small["marketplace_listings"]["sku"])
    emails = set(small["customers"]["email"])
    found = Counter()
    for name, sql in spec.statements(3000, seed=9):
        literal = re.findall(r"'([^']*)'", sql)
        if name == "session_by_token":
            found[name] += literal[0] in tokens
        elif name == "listing_by_sku":
            found[name] += literal[1] in skus
        elif name == "customer_by_email":
            found[name] += literal[0] in emails
    assert found["session_by_token"] > 50 and found["listing_by_sku"] > 20
    assert found["customer_by_email"] > 10


@pytest.mark.parametrize(("sql", "write"), [
    ("SELECT 1", False), ("  select * from t", False), ("/* x */ SELECT 1", False),
    ("(SELECT 1) UNION (SELECT 2)", False), ("WITH a AS (SELECT 1) SELECT * FROM a", False),
    ("SHOW TABLES", False), ("EXPLAIN SELECT 1", False),
    ("SELECT * FROM t FOR UPDATE", True), ("SELECT 1 INTO OUTFILE '/tmp/x'", True),
    ("UPDATE t SET a = 1", True), ("DELETE FROM t", True), ("INSERT INTO t VALUES (1)", True),
    ("REPLACE INTO t VALUES (1)", True), ("DROP TABLE t", True), ("SET GLOBAL x = 1", True),
    ("WITH a AS (SELECT 1 AS id) DELETE t FROM t JOIN a USING (id)", True),
    ("with a as (select 1) update t join a set t.x = 1", True),
    ("EXPLAIN ANALYZE DELETE t FROM t JOIN u USING (id)", True),
    ("SELECT updated_at, deleted FROM t", False),
])
def test_is_write(sql, write):
    assert is_write(sql) is write


def test_result_frame_statistics():
    result = WorkloadResult(
        latencies_ms={"a": [1.0, 2.0, 3.0, 4.0], "b": [12.0]},
        errors={"b": 1, "c": 2}, rows={"a": 4, "b": 7}, kinds={"a": "read", "b": "write"},
        elapsed_s=2.0, concurrency=2)
    assert result.statements == 8
    assert result.throughput == 4.0
    assert result.mean_ms == pytest.approx(22 / 5)
    frame = result.to_frame()
    assert list(frame["name"]) == ["b", "a", "c"]
    a = frame.set_index("name").loc["a"]
    assert a["count"] == 4 and a["total_ms"] == 10.0 and a["mean_ms"] == 2.5
    assert a["p50_ms"] == 2.5 and a["max_ms"] == 4.0 and a["share"] == pytest.approx(10 / 22)
    c = frame.set_index("name").loc["c"]
    assert c["count"] == 0 and c["errors"] == 2 and np.isnan(c["mean_ms"])


@pytest.mark.slow
def test_a_wheel_carries_the_fixture_schema(tmp_path):
    """A regular install (not -e) must find schema.sql too: the package's symlink to
    fixtures/marketplace/schema.sql is copied into the wheel as a file."""
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    from dbtune.workload.marketplace import SCHEMA_PATH

    root = Path(__file__).resolve().parents[1]
    assert SCHEMA_PATH.resolve() == root / "fixtures" / "marketplace" / "schema.sql"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("dbtune-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        carried = archive.read("dbtune/workload/marketplace_schema.sql")
    assert carried == SCHEMA_PATH.read_bytes() and b"CREATE TABLE" in carried
