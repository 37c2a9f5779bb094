"""End to end: load the marketplace, replay its workload, digest the server's own slow log.

The digest must see exactly the statements the runner sent (one class per template), and
its costliest classes must be the workload's heaviest templates: the full scans.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dbtune.cli import main
from dbtune.digest import digest_slowlog
from dbtune.fingerprint import fingerprint
from dbtune.workload.marketplace import load_marketplace
from dbtune.workload.model import Distributions
from dbtune.workload.runner import run_workload
from dbtune.workload.spec import Draw, marketplace_spec

pytestmark = [pytest.mark.server, pytest.mark.slow]
SCALE = 0.1
#: templates that scan a whole table on the primary-key-only schema
FULL_SCANS = {
    "session_by_token", "audit_by_entity", "audit_by_time", "orders_by_customer",
    "order_with_items", "pending_sync_jobs", "listing_by_sku", "listing_sync_window",
    "sessions_for_user", "listings_for_product", "listings_sku_in", "sync_jobs_for_listing",
    "listing_stock_by_sku", "seller_listings_page", "top_products_report",
    "orders_status_count", "top_sellers_report", "sync_failures_report", "daily_sales_report",
}


def test_slowlog_digest_of_a_replay_finds_the_heavy_templates(dbtune_server, dbtune_database):
    if dbtune_server.slow_log_path is None:
        pytest.skip("the test server's slow log is not readable here")
    load_marketplace(dbtune_server, dbtune_database, scale=SCALE, seed=42)
    spec = marketplace_spec(SCALE)
    result = run_workload(dbtune_server, spec, database=dbtune_database, count=1500,
                          concurrency=4, seed=8)
    assert not result.errors
    with dbtune_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("FLUSH SLOW LOGS")

    draw = Draw(np.random.default_rng(0), Distributions(SCALE))
    template_of = {fingerprint(t.render(draw)): t.name for t in spec.templates}
    digest = digest_slowlog(dbtune_server.slow_log_path, database=dbtune_database)
    classes = {template_of.get(c.fingerprint, c.fingerprint): c for c in digest.classes}
    measured = result.to_frame().set_index("name")
    # every statement sent is in the log, in its template's class
    for name, row in measured.iterrows():
        assert classes[name].count == row["count"], name
    others = [c for key, c in classes.items() if key not in measured.index]
    assert sum(c.metrics["query_time"]["sum"] for c in others) < 0.01 * sum(
        c.metrics["query_time"]["sum"] for c in digest.classes)

    # server-side time: at this small scale the client-side latencies the runner sees are
    # blurred by the four threads queueing in Python, the slow log is not
    top_logged = [template_of[c.fingerprint] for c in digest.ranked(top=3)]
    assert set(top_logged) <= FULL_SCANS, top_logged
    assert sum(classes[n].share for n in top_logged) > 0.3  # a few classes dominate

    report = CliRunner().invoke(main, ["analyze", "slowlog", dbtune_server.slow_log_path,
                                       "--database", dbtune_database, "--format", "json",
                                       "--top", "3"])
    assert report.exit_code == 0, report.output
    ranked = json.loads(report.stdout)["classes"]
    assert [template_of[c["fingerprint"]] for c in ranked] == top_logged
