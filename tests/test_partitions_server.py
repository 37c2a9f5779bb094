"""Partitioning advice on a real sandbox: each constraint check against a live catalog, the
DDL the server accepts, the maintenance procedure run twice, --verify, and bad input."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from dbtune.advise.partitioning import DO_NOT, PARTITION, Thresholds, advise_partitions
from dbtune.catalog import Catalog

pytestmark = pytest.mark.server
ANY_SIZE = Thresholds(min_rows=0)
NOW = datetime(2026, 6, 1)


def klass(cid: str, sql: str, share: float, db: str) -> SimpleNamespace:
    return SimpleNamespace(id=cid, sample=sql, sample_db=db, share=share, fingerprint=cid)


def run(server, db: str, *statements: str) -> list:
    out = []
    with server.connect(db) as connection, connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            out.append(cursor.fetchall())
    return out


def catalog(server, db: str) -> Catalog:
    with server.connect(db) as connection:
        return Catalog.from_server(connection, db)


def partitions_of(server, db: str, table: str) -> list[tuple[str, int]]:
    (rows,) = run(server, db, "SELECT PARTITION_NAME, TABLE_ROWS FROM "
                  f"information_schema.PARTITIONS WHERE TABLE_SCHEMA = '{db}' "
                  f"AND TABLE_NAME = '{table}' ORDER BY PARTITION_ORDINAL_POSITION")
    return [(n, r) for n, r in rows if n]


def sessions(server, db: str, *, extra: str = "", column: str = "created_at DATETIME NOT NULL",
             rows: int = 2000) -> None:
    """``s``: ``rows`` sessions, one every 30 minutes up to NOW."""
    run(server, db, f"CREATE TABLE s (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, token CHAR(40) "
        f"NOT NULL, {column}, PRIMARY KEY (id){extra}) ENGINE=InnoDB",
        f"INSERT INTO s (token, created_at) SELECT SHA1(seq), '2026-06-01' - INTERVAL seq * 30 "
        f"MINUTE FROM seq_1_to_{rows}", "ANALYZE TABLE s")


def purge_workload(db: str) -> list[SimpleNamespace]:
    return [klass("recent", "SELECT id, token FROM s WHERE created_at >= '2026-05-30' AND "
                  "created_at < '2026-05-31'", 0.5, db),
            klass("purge", "DELETE FROM s WHERE created_at < NOW() - INTERVAL 30 DAY LIMIT 1000",
                  0.4, db),
            klass("by_token", "SELECT id FROM s WHERE token = 'x'", 0.1, db)]


def advise(server, db: str, classes, **kw):
    with server.connect(db) as connection:
        return advise_partitions(classes, catalog(server, db), thresholds=ANY_SIZE, now=NOW,
                                 connection=connection, index_advice=[], **kw)


def test_foreign_key_blocks_and_nothing_is_proposed(dbtune_server, dbtune_database) -> None:
    db = dbtune_database
    sessions(dbtune_server, db)
    run(dbtune_server, db, "CREATE TABLE u (id BIGINT UNSIGNED PRIMARY KEY, s_id BIGINT UNSIGNED, "
        "CONSTRAINT fk_s FOREIGN KEY (s_id) REFERENCES s (id)) ENGINE=InnoDB")
    v = advise(dbtune_server, db, purge_workload(db)).table("s")
    assert v.verdict == DO_NOT and not v.ddl
    assert v.reasons == ["blocked: foreign key u.fk_s references it: InnoDB does not partition "
                         "tables with foreign keys"]


def test_unique_key_without_the_column_gets_the_new_key_and_the_server_takes_it(
        dbtune_server, dbtune_database) -> None:
    db = dbtune_database
    sessions(dbtune_server, db, extra=", UNIQUE KEY uk_token (token)")
    v = advise(dbtune_server, db, purge_workload(db)).table("s")
    assert v.verdict == PARTITION, v.reasons
    assert "ADD UNIQUE INDEX `uk_token` (`token`, `created_at`)" in v.ddl[0]
    assert any("(token) alone is no longer unique" in w and "relied on by by_token" in w
               for w in v.warnings)
    run(dbtune_server, db, *v.ddl)  # the server accepts the DDL as written
    parts = partitions_of(dbtune_server, db, "s")
    assert parts[0] == ("p_start", 0) and len(parts) == v.scheme.partition_count
    run(dbtune_server, db, *v.rollback)
    assert partitions_of(dbtune_server, db, "s") == []
    (keys,) = run(dbtune_server, db, "SHOW INDEX FROM s WHERE Key_name = 'uk_token'")
    assert [k[4] for k in keys] == ["token"]  # the old key is back


def test_nullable_column_is_explained_and_nulls_land_in_p_start(dbtune_server,
                                                                 dbtune_database) -> None:
    """Without a primary key the NULLs go to p_start; with one, the new key makes the column
    NOT NULL and the server rejects the ALTER while a NULL row exists: --verify says so."""
    db = dbtune_database
    sessions(dbtune_server, db, column="created_at DATETIME NULL")
    run(dbtune_server, db, "INSERT INTO s (token, created_at) VALUES ('n', NULL)",
        "CREATE TABLE k LIKE s", "ALTER TABLE k DROP PRIMARY KEY, ADD KEY (id)",
        "INSERT INTO k SELECT * FROM s", "ANALYZE TABLE k")
    classes = [*purge_workload(db), klass("kp", "DELETE FROM k WHERE created_at < "
                                               "NOW() - INTERVAL 30 DAY LIMIT 1000", 0.4, db)]
    plan = advise(dbtune_server, db, classes, verify_on=dbtune_server)
    keyed, bare = plan.table("s"), plan.table("k")
    assert any("makes it NOT NULL: the ALTER fails" in w for w in keyed.warnings)
    assert plan.skipped == [f"{db}.s: the server rejected the partitioning: Data truncated for "
                            "column 'created_at' at row 2001"]
    assert any("NULLable" in w and "p_start" in w for w in bare.warnings)
    assert bare.verdict == PARTITION and bare.measured["kp"]
    run(dbtune_server, db, *bare.ddl)
    (rows,) = run(dbtune_server, db, "SELECT token FROM k PARTITION (p_start)")
    assert rows == (("n",),)


def test_small_table_and_table_read_by_id_only(dbtune_server, dbtune_database) -> None:
    db = dbtune_database
    sessions(dbtune_server, db)
    with dbtune_server.connect(db) as connection:
        small = advise_partitions(purge_workload(db), catalog(dbtune_server, db), now=NOW,
                                  connection=connection, index_advice=[]).table("s")
    assert small.verdict == DO_NOT and small.reasons[0].startswith("small: ")
    by_id = advise(dbtune_server, db, [klass("id", "SELECT * FROM s WHERE id = 5", 0.7, db),
                                       klass("upd", "UPDATE s SET token = 'y' WHERE id = 9", 0.3,
                                             db)]).table("s")
    assert by_id.verdict == DO_NOT and by_id.reasons[0].startswith("read by point lookups on id")


def test_maintenance_procedure_adds_ahead_drops_expired_and_is_idempotent(
        dbtune_server, dbtune_database) -> None:
    db = dbtune_database
    sessions(dbtune_server, db, rows=400)  # about 8 days back from NOW
    v = advise(dbtune_server, db, purge_workload(db), retention={"s": 3}).table("s")
    run(dbtune_server, db, *v.ddl)
    before = [n for n, _ in partitions_of(dbtune_server, db, "s")]
    run(dbtune_server, db, *v.maintenance.statements)
    after = [n for n, _ in partitions_of(dbtune_server, db, "s")]
    ((today,),), = run(dbtune_server, db, "SELECT CURRENT_DATE")
    # the real clock is past the data: the partitions from NOW to today were added, all those
    # wholly older than 3 days dropped: p_start, the 3 days kept, today's, and 3 ahead
    kept = [f"p{today + timedelta(days=d):%Y%m%d}" for d in range(-3, 4)]
    assert after == ["p_start", *kept]
    assert set(before) - set(after)
    run(dbtune_server, db, v.maintenance.statements[2])  # a second run changes nothing
    assert [n for n, _ in partitions_of(dbtune_server, db, "s")] == after
    counts = run(dbtune_server, db, *v.maintenance.checks)
    assert [c[0][0] for c in counts] == [0, 3]  # p_start empty, 3 partitions ahead of today
    run(dbtune_server, db, v.maintenance.event)
    (events,) = run(dbtune_server, db, f"SELECT EVENT_NAME FROM information_schema.EVENTS "
                    f"WHERE EVENT_SCHEMA = '{db}'")
    assert events == (("dbtune_partitions_s_ev",),)


def test_verify_shows_pruning_and_identical_results_then_restores(dbtune_server,
                                                                  dbtune_database) -> None:
    db = dbtune_database
    sessions(dbtune_server, db)
    plan = advise(dbtune_server, db, purge_workload(db), verify_on=dbtune_server)
    v = plan.table("s")
    assert plan.skipped == [] and v.verdict == PARTITION
    recent = v.measured["recent"]
    assert recent["partitions_read"] == "p20260530" and recent["identical"] is True
    assert v.measured["by_token"]["partitions"] == v.scheme.partition_count
    assert v.to_advice().basis == "measured"
    assert partitions_of(dbtune_server, db, "s") == []  # restored


def test_bad_input_is_one_line_and_the_other_tables_go_on(dbtune_server, dbtune_database) -> None:
    """The catalog (a DDL file) says s.created_at is a DATETIME, the server has a TEXT: the
    server rejects the partitioning; t2's column type cannot be partitioned; a retention names
    a table that no longer exists; s2 is still advised and verified."""
    db = dbtune_database
    sessions(dbtune_server, db, column="created_at TEXT NOT NULL")
    run(dbtune_server, db, "CREATE TABLE s2 LIKE s", "ALTER TABLE s2 MODIFY created_at DATETIME "
        "NOT NULL", "INSERT INTO s2 SELECT * FROM s",
        "CREATE TABLE t2 (id INT PRIMARY KEY, day VARCHAR(10) NOT NULL)")
    ddl = (f"CREATE TABLE `{db}`.s (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, token CHAR(40) "
           "NOT NULL, created_at DATETIME NOT NULL, PRIMARY KEY (id));"
           f"CREATE TABLE `{db}`.s2 (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, token CHAR(40) "
           "NOT NULL, created_at DATETIME NOT NULL, PRIMARY KEY (id));"
           f"CREATE TABLE `{db}`.t2 (id INT PRIMARY KEY, day VARCHAR(10) NOT NULL)")
    cat = Catalog.from_ddl(ddl)
    classes = [*purge_workload(db),
               klass("p2", "DELETE FROM s2 WHERE created_at < NOW() - INTERVAL 30 DAY", 0.3, db),
               klass("t2", "SELECT * FROM t2 WHERE day >= '2026-05-01'", 0.2, db)]
    plan = advise_partitions(classes, cat, thresholds=ANY_SIZE, now=NOW, index_advice=[],
                             retention={"gone": 7},
                             bounds={"s": (datetime(2026, 4, 1), NOW),
                                     "s2": (datetime(2026, 4, 1), NOW)},
                             verify_on=dbtune_server)
    assert [line.split(":")[0] for line in plan.skipped] == [f"{db}.t2.day", "gone", f"{db}.s"]
    assert "rejected the partitioning" in plan.skipped[2]
    assert plan.table("s2").verdict == PARTITION and plan.table("s2").measured["p2"]
    assert partitions_of(dbtune_server, db, "s2") == []


def test_cli_verify_on_a_disposable_dsn(dbtune_server, dbtune_database, tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from dbtune.cli import main

    db = dbtune_database
    sessions(dbtune_server, db)
    log = tmp_path / "slow.log"
    log.write_text("".join(
        f"# Time: 2026-06-01T00:00:0{i}.000000Z\n# User@Host: app[app] @ localhost []\n"
        f"# Query_time: 0.5  Lock_time: 0.0 Rows_sent: 1  Rows_examined: 2000\n"
        f"use {db};\nSET timestamp=1780272000;\n{c.sample};\n"
        for i, c in enumerate(purge_workload(db))))
    out = CliRunner().invoke(main, [
        "advise", "partitions", "--slowlog", str(log), "--dsn",
        dbtune_server.dsn(reveal_password=True), "--database", db, "--disposable", "--verify",
        "--min-rows", "0", "--force", "s", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output[out.output.index("{"):])
    (table,) = [t for t in doc["tables"] if t["table"] == "s"]
    assert table["verdict"] == PARTITION and table["verification"]["alter_seconds"] > 0
    measured = {p["note"]: p["explain"] for p in table["pruning"]}
    assert "p2026053" in json.dumps(measured)
    assert partitions_of(dbtune_server, db, "s") == []
