"""The bench guards every class: a class slower than --max-regression fails the verdict."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dbtune.bench.verdict import guard_classes
from dbtune.cli import main

ROWS = 20_000


def record(label: str, ratio: float, low: float, count: int = 500) -> dict:
    return {"class": label, "label": label, "ratio": ratio, "ci95_low": low,
            "ci95_high": ratio * 1.2, "count_before": count, "count_after": count}


def test_a_class_fails_only_beyond_the_factor_with_its_interval_above_one() -> None:
    rows = guard_classes([record("fast", 0.2, 0.1), record("noise", 1.1, 0.9),
                          record("slower", 1.6, 1.2), record("bad", 3.0, 1.5),
                          record("unsure", 3.0, 0.8), record("rare", 9.0, float("nan"), 2),
                          record("few", 2.5, 1.3, 9), record("noisy", 1.9, 0.7, 19)])
    # fewer than 20 statements: the point estimate judges, at the same 2x (not a looser
    # limit): 2.5x on 9 statements fails, 1.9x on 19 is only slower
    assert [(r["label"], r["status"]) for r in rows] == [
        ("rare", "REGRESSION"), ("bad", "REGRESSION"), ("few", "REGRESSION"),
        ("unsure", "slower"), ("noisy", "slower"), ("slower", "slower")]
    assert rows[0]["judged_on"] == "point estimate (2 / 2 statements: too few for an interval)"
    assert rows[1]["judged_on"] == "95% interval"
    assert [r["label"] for r in guard_classes([record("bad", 3.0, 1.5)], max_regression=4)
            if r["status"] == "REGRESSION"] == []
    # the rare class's limit is --max-regression itself
    assert guard_classes([record("few", 2.5, 1.3, 9)], max_regression=3)[0]["status"] == "slower"


@pytest.mark.server
def test_a_deliberately_bad_index_change_makes_the_bench_exit_1_and_names_the_class(
        dbtune_server, dbtune_database, tmp_path) -> None:
    """The change helps the heavy class (the mean improves) and takes the rare class's
    index away: a full scan of 100,000 rows instead of one lookup."""
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE items (id INT PRIMARY KEY, grp INT NOT NULL)")
        cursor.executemany("INSERT INTO items VALUES (%s, %s)",
                           [(i, i % 500) for i in range(1, ROWS + 1)])
        cursor.execute("CREATE TABLE tags (id INT PRIMARY KEY, tag VARCHAR(20) NOT NULL, "
                       "KEY ix_tag (tag))")
        for start in range(0, 5 * ROWS, 10_000):
            cursor.executemany("INSERT INTO tags VALUES (%s, %s)",
                               [(i, f"t{i}") for i in range(start + 1, start + 10_001)])
    workload = tmp_path / "workload.sql"
    workload.write_text("".join(f"SELECT id FROM items WHERE grp = {g};\n" for g in range(40))
                        + "SELECT id FROM tags WHERE tag = 't77';\n", encoding="utf-8")
    up, down = tmp_path / "up.sql", tmp_path / "down.sql"
    up.write_text("ALTER TABLE items ADD INDEX ix_grp (grp);\n"
                  "ALTER TABLE tags DROP INDEX ix_tag;\n")
    down.write_text("ALTER TABLE items DROP INDEX ix_grp;\n"
                    "ALTER TABLE tags ADD INDEX ix_tag (tag);\n")
    dsn = dbtune_server.dsn(reveal_password=True)
    result = CliRunner().invoke(main, [
        "bench", "--dsn", dsn, "--disposable", "--database", dbtune_database,
        "--sql", str(workload), "--migration", str(up), "--rollback", str(down),
        "--rounds", "2", "--count", "400", "--warmup", "20", "--concurrency", "1",
        "--target", "mean<=0.8x", "--format", "json"])
    document = json.loads(result.stdout)
    assert document["met"] is True  # the workload as a whole got faster...
    assert result.exit_code == 1, result.output  # ...but one class got much slower
    (bad,) = [r for r in document["class_guard"] if r["status"] == "REGRESSION"]
    assert "tag" in bad["label"] and bad["ratio"] > 2
    assert document["regressed"] == [bad["label"]]
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW INDEX FROM tags WHERE Key_name = 'ix_tag'")
        if not cursor.fetchall():  # the bench ended on the change: undo it for the next one
            for statement in down.read_text().split(";")[:2]:
                cursor.execute(statement)
    table = CliRunner().invoke(main, [
        "bench", "--dsn", dsn, "--disposable", "--database", dbtune_database,
        "--sql", str(workload), "--migration", str(up), "--rollback", str(down),
        "--rounds", "1", "--count", "200", "--warmup", "10", "--max-regression", "1000"])
    assert table.exit_code == 0, table.output  # the guard moved out of the way
    assert "Slower classes" in table.stdout and "REGRESSION" not in table.stdout


@pytest.mark.server
def test_a_rare_class_is_judged_on_its_point_estimate_at_max_regression(
        dbtune_server, dbtune_database, tmp_path) -> None:
    """One lookup in 61 statements (about 10 a phase, too few for an interval) loses its
    index: the bench exits 1, names it, and says it was judged on its point estimate."""
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE notes (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, "
                       "KEY ix_code (code))")
        for start in range(0, 4 * ROWS, 10_000):
            cursor.executemany("INSERT INTO notes VALUES (%s, %s)",
                               [(i, f"c{i}") for i in range(start + 1, start + 10_001)])
    workload = tmp_path / "workload.sql"
    workload.write_text("".join(f"SELECT id FROM notes WHERE id = {i};\n" for i in range(60))
                        + "SELECT id FROM notes WHERE code = 'c77';\n", encoding="utf-8")
    up, down = tmp_path / "up.sql", tmp_path / "down.sql"
    up.write_text("ALTER TABLE notes DROP INDEX ix_code;\n")
    down.write_text("ALTER TABLE notes ADD INDEX ix_code (code);\n")
    result = CliRunner().invoke(main, [
        "bench", "--dsn", dbtune_server.dsn(reveal_password=True), "--disposable",
        "--database", dbtune_database, "--sql", str(workload), "--migration", str(up),
        "--rollback", str(down), "--rounds", "2", "--count", "300", "--warmup", "10",
        "--concurrency", "1", "--format", "json"])
    document = json.loads(result.stdout)
    assert result.exit_code == 1, result.output
    (bad,) = [r for r in document["class_guard"] if r["status"] == "REGRESSION"]
    assert "code" in bad["label"] and bad["ratio"] > 2 and bad["count_before"] < 20
    assert bad["judged_on"].startswith("point estimate")
    assert document["regressed"] == [bad["label"]]
