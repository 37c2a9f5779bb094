"""Catalog from DDL (every feature) and from a live server (same objects either way)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dbtune.catalog import (
    PAGE_FILL,
    Catalog,
    Index,
    assemble,
    estimate_entry_bytes,
    split_statements,
    type_width,
)
from dbtune.model import InputError

SCHEMAS = Path(__file__).resolve().parent.parent / "fixtures" / "schemas"
LIVE_SCHEMAS = ["marketplace.sql", "fk_orders.sql", "prefix_indexes.sql", "features_mariadb.sql"]


def column_map(table) -> dict:
    return {k: (c.type, c.nullable, c.generated, c.stored) for k, c in table.columns.items()}


def index_map(table) -> dict:
    return {
        i.name: (
            [c.lower() for c in i.columns], i.prefix_lengths, i.unique, i.primary, i.visible,
            i.kind, i.descending, i.expressions,
        )
        for i in table.indexes
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------
# DDL
# ---------------------------------------------------------------------------------------------
def test_columns_types_nullability_generated():
    cat = Catalog.from_ddl(SCHEMAS / "features_mariadb.sql")
    sellers = cat.tables["sellers"]
    assert list(sellers.columns) == [
        "id", "name", "name_lc", "name_len", "bio", "location", "rating", "kind",
    ]  # fmt: skip
    assert cat.column_type("sellers", "id") == "int unsigned"  # display width dropped
    assert cat.column_type("sellers", "NAME") == "varchar(100)"  # column names ignore case
    assert cat.column_type("sellers", "location") == "point"
    assert cat.column_type("sellers", "rating") == "decimal(3, 2)"
    assert cat.column_type("sellers", "kind") == "enum('pro', 'private')"
    assert cat.column_type("sellers", "nope") is None
    assert cat.column_type("nope", "id") is None
    assert not sellers.columns["id"].nullable and sellers.columns["bio"].nullable
    lc, length = sellers.columns["name_lc"], sellers.columns["name_len"]
    assert (lc.generated, lc.stored) == ("LOWER(`name`)", True)  # MariaDB PERSISTENT
    assert (length.generated, length.stored) == ("CHAR_LENGTH(`name`)", False)
    assert sellers.engine == "InnoDB" and sellers.comment == "sellers: every index kind"
    assert cat.tables["memo"].engine == "MEMORY"


def test_index_kinds_prefixes_visibility_and_order():
    sellers = Catalog.from_ddl(SCHEMAS / "features_mariadb.sql").tables["sellers"]
    idx = {i.name: i for i in sellers.indexes}
    assert sellers.primary_key == ["id"] and idx["PRIMARY"].primary and idx["PRIMARY"].unique
    assert idx["uk_name"].unique and not idx["uk_name"].primary
    assert idx["idx_name_lc"].prefix_lengths == [20] and not idx["idx_name_lc"].visible
    assert idx["idx_rating_desc"].descending == [True, False]
    assert idx["ft_bio"].kind == "FULLTEXT" and idx["sp_location"].kind == "SPATIAL"
    assert Catalog.from_ddl(SCHEMAS / "features_mariadb.sql").tables["memo"].indexes[0].kind == (
        "HASH"
    )  # MEMORY tables default to HASH indexes


def test_mysql_only_syntax():
    cat = Catalog.from_ddl(
        "CREATE TABLE t (id INT NOT NULL, a INT, b VARCHAR(50), g GEOMETRY NOT NULL SRID 4326,"
        " PRIMARY KEY (id), KEY k_inv (a) INVISIBLE, KEY k_vis (a) VISIBLE,"
        " KEY k_fn ((a + 1), b(5) DESC), UNIQUE KEY (b), UNIQUE (b, a), SPATIAL INDEX (g))"
    )
    idx = {i.name: i for i in cat.tables["t"].indexes}
    assert not idx["k_inv"].visible and idx["k_vis"].visible
    assert idx["k_fn"].columns == ["`a` + 1", "b"] and idx["k_fn"].expressions == [True, False]
    assert idx["k_fn"].to_ddl() == "INDEX `k_fn` ((`a` + 1), `b`(5) DESC)"
    # unnamed keys are named like MySQL does: first column, then _2, _3 ...
    assert idx["b"].columns == ["b"] and idx["b_2"].columns == ["b", "a"]
    assert idx["g"].kind == "SPATIAL"
    assert idx["k_inv"].to_ddl() == "INDEX `k_inv` (`a`) INVISIBLE"
    assert idx["k_inv"].to_ddl("mariadb") == "INDEX `k_inv` (`a`) IGNORED"
    # generated DDL speaks the dialect of its source
    assert cat.tables["t"].flavour == "mysql"
    assert Catalog.from_ddl(SCHEMAS / "features_mariadb.sql").tables["memo"].flavour == "mariadb"
    forced = Catalog.from_ddl("CREATE TABLE t (a INT)", flavour="mariadb")
    assert forced.tables["t"].flavour == "mariadb"


def test_foreign_keys_and_their_implicit_indexes():
    cat = Catalog.from_ddl(
        "USE shop; CREATE TABLE p (id INT PRIMARY KEY, a INT, b INT, KEY (a, b));"
        "CREATE TABLE c (id INT PRIMARY KEY, s INT, x INT, y INT,"
        " CONSTRAINT fk_s FOREIGN KEY (s) REFERENCES p (id) ON DELETE CASCADE,"
        " FOREIGN KEY (x, y) REFERENCES other.p (a, b), FOREIGN KEY named (y) REFERENCES p (id))"
    )
    c = cat.tables["c"]
    fks = [(f.name, f.columns, f.ref_schema, f.ref_table, f.ref_columns) for f in c.foreign_keys]
    assert fks == [
        ("fk_s", ["s"], "shop", "p", ["id"]),
        ("c_ibfk_2", ["x", "y"], "other", "p", ["a", "b"]),
        ("named", ["y"], "shop", "p", ["id"]),
    ]  # fmt: skip
    # InnoDB creates an index for a foreign key that has none: named after the constraint
    assert index_map(c)["fk_s"][0] == ["s"]
    assert index_map(c)["x"][0] == ["x", "y"]
    assert index_map(c)["named"][0] == ["y"]


def test_partitioning_every_kind():
    cat = Catalog.from_ddl(SCHEMAS / "features_mariadb.sql")
    offers, events, hits = (cat.tables[n].partitioning for n in ("offers", "events", "hits"))
    assert (offers.kind, offers.expression, offers.columns, offers.partitions) == (
        "RANGE COLUMNS", "`valid_from`", ["valid_from"], ["p2025", "pmax"])  # fmt: skip
    # inside a /*!50100 ... */ versioned comment, as mysqldump writes it
    assert (events.kind, events.columns, events.partitions) == ("LIST", ["region"], ["eu", "us"])
    assert (hits.kind, hits.partitions) == ("HASH", ["p0", "p1", "p2"])
    audit = Catalog.from_ddl(SCHEMAS / "marketplace.sql").tables["audit_log"].partitioning
    assert (audit.kind, audit.expression, audit.columns) == (
        "RANGE", "TO_DAYS(`created_at`)", ["created_at"])  # fmt: skip
    assert audit.partitions == ["p2025", "p2026", "pmax"]  # VALUES LESS THAN MAXVALUE, no parens
    key = Catalog.from_ddl("CREATE TABLE k (a INT, b INT) PARTITION BY LINEAR KEY ALGORITHM=2 "
                           "(a, b) PARTITIONS 2").tables["k"].partitioning  # fmt: skip
    assert (key.kind, key.columns, key.partitions) == ("LINEAR KEY", ["a", "b"], ["p0", "p1"])


def test_scripts_use_qualified_names_alter_create_index_and_dump_noise():
    cat = Catalog.from_ddl(SCHEMAS / "features_mariadb.sql")
    assert set(cat.tables) == {"sellers", "offers", "events", "clicks", "hits", "memo"}
    assert [i.name for i in cat.tables["offers"].indexes] == ["PRIMARY", "idx_sku", "idx_price"]
    assert [i.name for i in cat.tables["hits"].indexes] == ["uk_id_at"]  # ADD then DROP
    two = Catalog.from_ddl(
        "USE a; CREATE TABLE t (x INT); CREATE TABLE b.t (y INT); CREATE TABLE `we``ird` (z INT)"
    )
    assert two.table("a.t").columns.keys() == {"x"} and two.table("b.t").columns.keys() == {"y"}
    assert two.table("`b`.`t`") is two.table("b.t")
    # the first table keeps the bare name as key; a later one of the same name is qualified
    assert set(two.tables) == {"t", "b.t", "we`ird"} and two.table("t").schema == "a"
    assert two.table("we`ird").name == "we`ird"
    assert two.tables["we`ird"].sql_name() == "`a`.`we``ird`"


def test_alter_table_forms():
    cat = Catalog.from_ddl(
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c INT, KEY k (a, b), KEY kb (b),"
        " KEY kc (c));\n"
        "/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n"  # mysqldump noise: skipped
        "ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4;\n"  # nothing modelled: skipped
        "ALTER TABLE t DROP COLUMN b, CHANGE a a2 BIGINT NOT NULL, RENAME INDEX kc TO kc2,"
        " ALTER INDEX k INVISIBLE, ADD COLUMN d DATE, DROP PRIMARY KEY, ADD PRIMARY KEY (id, d),"
        " ALGORITHM=INPLACE"
    )
    t = cat.tables["t"]
    assert list(t.columns) == ["id", "a2", "c", "d"] and t.columns["a2"].type == "bigint"
    assert not t.columns["a2"].nullable and not t.columns["d"].nullable  # now in the PK
    # kb lost its only column with b, so it is gone
    assert [(i.name, i.columns, i.visible) for i in t.indexes] == [
        ("k", ["a2"], False), ("kc2", ["c"], True), ("PRIMARY", ["id", "d"], True),
    ]  # fmt: skip
    with pytest.raises(InputError, match=r"<ddl>:2: unsupported DDL syntax"):
        Catalog.from_ddl("CREATE TABLE t (a INT);\nALTER TABLE t ADD FROB")


def test_table_options_sqlglot_lacks_do_not_fail(caplog):
    cat = Catalog.from_ddl(
        "CREATE TABLE t (a INT, KEY (a)) ENGINE = InnoDB STATS_PERSISTENT=1 TABLESPACE ts1 "
        "COMMENT = 'hi' WITH SYSTEM VERSIONING"
    )
    t = cat.tables["t"]
    assert (t.engine, t.comment, [i.name for i in t.indexes]) == ("InnoDB", "hi", ["a"])
    with pytest.raises(InputError, match="unsupported DDL syntax"):
        Catalog.from_ddl("CREATE TABLE t (a INT); CREATE INDEX k ON t (a) FROB")
    assert not [r for r in caplog.records if "Falling back" in r.getMessage()]  # said once


def test_create_table_like_and_drop_table():
    cat = Catalog.from_ddl("CREATE TABLE t (a INT, KEY (a)); CREATE TABLE u LIKE t; DROP TABLE t")
    assert list(cat.tables) == ["u"] and cat.tables["u"].indexes[0].columns == ["a"]


def test_bad_ddl_names_file_line_and_statement(tmp_path):
    path = tmp_path / "schema.sql"
    path.write_text(
        "CREATE TABLE ok (a INT);\n\n-- a comment\nCREATE TABLE broken (\n  a INT,\n"
        "  KEY k (a b)\n);\n"
    )
    with pytest.raises(InputError) as err:
        Catalog.from_ddl(path)
    message = str(err.value)
    assert message.startswith(f"{path}:4: cannot parse DDL")
    assert "'CREATE TABLE broken ( a INT, KEY k (a b) )'" in message
    assert "\n" not in message
    with pytest.raises(InputError, match=r"cannot read DDL file"):
        Catalog.from_ddl(tmp_path / "missing.sql")
    with pytest.raises(InputError, match=r"<ddl>:1: ALTER of unknown table 'nope'"):
        Catalog.from_ddl("ALTER TABLE nope ADD INDEX (a)")
    with pytest.raises(InputError, match=r"cannot tokenize"):
        Catalog.from_ddl("CREATE TABLE t (a INT DEFAULT 'unterminated)\n")


def test_split_statements_respects_quotes_and_comments():
    script = "INSERT INTO t VALUES ('a; b'); -- x;\n/* y; */ SELECT 1;\nSELECT 2"
    assert split_statements(script) == [
        (1, "INSERT INTO t VALUES ('a; b')"), (2, "SELECT 1"), (3, "SELECT 2"),
    ]  # fmt: skip
    dump = "/*M!999999\\- enable the sandbox mode */ \n/*!40101 SET NAMES utf8mb4 */;\nUSE `x`;"
    assert split_statements(dump) == [(2, "SET NAMES utf8mb4"), (3, "USE `x`")]


# ---------------------------------------------------------------------------------------------
# Size estimate (formula in catalog.estimate_entry_bytes, documented in docs/hygiene.md)
# ---------------------------------------------------------------------------------------------
def test_type_widths():
    assert type_width("int") == 4 and type_width("bigint unsigned") == 8
    assert type_width("decimal(12, 2)") == 4 + 1 + 1  # 10 integer digits: 4 + 1; 2 decimals: 1
    assert type_width("datetime(3)") == 7 and type_width("char(2)") == 2
    assert type_width("varchar(64)") == 2 + 32 and type_width("varchar(1000)") == 2 + 127
    assert type_width("varchar(200)", prefix=10) == 12 and type_width("text", prefix=100) == 102
    assert type_width("enum('a', 'b')") == 1 and type_width("mystery") == 8


def test_index_bytes_estimate_by_hand():
    cat = Catalog.from_ddl(
        "CREATE TABLE t (id BIGINT PRIMARY KEY, a INT, b VARCHAR(64), KEY ka (a), KEY kab (a, id));"
        "CREATE TABLE h (a INT, KEY ka (a))",
        rows={"t": 1000, "h": 10},
    )
    t = cat.tables["t"]
    ka, kab = t.index("ka"), t.index("kab")
    assert estimate_entry_bytes(t, ka) == 4 + 8 + 7  # key + primary key + record overhead
    assert estimate_entry_bytes(t, kab) == 4 + 8 + 7  # the PK is stored once
    assert ka.bytes == math.ceil(1000 * 19 / PAGE_FILL) and not ka.bytes_measured
    assert estimate_entry_bytes(t, t.index("PRIMARY")) == 18 + 8 + 4 + 34
    h = cat.tables["h"]
    assert estimate_entry_bytes(h, h.index("ka")) == 4 + 6 + 7  # hidden 6-byte row id
    assert Catalog.from_ddl("CREATE TABLE t (a INT, KEY (a))").tables["t"].indexes[0].bytes is None
    with pytest.raises(InputError, match="unknown table"):
        Catalog.from_ddl("CREATE TABLE t (a INT)", rows={"x": 1})


def test_vanished_table_is_skipped_with_a_warning():
    tables = [
        {"TABLE_NAME": n, "ENGINE": "InnoDB", "TABLE_ROWS": 0, "DATA_LENGTH": 0,
         "INDEX_LENGTH": 0, "TABLE_COMMENT": ""}
        for n in ("kept", "gone")
    ]  # fmt: skip
    columns = [{"TABLE_NAME": "kept", "COLUMN_NAME": "a", "COLUMN_TYPE": "int(11)",
                "IS_NULLABLE": "NO", "EXTRA": "", "GENERATION_EXPRESSION": None}]  # fmt: skip
    with pytest.warns(UserWarning, match="table db.gone vanished"):
        found = assemble("db", tables, columns, [])
    assert [t.name for t in found] == ["kept"]


def test_ndv_from_mysql8_histograms():
    tables = [{"TABLE_NAME": "t", "ENGINE": "InnoDB", "TABLE_ROWS": 1000, "DATA_LENGTH": 16384,
               "INDEX_LENGTH": 0, "TABLE_COMMENT": ""}]  # fmt: skip
    columns = [
        {"TABLE_NAME": "t", "COLUMN_NAME": c, "COLUMN_TYPE": "int", "IS_NULLABLE": "YES",
         "EXTRA": "", "GENERATION_EXPRESSION": ""}
        for c in ("a", "b", "c")
    ]  # fmt: skip
    histograms = [  # information_schema.COLUMN_STATISTICS.HISTOGRAM, as MySQL 8 writes it
        {"TABLE_NAME": "t", "COLUMN_NAME": "a", "HISTOGRAM": '{"buckets": [[1, 0.5], [2, 1.0]],'
         ' "histogram-type": "singleton", "null-values": 0.0}'},
        {"TABLE_NAME": "t", "COLUMN_NAME": "b", "HISTOGRAM": '{"buckets": [[1, 40, 0.5, 40],'
         ' [41, 100, 1.0, 60]], "histogram-type": "equi-height"}'},
    ]  # fmt: skip
    (table,) = assemble("db", tables, columns, [], histograms=histograms)
    assert [table.columns[c].ndv for c in "abc"] == [2, 100, None]


# ---------------------------------------------------------------------------------------------
# Live server
# ---------------------------------------------------------------------------------------------
def load(server, database: str, path: Path) -> None:
    with server.connect(database=database) as conn, conn.cursor() as cur:
        for _, statement in split_statements(path.read_text()):
            cur.execute(statement)


@pytest.mark.server
@pytest.mark.parametrize("schema", LIVE_SCHEMAS)
def test_from_server_equals_from_ddl(dbtune_server, dbtune_database, schema):
    load(dbtune_server, dbtune_database, SCHEMAS / schema)
    ddl = Catalog.from_ddl(SCHEMAS / schema)
    with dbtune_server.connect() as conn:
        live = Catalog.from_server(conn, dbtune_database)
    assert set(live.tables) == set(ddl.tables)
    for name, table in ddl.tables.items():
        other = live.tables[name]
        assert other.schema == dbtune_database
        assert column_map(table) == column_map(other)
        assert index_map(table) == index_map(other)
        assert [(f.name, f.columns, f.ref_table, f.ref_columns) for f in table.foreign_keys] == [
            (f.name, f.columns, f.ref_table, f.ref_columns) for f in other.foreign_keys
        ]
        assert table.partitioning == other.partitioning
        assert table.engine.lower() == other.engine.lower()


@pytest.mark.server
@pytest.mark.skipif(shutil.which("mariadb-dump") is None, reason="no mariadb-dump")
def test_a_real_dump_reads_like_the_server(dbtune_server, dbtune_database, tmp_path):
    for schema in ("features_mariadb.sql", "marketplace.sql"):
        load(dbtune_server, dbtune_database, SCHEMAS / schema)
    dump = tmp_path / "dump.sql"
    with dump.open("w") as out:
        subprocess.run(
            ["mariadb-dump", "-h", dbtune_server.host, "-P", str(dbtune_server.port),
             "-u", dbtune_server.user, "--databases", dbtune_database],
            stdout=out, check=True, timeout=120,
            env={**os.environ, "MYSQL_PWD": dbtune_server.password or ""},
        )  # fmt: skip
    assert b"INSERT INTO" in dump.read_bytes() and b"/*!40000 ALTER TABLE" in dump.read_bytes()
    ddl = Catalog.from_ddl(dump)
    with dbtune_server.connect() as conn:
        live = Catalog.from_server(conn, dbtune_database)
    assert set(ddl.tables) == set(live.tables)
    for name, table in live.tables.items():
        other = ddl.tables[name]
        assert other.schema == dbtune_database  # from the dump's USE
        assert column_map(other) == column_map(table) and index_map(other) == index_map(table)
        assert (other.partitioning, other.comment) == (table.partitioning, table.comment)


@pytest.mark.server
def test_server_statistics_rows_ndv_and_measured_sizes(dbtune_server, dbtune_database):
    load(dbtune_server, dbtune_database, SCHEMAS / "fk_orders.sql")
    with dbtune_server.connect(database=dbtune_database) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO customers (email) SELECT CONCAT('c', seq, '@x') FROM seq_1_to_50")
        cur.execute(
            "INSERT INTO orders (customer_id, created_at, status) SELECT 1 + seq % 50, "
            "NOW() - INTERVAL seq MINUTE, ELT(1 + seq % 4, 'new', 'paid', 'sent', 'done') "
            "FROM seq_1_to_2000"
        )
        cur.execute("ANALYZE TABLE orders PERSISTENT FOR ALL")
        cur.fetchall()
        live = Catalog.from_server(conn, dbtune_database)
    orders = live.tables["orders"]
    assert orders.rows is not None and 1500 <= orders.rows <= 2500  # InnoDB's estimate
    assert orders.columns["status"].ndv == 4  # mysql.column_stats (engine-independent stats)
    assert 40 <= orders.columns["customer_id"].ndv <= 60
    assert all(i.bytes_measured and i.bytes >= 16384 for i in orders.indexes)
    assert live.tables["customers"].flavour == "mariadb"


@pytest.mark.server
def test_ndv_falls_back_to_index_cardinality(dbtune_server, dbtune_database):
    with dbtune_server.connect(database=dbtune_database) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY ka (a))")
        cur.execute("INSERT INTO t SELECT seq, seq % 7 FROM seq_1_to_700")
        cur.execute("ANALYZE TABLE t")  # InnoDB statistics only, no column_stats
        cur.fetchall()
        live = Catalog.from_server(conn, dbtune_database)
    assert live.tables["t"].columns["a"].ndv == live.tables["t"].index("ka").cardinality
    assert live.tables["t"].columns["a"].ndv is not None


def test_index_defaults_fill_parallel_lists():
    index = Index("k", ["a", "b"])
    assert index.prefix_lengths == [None, None] and index.descending == [False, False]
    assert index.expressions == [False, False] and index.to_ddl() == "INDEX `k` (`a`, `b`)"
