"""Partitioning advice without a server: each constraint check alone, bounds, scheme,
pruning, retention, the weighing, the report formats and the CLI's refusals."""

from __future__ import annotations

import json
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from dbtune.advise.partitioning import DO_NOT, PARTITION, Thresholds, advise_partitions
from dbtune.advise.partitioning.bounds import column_range
from dbtune.advise.partitioning.candidates import ClassUse, best_column, table_uses
from dbtune.advise.partitioning.constraints import (
    CHECKS,
    Context,
    check_column_type,
    check_engine,
    check_foreign_keys,
    check_fulltext_spatial,
    check_nullable,
    check_partition_count,
    check_unique_keys,
)
from dbtune.advise.partitioning.pruning import class_pruning
from dbtune.advise.partitioning.retention import maintenance, retention_days
from dbtune.advise.partitioning.scheme import SchemeError, plan_scheme
from dbtune.catalog import Catalog
from dbtune.cli import main
from dbtune.report.document import FORMATS, render

NOW = datetime(2026, 6, 1)
LOG = """CREATE TABLE log (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, at DATETIME NOT NULL,
  kind VARCHAR(20) NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB"""


def ctx(ddl: str, table: str, column: str, uses=()) -> Context:
    cat = Catalog.from_ddl(ddl)
    return Context(cat.tables[table], column, cat, list(uses))


def klass(cid: str, sql: str, share: float) -> SimpleNamespace:
    return SimpleNamespace(id=cid, sample=sql, sample_db=None, share=share, fingerprint=cid)


# ----------------------------------------------------------------------------- checks, one each
def test_check_engine_blocks_memory_and_myisam_on_mysql_only() -> None:
    assert check_engine(ctx(LOG, "log", "at")).status == "ok"
    memory = ctx(LOG.replace("InnoDB", "MEMORY"), "log", "at")
    assert check_engine(memory).status == "blocks" and "MEMORY" in check_engine(memory).reason
    myisam = ctx(LOG.replace("InnoDB", "MyISAM"), "log", "at")
    assert check_engine(myisam).status == "blocks"
    myisam.table.flavour = "mariadb"
    assert check_engine(myisam).status == "ok"


def test_check_foreign_keys_blocks_both_directions() -> None:
    ddl = ("CREATE TABLE p (id INT PRIMARY KEY, at DATE NOT NULL); CREATE TABLE c (id INT "
           "PRIMARY KEY, at DATE NOT NULL, p_id INT, CONSTRAINT fk_p FOREIGN KEY (p_id) "
           "REFERENCES p (id))")
    child, parent = ctx(ddl, "c", "at"), ctx(ddl, "p", "at")
    assert check_foreign_keys(child).status == "blocks"
    assert "fk_p" in check_foreign_keys(child).reason
    assert check_foreign_keys(parent).status == "blocks"
    assert "c.fk_p references it" in check_foreign_keys(parent).reason
    assert check_foreign_keys(ctx(LOG, "log", "at")).status == "ok"


def test_check_fulltext_spatial() -> None:
    ddl = LOG.replace("PRIMARY KEY (id)", "PRIMARY KEY (id), FULLTEXT KEY ft (kind)")
    assert check_fulltext_spatial(ctx(ddl, "log", "at")).status == "blocks"
    assert check_fulltext_spatial(ctx(LOG, "log", "at")).status == "ok"


def test_check_column_type() -> None:
    assert check_column_type(ctx(LOG, "log", "at")).status == "ok"
    assert check_column_type(ctx(LOG, "log", "id")).status == "ok"
    bad = check_column_type(ctx(LOG, "log", "kind"))
    assert bad.status == "blocks" and "varchar(20)" in bad.reason


def test_check_nullable_explains_where_nulls_go() -> None:
    nullable = LOG.replace("at DATETIME NOT NULL", "at DATETIME NULL")
    found = check_nullable(ctx(nullable, "log", "at"))
    assert found.status == "warns" and "makes it NOT NULL: the ALTER fails" in found.reason
    no_pk = check_nullable(ctx(nullable.replace("PRIMARY KEY (id)", "KEY (id)"), "log", "at"))
    assert no_pk.status == "warns" and "p_start" in no_pk.reason
    assert check_nullable(ctx(LOG, "log", "at")).status == "ok"


def test_check_unique_keys_proposes_the_key_and_names_who_relied_on_it() -> None:
    ddl = LOG.replace("PRIMARY KEY (id)", "PRIMARY KEY (id), UNIQUE KEY uk (kind)")
    uses = [ClassUse("by_kind", 0.2, "select", "SELECT * FROM log WHERE kind = 'x'",
                     equality={"kind"}),
            ClassUse("upsert", 0.1, "insert", "INSERT INTO log (kind) VALUES ('a') "
                     "ON DUPLICATE KEY UPDATE at = NOW()", upsert=True)]
    found = check_unique_keys(ctx(ddl, "log", "at", uses))
    assert found.status == "changes"
    pk, uk = found.changes
    assert pk.columns == ["id", "at"] and uk.columns == ["kind", "at"]
    assert "(kind) alone is no longer unique" in uk.lost
    assert uk.relied_on == ["by_kind", "upsert"] and pk.relied_on == ["upsert"]
    assert check_unique_keys(ctx(ddl.replace("PRIMARY KEY (id), UNIQUE KEY uk (kind)",
                                             "PRIMARY KEY (id, at)"), "log", "at")).status == "ok"


def test_check_partition_count() -> None:
    c = ctx(LOG, "log", "at")
    c.scheme = plan_scheme("at", "datetime", low=datetime(2025, 1, 1), now=NOW)
    assert check_partition_count(c).status == "ok"
    c.scheme = plan_scheme("at", "datetime", low=datetime(1990, 1, 1), now=NOW, max_live=20000)
    assert c.scheme.partition_count > 8192 and check_partition_count(c).status == "blocks"


def test_checks_list_is_every_check() -> None:
    assert [f.__name__ for f in CHECKS] == [
        "check_engine", "check_column_type", "check_foreign_keys", "check_fulltext_spatial",
        "check_unique_keys", "check_nullable", "check_partition_count"]


# ----------------------------------------------------------------------------- bounds and scheme
@pytest.mark.parametrize(("sql", "low", "high"), [
    ("SELECT * FROM t WHERE at BETWEEN '2026-01-01' AND '2026-01-02'",
     datetime(2026, 1, 1), datetime(2026, 1, 2)),
    ("SELECT * FROM t WHERE at >= NOW() - INTERVAL 1 DAY AND at < CURDATE()",
     datetime(2026, 5, 31), datetime(2026, 5, 31, 23, 59, 59, 999999)),
    ("DELETE FROM t WHERE at <= DATE_SUB(NOW(), INTERVAL 2 WEEK) LIMIT 1000", None,
     datetime(2026, 5, 18)),
    ("SELECT * FROM t WHERE '2026-05-02' > at", None, datetime(2026, 5, 1, 23, 59, 59, 999999)),
    ("SELECT * FROM t x WHERE '2026-05-01' <= x.at", datetime(2026, 5, 1), None),
    ("SELECT * FROM t WHERE at IN ('2026-05-01', '2026-05-03')",
     datetime(2026, 5, 1), datetime(2026, 5, 3)),
])
def test_column_range(sql: str, low, high) -> None:
    found = column_range(sql, "at", now=NOW, names=("t", "x"))
    assert (found.low, found.high) == (low, high)


def test_column_range_is_none_without_a_predicate_and_open_for_placeholders() -> None:
    assert column_range("SELECT * FROM t WHERE id = 3", "at", now=NOW) is None
    assert not column_range("SELECT * FROM t WHERE at > ?", "at", now=NOW).bounded


def test_scheme_granularity_keeps_live_partitions_few_and_first_partition_empty() -> None:
    daily = plan_scheme("at", "datetime", low=datetime(2026, 5, 2, 13), now=NOW)
    assert daily.granularity == "day" and daily.lowers[0] == date(2026, 5, 2)
    assert daily.partitions()[0] == ("p_start", None, date(2026, 5, 2))  # below the oldest row
    assert daily.lowers[-1] == date(2026, 6, 4)  # after today's partition, 3 empty ones
    yearly = plan_scheme("at", "datetime", low=datetime(2025, 6, 1), now=NOW)
    assert yearly.granularity == "month" and yearly.partition_count <= 50
    kept = plan_scheme("at", "datetime", low=datetime(2024, 1, 1), now=NOW, retention_days=30)
    assert kept.granularity == "day" and kept.steady <= 50
    assert "MAXVALUE" not in kept.clause()


def test_scheme_per_type_and_unpartitionable_types() -> None:
    stamp = plan_scheme("at", "timestamp", low=datetime(2026, 5, 1), now=NOW)
    assert stamp.clause().startswith("PARTITION BY RANGE(UNIX_TIMESTAMP(`at`))")
    assert "UNIX_TIMESTAMP('2026-05-01 00:00:00')" in stamp.clause()
    ids = plan_scheme("id", "bigint unsigned", low=1, high=3_500_000, now=NOW)
    assert ids.clause().startswith("PARTITION BY RANGE(`id`)") and ids.partition_count <= 50
    assert ids.partitions()[0][2] <= 1  # p_start holds no id
    with pytest.raises(SchemeError, match="varchar"):
        plan_scheme("kind", "varchar(20)", low=None, now=NOW)


def test_touched_counts_overlapping_partitions() -> None:
    s = plan_scheme("at", "datetime", low=datetime(2026, 5, 1), now=NOW)  # daily
    assert s.touched(datetime(2026, 5, 10), datetime(2026, 5, 10, 23)) == 1
    assert s.touched(datetime(2026, 5, 10), datetime(2026, 5, 12)) == 3
    assert s.touched(None, datetime(2026, 4, 1)) == 1  # only p_start
    assert s.touched(None, None) == s.partition_count


# ----------------------------------------------------------------------------- pruning
def test_pruning_roles() -> None:
    s = plan_scheme("at", "datetime", low=datetime(2026, 1, 1), now=NOW)

    def role(sql, kind="select", eq=(), ranges=(), index=None):
        use = ClassUse("c", 0.1, kind, sql, set(ranges), set(eq), ("t",))
        return class_pruning(use, s, lookups={"id"}, range_index=index, now=NOW)

    assert role("SELECT * FROM t WHERE at > '2026-05-20'", ranges={"at"}).role == "wins"
    narrow = "SELECT * FROM t WHERE at > '2026-05-20' AND at < '2026-05-21'"
    assert role(narrow, ranges={"at"}, index="ix").role == "same"
    lost = role("SELECT * FROM t WHERE id = 3", eq={"id"})
    assert lost.role == "loses" and lost.gain < 0 and lost.touched == s.partition_count
    assert role("SELECT * FROM t WHERE kind = 'x'", eq={"kind"}).role == "same"  # scans anyway
    assert role("DELETE FROM t WHERE at < '2026-02-01'", "delete", ranges={"at"}).role == "purge"
    assert role("INSERT INTO t VALUES (1)", "insert").role == "same"


# ----------------------------------------------------------------------------- retention
def test_retention_from_purges_and_maintenance_shape() -> None:
    purge = ClassUse("d", 0.1, "delete", "DELETE FROM s WHERE at < NOW() - INTERVAL 7 DAY", {"at"})
    assert retention_days([purge], "at", NOW) == 7
    s = plan_scheme("at", "datetime", low=datetime(2026, 5, 1), now=NOW, retention_days=7)
    m = maintenance("`shop`.`s`", "s", "shop", s, retention_days=7)
    drop, create, call = m.statements
    assert drop == "DROP PROCEDURE IF EXISTS `shop`.`dbtune_partitions_s`"
    assert "ADD PARTITION" in create and "DROP PARTITION" in create
    assert "INTERVAL 7 DAY" in create and call == "CALL `shop`.`dbtune_partitions_s`()"
    assert m.event.startswith("CREATE EVENT IF NOT EXISTS") and "DELIMITER //" in m.script()
    hostile = maintenance("`x'y`", "x'y", None, s, retention_days=None)
    assert "'x''y'" in hostile.statements[1] and "DROP PARTITION" not in hostile.statements[1]


# ----------------------------------------------------------------------------- the advisor
def sized(ddl: str, rows: dict[str, int]) -> Catalog:
    return Catalog.from_ddl(ddl, rows=rows)


def test_purge_table_is_partitioned_with_ddl_rollback_and_advice() -> None:
    cat = sized(LOG, {"log": 5_000_000})
    classes = [klass("range", "SELECT * FROM log WHERE at >= '2026-05-25' AND at < '2026-05-26'",
                     0.5),
               klass("purge", "DELETE FROM log WHERE at < NOW() - INTERVAL 30 DAY LIMIT 1000", 0.3),
               klass("ins", "INSERT INTO log (at, kind) VALUES (NOW(), 'x')", 0.2)]
    plan = advise_partitions(classes, cat, now=NOW, index_advice=[],
                             bounds={"log": (datetime(2026, 3, 1), NOW)})
    v = plan.table("log")
    assert v.verdict == PARTITION, v.reasons
    assert v.retention_days == 30 and v.scheme.granularity == "day"
    assert v.ddl[0].startswith("ALTER TABLE `log` DROP PRIMARY KEY, ADD PRIMARY KEY (`id`, `at`)\n"
                               "PARTITION BY RANGE COLUMNS(`at`)")
    assert v.rollback == ["ALTER TABLE `log` REMOVE PARTITIONING",
                          "ALTER TABLE `log` DROP PRIMARY KEY, ADD PRIMARY KEY (`id`)"]
    (advice,) = plan.to_advice()
    assert advice.kind == "partition" and advice.ddl == v.ddl
    by_class = {e.class_id: e for e in advice.effects}
    assert by_class["range"].estimated["partitions"] == 1 and by_class["purge"].estimated[
        "role"] == "purge"
    assert v.alternative["column"] == "id"


def test_losers_outweigh_winners_gives_do_not_partition_with_figures() -> None:
    cat = sized(LOG, {"log": 5_000_000})
    classes = [klass("range", "SELECT * FROM log WHERE at >= '2026-05-25'", 0.1),
               klass("by_id", "SELECT * FROM log WHERE id = 7", 0.9)]
    v = advise_partitions(classes, cat, now=NOW, index_advice=[], retention={"log": 90},
                          bounds={"log": (datetime(2026, 1, 1), NOW)}).table("log")
    assert v.verdict == DO_NOT and "losers outweigh winners" in v.reasons[0]
    assert [p.role for p in v.pruning] == ["wins", "loses"] and not v.ddl
    forced = advise_partitions(classes, cat, now=NOW, index_advice=[], retention={"log": 90},
                               bounds={"log": (datetime(2026, 1, 1), NOW)},
                               force=["log"]).table("log")
    assert forced.verdict == PARTITION and forced.ddl
    assert forced.reasons[0].startswith("forced, against the estimate (losers outweigh")


def test_small_and_unknown_size_and_point_lookups() -> None:
    classes = [klass("r", "SELECT * FROM log WHERE at >= '2026-05-25'", 1.0)]
    small = advise_partitions(classes, sized(LOG, {"log": 5000}), index_advice=[])
    assert small.table("log").reasons[0].startswith("small: 5,000 rows")
    unknown = advise_partitions(classes, Catalog.from_ddl(LOG), index_advice=[])
    assert unknown.table("log").reasons[0].startswith("size unknown")
    by_id = advise_partitions([klass("i", "SELECT * FROM log WHERE id = 1", 1.0)],
                              sized(LOG, {"log": 5_000_000}), index_advice=[])
    assert by_id.table("log").reasons[0].startswith("read by point lookups on id")
    assert advise_partitions(classes, Catalog.from_ddl(LOG), index_advice=[],
                             thresholds=Thresholds(min_rows=0)).table("log").column == "at"


def test_better_served_by_the_advised_index() -> None:
    from dbtune.model import Advice

    cat = sized(LOG, {"log": 5_000_000})
    ix = Advice(kind="add_index", table="log", title="log (at)", ddl=[], rollback=[],
                details={"index": "ix_log_at", "columns": ["at"]})
    classes = [klass("r", "SELECT * FROM log WHERE at >= '2026-05-25' AND at < '2026-05-26'", 0.6),
               klass("i", "SELECT * FROM log WHERE id = 1", 0.4)]
    v = advise_partitions(classes, cat, now=NOW, index_advice=[ix],
                          bounds={"log": (datetime(2024, 1, 1), NOW)}).table("log")
    assert v.verdict == DO_NOT and v.better_index == "ix_log_at"
    assert "better served by the index ix_log_at" in v.reasons[0]


def test_unpartitionable_column_is_one_line_and_other_tables_are_advised() -> None:
    ddl = LOG + "; CREATE TABLE t2 (id INT PRIMARY KEY, day VARCHAR(10) NOT NULL)"
    cat = sized(ddl, {"log": 5_000_000, "t2": 5_000_000})
    classes = [klass("a", "SELECT * FROM t2 WHERE day >= '2026-05-01'", 0.5),
               klass("b", "DELETE FROM log WHERE at < NOW() - INTERVAL 30 DAY", 0.5)]
    plan = advise_partitions(classes, cat, now=NOW, index_advice=[], retention={"gone": 5},
                             bounds={"log": (datetime(2026, 3, 1), NOW)})
    assert plan.table("t2").verdict == DO_NOT and plan.table("log").verdict == PARTITION
    assert plan.skipped == [
        "t2.day: blocked: column day is varchar(10): RANGE partitioning takes a date, datetime, "
        "timestamp or integer column",
        "gone: table not in the catalog (dropped or renamed?); retention ignored"]


def test_table_uses_counts_inserts_and_best_column_weighs_time() -> None:
    cat = Catalog.from_ddl(LOG)
    uses = table_uses([klass("i", "INSERT INTO log (at, kind) VALUES (NOW(), 'x')", 0.5),
                       klass("r", "SELECT * FROM log l WHERE l.at > '2026-01-01'", 0.5)], cat)
    assert [(u.kind, u.names) for u in uses["log"]] == [("insert", ("log",)),
                                                        ("select", ("log", "l"))]
    assert best_column(cat.tables["log"], uses["log"]) == ("at", 1.0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders(fmt: str) -> None:
    cat = sized(LOG, {"log": 5_000_000})
    plan = advise_partitions([klass("p", "DELETE FROM log WHERE at < NOW() - INTERVAL 9 DAY", 1)],
                             cat, now=NOW, index_advice=[],
                             bounds={"log": (datetime(2026, 4, 1), NOW)})
    text = render(plan, fmt)
    assert "log" in text
    if fmt == "json":
        doc = json.loads(text)
        assert doc["tables"][0]["verdict"] == PARTITION and doc["tables"][0]["event"]
    if fmt in ("table", "markdown"):
        assert "REMOVE PARTITIONING" in text and "CREATE EVENT" in text


# ----------------------------------------------------------------------------- CLI
def test_cli_refuses_verify_without_disposable_and_needs_a_workload(tmp_path) -> None:
    schema = tmp_path / "s.sql"
    schema.write_text(LOG + ";\n")
    runner = CliRunner()
    out = runner.invoke(main, ["advise", "partitions", "--schema", str(schema)])
    assert out.exit_code == 2 and "give the workload" in out.output
    out = runner.invoke(main, ["advise", "partitions", "--slowlog", "x.log", "--dsn",
                               "mysql://root@127.0.0.1:1/", "--verify"])
    assert out.exit_code == 2 and "--disposable" in out.output
    out = runner.invoke(main, ["advise", "partitions", "--slowlog", "x", "--schema", str(schema),
                               "--retention", "log=abc"])
    assert out.exit_code == 2 and "TABLE=DAYS" in out.output


def test_cli_on_a_slow_log_and_ddl(tmp_path) -> None:
    schema = tmp_path / "s.sql"
    schema.write_text(LOG + ";\n")
    log = tmp_path / "slow.log"
    log.write_text("# Time: 2026-06-01T00:00:00.000000Z\n# User@Host: app[app] @ localhost []\n"
                   "# Query_time: 0.500000  Lock_time: 0.000000 Rows_sent: 0  Rows_examined: 9\n"
                   "SET timestamp=1780272000;\n"
                   "DELETE FROM log WHERE at < NOW() - INTERVAL 30 DAY LIMIT 1000;\n")
    out = CliRunner().invoke(main, ["advise", "partitions", "--slowlog", str(log), "--schema",
                                    str(schema), "--min-rows", "0", "--format", "json"])
    assert out.exit_code == 0, out.output
    (table,) = json.loads(out.output)["tables"]
    assert table["verdict"] == PARTITION and table["retention_days"] == 30


def test_sysbench_oltp_read_write_is_not_partitioned_and_says_why() -> None:
    """sysbench's schema and statements (oltp_common.lua, nobody on the team wrote them): every
    range is on the primary key, and point lookups and writes by id carry most of the time."""
    ddl = ("CREATE TABLE sbtest1 (id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT "
           "NULL, c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL, PRIMARY KEY "
           "(id)) ENGINE=InnoDB; CREATE INDEX k_1 ON sbtest1(k)")
    statements = [  # oltp_read_write's mix per transaction, literals as sysbench draws them
        ("point", "SELECT c FROM sbtest1 WHERE id=5004", 10),
        ("range", "SELECT c FROM sbtest1 WHERE id BETWEEN 5004 AND 5103", 1),
        ("sum", "SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN 5004 AND 5103", 1),
        ("order", "SELECT c FROM sbtest1 WHERE id BETWEEN 5004 AND 5103 ORDER BY c", 1),
        ("distinct", "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 5004 AND 5103 ORDER BY c",
         1),
        ("upd_k", "UPDATE sbtest1 SET k=k+1 WHERE id=5004", 1),
        ("upd_c", "UPDATE sbtest1 SET c='x' WHERE id=5004", 1),
        ("del", "DELETE FROM sbtest1 WHERE id=5004", 1),
        ("ins", "INSERT INTO sbtest1 (id, k, c, pad) VALUES (5004, 1, 'x', 'y')", 1)]
    total = sum(n for *_, n in statements)
    classes = [klass(name, sql, n / total) for name, sql, n in statements]
    v = advise_partitions(classes, sized(ddl, {"sbtest1": 10_000_000}),
                          index_advice=[]).table("sbtest1")
    assert v.verdict == DO_NOT and v.column == "id"
    assert v.reasons == ["ranges on id carry 24% of the table's read and write time (below 50%), "
                         "and nothing purges by it"]
    ranged = advise_partitions(classes, sized(ddl, {"sbtest1": 10_000_000}), index_advice=[],
                               thresholds=Thresholds(min_range_share=0.2)).table("sbtest1")
    assert ranged.reasons[0].startswith("better served by the index PRIMARY")
