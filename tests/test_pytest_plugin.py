"""dbtune's pytest plugin as a user's suite meets it: a loaded database, plans, results;
and a proposal whose schema the sandbox rejects fails in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbtune.migrate import checks, propose
from dbtune.model import Advice

pytestmark = pytest.mark.server


def test_load_sql_then_plans_and_results(dbtune_load_sql, dbtune_connection, dbtune_server,
                                         dbtune_database, tmp_path: Path) -> None:
    script = tmp_path / "shop.sql"
    script.write_text("CREATE TABLE o (id INT PRIMARY KEY, c INT, KEY ix_c (c));\n"
                      "INSERT INTO o VALUES " + ", ".join(f"({i}, {i % 50})" for i in range(500))
                      + ";\n")
    assert dbtune_load_sql(script) == 2
    checks.analyze(dbtune_connection, dbtune_database, dbtune_server.flavour)
    sql = "SELECT id FROM o WHERE c = 7"
    assert checks.index_keys(dbtune_connection, sql) == {"ix_c"}
    before = checks.replay(dbtune_connection, [("q", sql), ("w", "DELETE FROM o")])
    assert list(before) == ["q"] and before["q"][0].startswith("10 rows")
    assert 0 < before["q"][1] < 100  # rows read through ix_c, not the 500 of a scan
    schema = checks.show_create(dbtune_connection, dbtune_database)
    checks.apply(dbtune_connection, ["ALTER TABLE o DROP INDEX ix_c"], "drop")
    scan = checks.replay(dbtune_connection, [("q", sql)])
    assert scan["q"][0] == before["q"][0] and scan["q"][1] >= 500
    assert checks.show_create(dbtune_connection, dbtune_database) != schema


def test_load_sql_names_the_line_the_server_rejects(dbtune_load_sql, tmp_path: Path) -> None:
    script = tmp_path / "bad.sql"
    script.write_text("CREATE TABLE a (id INT PRIMARY KEY);\n\nCREATE TABLE b (id NOTATYPE);\n")
    with pytest.raises(Exception, match=r"bad\.sql:3: the server rejects this"):
        dbtune_load_sql(script)


@pytest.mark.slow
def test_a_schema_the_sandbox_rejects_fails_in_one_line(dbtune_server, tmp_path: Path) -> None:
    advice = [Advice("add_index", "t", "t (a)", ["ALTER TABLE `t` ADD INDEX `ix_a` (`a`)"],
                     ["ALTER TABLE `t` DROP INDEX `ix_a`"], details={"index": "ix_a"})]
    directory = tmp_path / "p"
    propose(advice, directory, schema_sql="CREATE TABLE t (id INT PRIMARY KEY, a INT) "
                                          "ENGINE=NoSuchEngine PARTITION BY BOGUS;\n")
    env = {**os.environ, "DBTUNE_TEST_BACKEND": "dsn",
           "DBTUNE_DSN": dbtune_server.dsn(reveal_password=True)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(directory)], env=env, cwd=directory, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0
    lines = [line for line in done.stdout.splitlines()
             if "schema.sql:1: the server rejects" in line]
    assert lines, done.stdout
    assert "Traceback" not in done.stdout
