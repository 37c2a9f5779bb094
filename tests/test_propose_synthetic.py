"""Synthetic rows for a DDL-only proposal: counts, uniqueness and NDV as the catalog says."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbtune.catalog import Catalog
from dbtune.migrate.checks import load_script
from dbtune.migrate.propose import synthetic_tables
from dbtune.migrate.synthetic import fill

pytestmark = pytest.mark.server
SCHEMA = Path(__file__).resolve().parents[1] / "fixtures/schemas/marketplace.sql"


def test_fill_follows_counts_uniqueness_and_ndv(dbtune_server, dbtune_database) -> None:
    with dbtune_server.connect(dbtune_database) as connection:
        load_script(connection, SCHEMA)
        counts = fill(connection, dbtune_database,
                      {"users": {"rows": 300, "ndv": {"country": 7}},
                       "listings": {"rows": 200}}, default_rows=50)
        assert counts == {"audit_log": 50, "listings": 200, "sessions": 50, "users": 300}
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*), COUNT(DISTINCT email), COUNT(DISTINCT country) "
                           "FROM users")
            rows, emails, countries = cursor.fetchone()
            assert rows == 300 and emails == 300 and 1 < countries <= 7
            cursor.execute("SELECT COUNT(*), COUNT(DISTINCT channel) FROM listings")
            assert cursor.fetchone() == (200, 3)
            cursor.execute("SELECT COUNT(*) FROM audit_log PARTITION (p2025, p2026, pmax)")
            assert cursor.fetchone()[0] == 50
        again = fill(connection, dbtune_database, {}, default_rows=10)
        assert again["users"] == 0  # INSERT IGNORE: the same keys again are skipped


def test_synthetic_tables_scale_ndv_to_the_rows_generated() -> None:
    catalog = Catalog.from_ddl("CREATE TABLE t (id INT PRIMARY KEY, s INT)")
    table = catalog.table("t")
    table.rows, table.columns["s"].ndv = 100_000, 5_000
    assert synthetic_tables(catalog, max_rows=1000) == {"t": {"rows": 1000, "ndv": {"s": 50}}}
    table.rows = None
    assert synthetic_tables(catalog, max_rows=1000)["t"]["rows"] == 1000
