"""The marketplace proposal end to end: advice verified on a sandbox, written, and its
generated tests run (by pytest, in a subprocess, against the same disposable server);
deliberately bad migrations fail with the reason."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from dbtune.migrate import fixture_proposal, propose
from dbtune.model import Advice, ClassEffect

pytestmark = [pytest.mark.server, pytest.mark.slow]


def run_pytest(server, directory: Path) -> dict[str, str]:
    """Run the proposal's tests; test id -> "" (passed) or the failure message."""
    report = directory.parent / f"{directory.name}-junit.xml"
    env = {**os.environ, "DBTUNE_TEST_BACKEND": "dsn",
           "DBTUNE_DSN": server.dsn(reveal_password=True)}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={report}", str(directory)], env=env, cwd=directory,
                   capture_output=True, text=True, timeout=600)
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        name = f"{case.get('classname', '').rpartition('.')[2]}::{case.get('name')}"
        outcomes[name] = "" if failure is None else (failure.get("message") or "")
    return outcomes


def test_marketplace_proposal_passes_its_generated_tests(dbtune_server, dbtune_database,
                                                         tmp_path: Path) -> None:
    proposal = fixture_proposal(dbtune_server, tmp_path / "migrations", scale=0.02,
                                database=dbtune_database)
    assert len(proposal.steps) >= 5
    assert all(s.advice.kind == "add_index" and not s.findings for s in proposal.steps)
    assert all(s.advice.basis == "measured" for s in proposal.steps)
    outcomes = run_pytest(dbtune_server, tmp_path / "migrations")
    assert len(outcomes) == 4 * len(proposal.steps)
    assert {k: v for k, v in outcomes.items() if v} == {}


@dataclass
class Class:
    id: str
    sample: str
    tables: tuple[str, ...] = ("orders",)
    share: float = 0.5


def test_bad_migrations_fail_with_the_reason(dbtune_server, tmp_path: Path) -> None:
    lookup = Class("LOOKUP", "SELECT id, total FROM orders WHERE customer_id = 7")
    count = Class("COUNT", "SELECT status, COUNT(*) FROM orders GROUP BY status")
    recent = Class("RECENT", "SELECT COUNT(*) FROM audit_log WHERE created_at >= '2026-06-01'",
                   ("audit_log",))
    years = ", ".join(f"PARTITION p{y} VALUES LESS THAN (TO_DAYS('{y + 1}-01-01'))"
                      for y in range(2022, 2027))
    bad = [
        Advice("add_index", "orders", "a: an index nothing uses",
               ["ALTER TABLE `orders` ADD INDEX `ix_total` (`total`)"],
               ["ALTER TABLE `orders` DROP INDEX `ix_total`"],
               effects=[ClassEffect("LOOKUP", 0.5)], details={"index": "ix_total"}),
        Advice("add_index", "orders", "b: a change that deletes rows",
               ["ALTER IGNORE TABLE `orders` ADD UNIQUE INDEX `ux_status` (`status`)"],
               ["ALTER TABLE `orders` DROP INDEX `ux_status`"], details={"index": "ux_status"}),
        Advice("add_index", "orders", "c: a down that does not undo",
               ["ALTER TABLE `orders` ADD INDEX `ix_customer` (`customer_id`)"],
               ["ALTER TABLE `orders` COMMENT 'not the same'"],
               effects=[ClassEffect("LOOKUP", 0.5)], details={"index": "ix_customer"}),
        Advice("partition", "audit_log", "audit_log by year (a good one)",
               ["ALTER TABLE `audit_log` DROP PRIMARY KEY, ADD PRIMARY KEY (`id`, `created_at`)",
                f"ALTER TABLE `audit_log` PARTITION BY RANGE (TO_DAYS(`created_at`)) ({years}, "
                "PARTITION pmax VALUES LESS THAN MAXVALUE)"],
               ["ALTER TABLE `audit_log` REMOVE PARTITIONING",
                "ALTER TABLE `audit_log` DROP PRIMARY KEY, ADD PRIMARY KEY (`id`)"],
               effects=[ClassEffect("RECENT", 0.2)]),
    ]
    directory = tmp_path / "bad"
    proposal = propose(bad, directory, classes=[lookup, count, recent], force=True,
                       data={"kind": "fixture", "name": "marketplace", "scale": 0.01})
    assert [f.rule for f in proposal.refused] == ["unique_on_duplicates", "primary_key_change"]
    a, b, c, d = (s.name for s in proposal.steps)
    outcomes = run_pytest(dbtune_server, directory)
    assert "the optimizer ignores ix_total" in outcomes[f"test_{a}::test_optimizer_uses_the_change"]
    assert "results differ" in outcomes[f"test_{b}::test_replay_meets_target_guard_and_results"]
    assert "does not restore orders" in outcomes[f"test_{c}::test_down_restores_the_schema"]
    assert outcomes[f"test_{c}::test_optimizer_uses_the_change"] == ""
    assert outcomes[f"test_{a}::test_down_restores_the_schema"] == ""
    # the good partition step after a bad down: the data is reloaded, pruning is checked
    assert {k: v for k, v in outcomes.items() if k.startswith(f"test_{d}:") and v} == {}


def test_perfschema_input_through_the_cli(dbtune_server, dbtune_database, tmp_path: Path) -> None:
    """--perfschema --dsn: the workload from the server's statement digests, the schema
    and statistics read from it (only read); the generated tests pass."""
    import json

    from click.testing import CliRunner

    from dbtune.cli import main

    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE ev (id INT PRIMARY KEY, k INT NOT NULL, v INT)")
        cursor.executemany("INSERT INTO ev VALUES (%s, %s, %s)",
                           [(i, i % 400, i) for i in range(4000)])
        cursor.execute("ANALYZE TABLE ev")
        cursor.fetchall()
        # the session's server has digested every earlier test: start from empty tables
        # (a full digest table puts new statements into its NULL row)
        for table in ("events_statements_summary_by_digest", "events_statements_history",
                      "events_statements_history_long"):
            cursor.execute(f"TRUNCATE TABLE performance_schema.{table}")
        for k in range(40):
            cursor.execute(f"SELECT id, v FROM ev WHERE k = {k}")
            cursor.fetchall()
    result = CliRunner().invoke(main, [
        "propose", "--perfschema", "--dsn", dbtune_server.dsn(reveal_password=True),
        "--database", dbtune_database, "-d", str(tmp_path / "p"), "--format", "json"])
    assert result.exit_code == 0, result.output
    steps = json.loads(result.stdout)["steps"]
    assert [(s["kind"], s["table"]) for s in steps] == [("add_index", "ev")]
    assert "`k`" in steps[0]["up"][0] and steps[0]["targets"]
    # its tests run on synthetic rows following the server's statistics, and pass
    outcomes = run_pytest(dbtune_server, tmp_path / "p")
    assert len(outcomes) == 4 and not any(outcomes.values()), outcomes
