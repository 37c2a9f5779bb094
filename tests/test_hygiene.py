"""Index hygiene: each rule alone, the never-drop guarantees, hostile names, pt agreement, CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import sqlglot
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from dbtune.advise.hygiene import (
    UNUSED_CAVEAT,
    clustered_suffix_indexes,
    covers,
    duplicate_indexes,
    find_hygiene,
    hygiene_frame,
    left_prefix_indexes,
    protection,
    unique_subsumed_indexes,
    unused_indexes,
)
from dbtune.catalog import Catalog, Index, split_statements
from dbtune.cli import main

SCHEMAS = Path(__file__).resolve().parent.parent / "fixtures" / "schemas"
PT_SCHEMAS = ["marketplace.sql", "fk_orders.sql", "prefix_indexes.sql", "features_mariadb.sql",
              "fk_unique_implied.sql"]


def table_of(ddl: str, name: str = "t"):
    return Catalog.from_ddl(ddl).tables[name]


def summary(findings) -> list[tuple]:
    return [(f.table, f.index, f.kind, f.redundant_with) for f in findings]


# ---------------------------------------------------------------------------------------------
# covers(): the left-prefix relation, prefix lengths considered
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("long", "short", "expected"),
    [
        (["a", "b"], ["a"], True),
        (["a", "b"], ["b"], False),
        (["a"], ["a", "b"], False),
        (["a(20)"], ["a(10)"], True),  # a 10-char prefix is covered by a 20-char one
        (["a(10)"], ["a(20)"], False),
        (["a"], ["a(50)"], True),  # the full column covers any prefix of it
        (["a(50)"], ["a"], False),  # ... but not the other way round (pt gets this wrong)
        (["a(20)", "b"], ["a(10)"], True),
        (["a(20)", "b"], ["a(10)", "b"], False),  # parts before the last must match exactly
        (["a DESC", "b"], ["a"], False),  # direction matters
    ],
)
def test_covers(long, short, expected):
    def index(parts):
        cols, prefixes, desc = [], [], []
        for part in parts:
            m = re.fullmatch(r"(\w+)(?:\((\d+)\))?( DESC)?", part)
            cols.append(m[1])
            prefixes.append(int(m[2]) if m[2] else None)
            desc.append(bool(m[3]))
        return Index("k", cols, prefixes, descending=desc)

    assert covers(index(long), index(short)) is expected


# ---------------------------------------------------------------------------------------------
# Each rule alone
# ---------------------------------------------------------------------------------------------
def test_duplicate_rule():
    t = table_of(
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c INT, UNIQUE KEY u_id (id),"
        " KEY k2 (a, b), KEY k1 (a, b), UNIQUE KEY u2 (c), UNIQUE KEY u1 (c),"
        " KEY kv (b), KEY a_inv (b) INVISIBLE, FULLTEXT KEY f1 (x, y), FULLTEXT KEY f2 (y, x))"
    )
    found = {f.index: f.redundant_with for f in duplicate_indexes(t, t.indexes)}
    assert found == {
        "u_id": "PRIMARY",  # a UNIQUE key repeating the primary key
        "k2": "k1",  # equal indexes: the first by name stays (as pt-duplicate-key-checker)
        "u2": "u1",  # two identical UNIQUE keys: one still enforces the constraint
        "a_inv": "kv",  # the invisible one goes, whatever the names say
        "f2": "f1",  # FULLTEXT: column order does not matter
    }


def test_unique_subsumed_rule():
    t = table_of(
        "CREATE TABLE t (id INT, a INT, b INT, PRIMARY KEY (id), UNIQUE KEY u (a, b),"
        " KEY k_id (id), KEY k_ab (a, b), KEY k_ba (b, a))"
    )
    found = unique_subsumed_indexes(t, t.indexes)
    assert [(f.index, f.redundant_with, f.kind) for f in found] == [
        ("k_id", "PRIMARY", "unique-subsumed"),
        ("k_ab", "u", "unique-subsumed"),
    ]
    assert found[0].reason == "k_id has the same columns as the primary key"


def test_left_prefix_rule():
    t = table_of(
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c VARCHAR(50), txt TEXT,"
        " UNIQUE KEY u_a (a), KEY k_ab (a, b), KEY k_abc (a, b, c(10)), KEY k_c5 (c(5)),"
        " KEY k_c (c), FULLTEXT KEY f (txt), KEY k_b (b) INVISIBLE, KEY k_bi (b, id))"
    )
    found = {f.index: f.redundant_with for f in left_prefix_indexes(t, t.indexes)}
    # u_a is unique: never a left-prefix candidate; the longest covering index is named
    assert found == {"k_ab": "k_abc", "k_c5": "k_c", "k_b": "k_bi"}
    assert "a left prefix of k_abc" in left_prefix_indexes(t, t.indexes)[0].reason
    assert left_prefix_indexes(t, [i for i in t.indexes if i.name != "k_bi"]) != []


def test_left_prefix_never_relies_on_an_invisible_index():
    t = table_of("CREATE TABLE t (a INT, b INT, KEY k_a (a), KEY k_ab (a, b) INVISIBLE)")
    assert left_prefix_indexes(t, t.indexes) == []


def test_clustered_suffix_rule():
    t = table_of(
        "CREATE TABLE t (id INT, d DATE, a INT, b INT, PRIMARY KEY (id, d),"
        " KEY k1 (a, id, d), KEY k2 (a, id), KEY k3 (id, d, a), UNIQUE KEY u (b, id, d))"
    )
    (finding,) = clustered_suffix_indexes(t, t.indexes)
    assert (finding.index, finding.redundant_with, finding.bytes_freed) == ("k1", "PRIMARY", 0)
    assert finding.drop_sql == (
        "ALTER TABLE `t` DROP INDEX `k1`, ADD INDEX `k1` (`a`), ALGORITHM=INPLACE, LOCK=NONE")
    assert finding.rollback_sql == ("ALTER TABLE `t` DROP INDEX `k1`, ADD INDEX `k1` "
                                    "(`a`, `id`, `d`), ALGORITHM=INPLACE, LOCK=NONE")
    myisam = table_of("CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY k (a, id)) ENGINE=MyISAM")
    assert clustered_suffix_indexes(myisam, myisam.indexes) == []  # only InnoDB clusters
    # no primary key: InnoDB clusters on the first UNIQUE NOT NULL index
    nopk = table_of("CREATE TABLE t (u INT NOT NULL, a INT, UNIQUE KEY uu (u), KEY k (a, u))")
    assert summary(clustered_suffix_indexes(nopk, nopk.indexes)) == [
        ("t", "k", "clustered-suffix", "uu")
    ]


def test_unused_rule_with_dict_and_performance_schema_frame():
    t = table_of(
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c INT, UNIQUE KEY u (c),"
        " KEY ka (a), KEY kb (b))"
    )
    usage = {("t", "ka"): 0, ("t", "PRIMARY"): 0, ("t", "u"): 0}  # kb: no data, not flagged
    found = unused_indexes(t, t.indexes, usage)
    assert [f.index for f in found] == ["ka"] and UNUSED_CAVEAT in found[0].reason
    assert unused_indexes(t, t.indexes, None) == []
    frame = pd.DataFrame(
        {"OBJECT_SCHEMA": ["shop", "shop", "shop"], "OBJECT_NAME": ["t", "t", "t"],
         "INDEX_NAME": ["ka", "kb", None], "COUNT_STAR": [5, 12, 99], "COUNT_READ": [0, 12, 99]}
    )  # fmt: skip
    assert [f.index for f in unused_indexes(t, t.indexes, frame)] == ["ka"]  # t has no schema
    t.schema = "shop"
    assert [f.index for f in unused_indexes(t, t.indexes, frame)] == ["ka"]
    plain = pd.DataFrame({"table": ["t"], "index": ["kb"], "reads": [0]})
    assert [f.index for f in unused_indexes(t, t.indexes, plain)] == ["kb"]


# ---------------------------------------------------------------------------------------------
# Never-drop guarantees
# ---------------------------------------------------------------------------------------------
def test_never_drops_primary_unique_or_foreign_key_indexes():
    cat = Catalog.from_ddl(SCHEMAS / "fk_orders.sql")
    cat.add(table_of("CREATE TABLE codes (id INT PRIMARY KEY, code INT NOT NULL, KEY k (code))",
                     "codes"))  # fmt: skip
    cat.add(table_of("CREATE TABLE uses (id INT PRIMARY KEY, code INT,"
                     " FOREIGN KEY (code) REFERENCES codes (code))", "uses"))  # fmt: skip
    usage = {(t.name, i.name): 0 for t in cat.tables.values() for i in t.indexes}
    found = find_hygiene(cat, usage)
    dropped = {(f.table, f.index) for f in found}
    assert ("order_items", "PRIMARY") not in dropped  # primary key
    assert ("products", "uk_sku") not in dropped  # enforces uniqueness
    assert ("order_items", "idx_product") not in dropped  # the only index of fk_items_product
    assert ("codes", "k") not in dropped  # the referenced side of a foreign key
    assert ("uses", "code") not in dropped  # InnoDB's implicit FK index
    assert ("orders", "idx_status") in dropped  # unused and unprotected
    orders = cat.tables["orders"]
    # idx_customer may go (left prefix), but then idx_customer_created is fk_orders_customer's
    assert ("orders", "idx_customer") in dropped
    assert ("orders", "idx_customer_created") not in dropped
    only = [i for i in orders.indexes if i.name != "idx_customer"]
    assert protection(cat, orders, orders.index("idx_customer_created"), only[:1]) == (
        "foreign key fk_orders_customer needs it"
    )


def test_unique_dropped_only_when_an_identical_unique_remains():
    t = table_of("CREATE TABLE t (a INT, b INT, UNIQUE KEY u1 (a), UNIQUE KEY u_ab (a, b))")
    cat = Catalog({"t": t})
    assert protection(cat, t, t.index("u1"), [t.index("u_ab")]) == "it enforces a UNIQUE constraint"
    assert find_hygiene(cat, {("t", "u1"): 0, ("t", "u_ab"): 0}) == []


INDEX_PARTS = st.lists(st.sampled_from(["id", "a", "b", "c(8)", "c"]), min_size=1, max_size=3,
                       unique_by=lambda p: p.split("(")[0])  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["KEY", "UNIQUE KEY"]), INDEX_PARTS), max_size=6),
    st.sampled_from([[], ["a"], ["a", "b"]]),
    st.booleans(),
)
def test_guarantees_hold_on_random_schemas(keys, fk_columns, all_unused):
    """After applying every finding: the PK stays, every unique constraint and foreign key is
    still served, and every index dropped as redundant is covered by one that remains."""
    defs = [f"{kind} k{n} ({', '.join(parts)})" for n, (kind, parts) in enumerate(keys)]
    if fk_columns:
        defs.append(f"FOREIGN KEY ({', '.join(fk_columns)}) REFERENCES p (x, y)"[: None])
    ddl = (
        "CREATE TABLE p (x INT, y INT, PRIMARY KEY (x, y));"
        "CREATE TABLE t (id INT NOT NULL, a INT, b INT, c VARCHAR(20), PRIMARY KEY (id)"
        + "".join(", " + d for d in defs) + ")"
    )  # fmt: skip
    if fk_columns == ["a"]:
        ddl = ddl.replace("REFERENCES p (x, y)", "REFERENCES p (x)")
    cat = Catalog.from_ddl(ddl)
    t = cat.tables["t"]
    usage = {("t", i.name): 0 for i in t.indexes} if all_unused else None
    found = [f for f in find_hygiene(cat, usage) if f.table == "t"]
    standing = list(t.indexes)
    for f in found:
        gone = t.index(f.index)
        standing = [f.replacement if i is gone else i for i in standing if
                    i is not gone or f.replacement is not None]  # fmt: skip
    names = {i.name for i in standing}
    assert "PRIMARY" in names
    for index in t.indexes:  # every uniqueness still enforced: by the same parts, or by a
        if index.unique:      # one-column unique key on one of its columns (stronger)
            assert any(s.unique and (s.key == index.key or (
                len(s.columns) == 1 and s.prefix_lengths == [None]
                and s.columns[0] in index.columns)) for s in standing)
    for fk in t.foreign_keys:
        assert any(s.columns[: len(fk.columns)] == fk.columns for s in standing)

    def extended(index: Index) -> Index:  # what InnoDB stores: the key, then the PK columns
        if index.primary:
            return index
        tail = [c for c in t.primary_key if c not in index.columns]
        return Index(index.name, index.columns + tail, index.prefix_lengths + [None] * len(tail))

    for f in found:
        if f.kind in ("duplicate", "unique-subsumed", "left-prefix"):
            keeper = next(s for s in standing if s.name == f.redundant_with)
            dropped = t.index(f.index)
            assert (
                covers(keeper, dropped)
                or keeper.key == dropped.key
                or extended(keeper).key == extended(dropped).key  # after a clustered-suffix fix
            )


# ---------------------------------------------------------------------------------------------
# The fixture schemas: expected findings
# ---------------------------------------------------------------------------------------------
def test_fixture_findings():
    found = find_hygiene(Catalog.from_ddl(SCHEMAS / "marketplace.sql"))
    assert sorted(summary(found)) == sorted([
        ("users", "idx_email", "unique-subsumed", "uk_email"),
        ("users", "idx_country", "left-prefix", "idx_country_created"),
        ("users", "idx_created_id", "clustered-suffix", "PRIMARY"),
        ("listings", "idx_channel", "left-prefix", "uk_channel_external"),
        ("listings", "idx_seller_status_2", "duplicate", "idx_seller_status"),
        ("listings", "ft_title_2", "duplicate", "ft_title"),
        ("sessions", "uk_session", "duplicate", "PRIMARY"),
        ("sessions", "idx_user", "left-prefix", "idx_user_expires"),
        ("audit_log", "idx_entity", "clustered-suffix", "PRIMARY"),
    ])  # fmt: skip
    found = find_hygiene(Catalog.from_ddl(SCHEMAS / "prefix_indexes.sql"))
    assert sorted(summary(found)) == sorted([
        ("catalog_items", "idx_name10", "left-prefix", "idx_name_brand10"),
        ("catalog_items", "idx_name20", "left-prefix", "idx_name_brand20"),
        ("catalog_items", "idx_slug50", "left-prefix", "idx_slug"),
        ("catalog_items", "idx_brand20", "left-prefix", "idx_brand_name"),
        ("catalog_items", "idx_descr_2", "duplicate", "idx_descr"),
        ("tags", "idx_label20", "left-prefix", "uk_label40"),
    ])  # fmt: skip


def test_frame_and_sizes():
    cat = Catalog.from_ddl(SCHEMAS / "fk_orders.sql", rows={"orders": 1_000_000})
    frame = hygiene_frame(find_hygiene(cat))
    assert list(frame.columns) == [
        "table", "index", "kind", "columns", "redundant_with", "bytes_freed", "bytes_per_row",
        "reason", "drop_sql", "rollback_sql",
    ]  # fmt: skip
    row = frame.set_index("index").loc["idx_customer"]
    assert row["bytes_per_row"] == 4 + 8 + 7 and row["bytes_freed"] == 27_142_858
    assert pd.isna(frame.set_index("index").loc["idx_order", "bytes_freed"])  # rows unknown
    assert hygiene_frame([]).empty


# ---------------------------------------------------------------------------------------------
# Hostile names never become a second statement
# ---------------------------------------------------------------------------------------------
HOSTILE = "x`; DROP TABLE y; --"
HOSTILE_DDL = (
    "CREATE TABLE y (a INT);\n"
    "CREATE TABLE `x``; DROP TABLE y; --` (id INT PRIMARY KEY, a INT,"
    " KEY `k``; DROP TABLE y; --` (a), KEY `k2` (a))"
)


def test_hostile_names_are_quoted_by_sqlglot():
    found = find_hygiene(Catalog.from_ddl(HOSTILE_DDL))
    assert [(f.table, f.index) for f in found] == [(HOSTILE, "k`; DROP TABLE y; --")]
    for sql in (found[0].drop_sql, found[0].rollback_sql):
        statements = sqlglot.parse(sql, read="mysql")
        assert len([s for s in statements if s is not None]) == 1
        assert statements[0].this.name == HOSTILE
    assert found[0].drop_sql == (
        "ALTER TABLE `x``; DROP TABLE y; --` DROP INDEX `k``; DROP TABLE y; --`, "
        "ALGORITHM=INPLACE, LOCK=NONE"
    )


# ---------------------------------------------------------------------------------------------
# Live server: DDL round trip, hostile names executed, pt-duplicate-key-checker agreement
# ---------------------------------------------------------------------------------------------
def load(server, database: str, script: str) -> None:
    with server.connect(database=database) as conn, conn.cursor() as cur:
        for _, statement in split_statements(script):
            cur.execute(statement)


def live_catalog(server, database: str) -> Catalog:
    with server.connect() as conn:
        return Catalog.from_server(conn, database)


def shape(catalog: Catalog) -> dict:
    return {n: sorted((i.name, i.to_ddl()) for i in t.indexes) for n, t in catalog.tables.items()}


@pytest.mark.server
def test_drop_and_rollback_round_trip_live(dbtune_server, dbtune_database):
    load(dbtune_server, dbtune_database, (SCHEMAS / "marketplace.sql").read_text())
    load(dbtune_server, dbtune_database, HOSTILE_DDL)
    load(dbtune_server, dbtune_database,
         "CREATE TABLE inv (id INT PRIMARY KEY, a INT, KEY k1 (a), KEY k2 (a) IGNORED)")
    before = live_catalog(dbtune_server, dbtune_database)
    found = find_hygiene(before)
    assert len(found) == 11
    # the rollback of an ignored index uses MariaDB's word for it
    assert [f.rollback_sql for f in found if f.index == "k2"] == [
        f"ALTER TABLE `{dbtune_database}`.`inv` ADD INDEX `k2` (`a`) IGNORED, "
        "ALGORITHM=INPLACE, LOCK=NONE"
    ]
    with dbtune_server.connect(database=dbtune_database) as conn, conn.cursor() as cur:
        for f in found:
            cur.execute(f.drop_sql)
        after = live_catalog(dbtune_server, dbtune_database)
        assert "y" in after.tables and HOSTILE in after.tables  # nothing else was run
        assert find_hygiene(after) == []  # the fixes leave nothing to fix
        for f in reversed(found):
            cur.execute(f.rollback_sql)
    assert shape(live_catalog(dbtune_server, dbtune_database)) == shape(before)


def parse_pt(output: str) -> set[tuple[str, str, str]]:
    """(table, index, kind) of each pt-duplicate-key-checker finding."""
    found, reason = set(), None
    for line in output.splitlines():
        if line.startswith("# ") and (" is a " in line or "clustered index" in line):
            reason = line
        match = re.match(r"ALTER TABLE `[^`]+`\.`([^`]+)` DROP FOREIGN KEY `([^`]+)`", line)
        if match:
            found.add((match[1], match[2], "duplicate-fk"))
        match = re.match(r"ALTER TABLE `[^`]+`\.`([^`]+)` DROP INDEX `([^`]+)`", line)
        if match:
            kind = ("clustered-suffix" if "clustered index" in reason
                    else "left-prefix" if "left-prefix" in reason else "duplicate")  # fmt: skip
            found.add((match[1], match[2], kind))
    return found


#: Where dbtune and pt-duplicate-key-checker 3.x differ on the fixture schemas, and why.
PT_DIFFERENCES = {
    # pt compares the column lists as strings: "`slug`" is a string prefix of "`slug`(50)", so
    # it proposes dropping the FULL index in favour of a 50-char prefix (losing sorting and
    # exact lookups); dbtune drops the prefix index, which the full one covers.
    "prefix_indexes.sql": {
        "dbtune_only": {("catalog_items", "idx_slug50", "left-prefix"),
                        # "`brand`(20)" is no string prefix of "`brand`,`name`(30)", but the
                        # full brand column covers its 20-char prefix
                        ("catalog_items", "idx_brand20", "left-prefix"),
                        # likewise "`label`(20)" vs the unique "`label`(40)"
                        ("tags", "idx_label20", "left-prefix")},
        "pt_only": {("catalog_items", "idx_slug", "left-prefix")},
    },
}  # fmt: skip


@pytest.mark.server
@pytest.mark.skipif(shutil.which("pt-duplicate-key-checker") is None, reason="no percona-toolkit")
@pytest.mark.parametrize("schema", PT_SCHEMAS)
def test_agreement_with_pt_duplicate_key_checker(dbtune_server, dbtune_database, schema):
    load(dbtune_server, dbtune_database, (SCHEMAS / schema).read_text())
    catalog = live_catalog(dbtune_server, dbtune_database)

    def pt_kind(f) -> str:  # pt names a unique key whose uniqueness it ignores by the rest
        if f.kind == "unique-implied":
            table = catalog.tables[f.table.split(".")[-1]]
            same = table.index(f.index).key[1] == table.index(f.redundant_with).key[1]
            return "duplicate" if same else "left-prefix"
        return f.kind.replace("unique-subsumed", "duplicate")

    ours = {(f.table.split(".")[-1], f.index, pt_kind(f)) for f in find_hygiene(catalog)}
    run = subprocess.run(
        ["pt-duplicate-key-checker", "--host", dbtune_server.host, "--port",
         str(dbtune_server.port), "--user", dbtune_server.user, "--databases", dbtune_database],
        capture_output=True, text=True, timeout=120, check=True,
        env={**os.environ, "MYSQL_PWD": dbtune_server.password or ""},
    )  # fmt: skip
    theirs = parse_pt(run.stdout)
    assert theirs, run.stdout  # the parser found pt's findings
    expected = PT_DIFFERENCES.get(schema, {})
    assert ours - theirs == expected.get("dbtune_only", set())
    assert theirs - ours == expected.get("pt_only", set())


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------
def test_cli_formats_and_output_file(tmp_path):
    runner = CliRunner()
    args = ["advise", "hygiene", "--schema", str(SCHEMAS / "fk_orders.sql")]
    table = runner.invoke(main, args)
    assert table.exit_code == 0, table.output
    assert "idx_customer" in table.output and "left-prefix" in table.output
    markdown = runner.invoke(main, [*args, "--format", "markdown"]).output
    assert markdown.startswith("## Index hygiene\n\n| table")
    assert "```sql\nALTER TABLE `orders` DROP INDEX `idx_customer`" in markdown
    document = json.loads(runner.invoke(main, [*args, "--format", "json"]).output)
    rows = document["findings"]
    assert [r["index"] for r in rows] == ["idx_customer", "idx_order", "idx_order_id"]
    assert rows[0]["rollback_sql"] == (
        "ALTER TABLE `orders` ADD INDEX `idx_customer` (`customer_id`), "
        "ALGORITHM=INPLACE, LOCK=NONE"
    )
    assert document["statements"] == [r["drop_sql"] for r in rows]
    out = tmp_path / "h.csv"
    result = runner.invoke(main, [*args, "--schema", str(SCHEMAS / "marketplace.sql"),
                                  "--format", "csv", "--output", str(out)])  # fmt: skip
    assert result.exit_code == 0
    assert len(pd.read_csv(out)) == 3 + 9


def test_cli_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE t (\n a INT,\n KEY (a b));\n")
    runner = CliRunner()
    for args, expected in [
        (["--schema", str(bad)], f"dbtune: error: {bad}:1: cannot parse DDL"),
        (["--schema", str(tmp_path / "none.sql")], "cannot read DDL file"),
        ([], "give either --schema FILE... or --dsn DSN --database DB"),
        (["--schema", str(bad), "--dsn", "mysql://root@127.0.0.1:1/"], "give either"),
        (["--dsn", "postgres://x@y/"], "bad DSN"),
        (["--schema", "/etc/passwd"], "/etc/passwd: no CREATE TABLE statement"),
        (["--schema", str(tmp_path)], "is a directory"),
        (["--schema", str(bad), "--output", str(tmp_path / "no" / "x")], "does not exist"),
        (["--schema", str(SCHEMAS / "fk_orders.sql"), "--output", str(tmp_path)],
         "is a directory"),
    ]:
        result = runner.invoke(main, ["advise", "hygiene", *args])
        assert result.exit_code == 2, result.output
        assert expected in result.output and result.output.count("\n") == 1
        assert "Traceback" not in result.output


@pytest.mark.server
def test_cli_dsn_reads_the_server_without_printing_the_password(dbtune_server, dbtune_database):
    load(dbtune_server, dbtune_database, (SCHEMAS / "fk_orders.sql").read_text())
    runner = CliRunner()
    dsn = f"mysql://{dbtune_server.user}@{dbtune_server.host}:{dbtune_server.port}/"
    env = {"MYSQL_PWD": dbtune_server.password or ""}
    result = runner.invoke(main, ["advise", "hygiene", "--dsn", dsn, "--database",
                                  dbtune_database, "--format", "json"], env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [r["index"] for r in document["findings"] if r["kind"] != "unused"] == [
        "idx_customer", "idx_order", "idx_order_id",
    ]  # fmt: skip
    # the tables were only created: performance_schema saw no reads, and the note says
    # what the counters cover
    assert all("no reads" in r["reason"] for r in document["findings"] if r["kind"] == "unused")
    assert "performance_schema" in document["notes"][0]
    assert "since the server started" in document["notes"][0]
    missing = runner.invoke(main, ["advise", "hygiene", "--dsn", dsn, "--database", "nope"],
                            env=env)  # fmt: skip
    assert missing.exit_code == 2 and "has no tables" in missing.output
    assert (dbtune_server.password or "unset") not in missing.output


# ---------------------------------------------------------------------------------------------
# pt-duplicate-key-checker's other classes: duplicate foreign keys, uniqueness implied
# ---------------------------------------------------------------------------------------------
def test_duplicate_foreign_keys_and_implied_uniqueness():
    cat = Catalog.from_ddl(SCHEMAS / "fk_unique_implied.sql")
    found = {(f.table, f.index): f for f in find_hygiene(cat)}
    assert set(found) == {("child", "fk_parent_again"), ("ledger", "uk_id_account")}
    fk = found[("child", "fk_parent_again")]
    assert (fk.kind, fk.redundant_with) == ("duplicate-fk", "fk_parent")
    assert fk.drop_sql == ("ALTER TABLE `child` DROP FOREIGN KEY `fk_parent_again`, "
                           "ALGORITHM=INPLACE, LOCK=NONE")
    assert fk.rollback_sql == ("ALTER TABLE `child` ADD CONSTRAINT `fk_parent_again` FOREIGN KEY "
                               "(`parent_id`) REFERENCES `parent` (`id`)")
    assert fk.to_advice().kind == "drop_foreign_key"
    unique = found[("ledger", "uk_id_account")]
    assert (unique.kind, unique.redundant_with) == ("unique-implied", "idx_id_account_amount")
    assert "PRIMARY" in unique.reason
    # not the same constraint: other actions, or no index serving the unique key's lookups
    other = Catalog.from_ddl(
        "CREATE TABLE p (id INT PRIMARY KEY);"
        "CREATE TABLE c (id INT PRIMARY KEY, p INT, a INT, UNIQUE KEY u (id, a),"
        " CONSTRAINT f1 FOREIGN KEY (p) REFERENCES p (id),"
        " CONSTRAINT f2 FOREIGN KEY (p) REFERENCES p (id) ON DELETE CASCADE)")
    assert find_hygiene(other) == []


@pytest.mark.server
def test_foreign_key_and_unique_fixes_round_trip_live(dbtune_server, dbtune_database):
    load(dbtune_server, dbtune_database, (SCHEMAS / "fk_unique_implied.sql").read_text()
         + "ALTER TABLE child ADD CONSTRAINT fk_cascade FOREIGN KEY (parent_id) "
           "REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE;"
           "ALTER TABLE child ADD CONSTRAINT fk_cascade_2 FOREIGN KEY (parent_id) "
           "REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE;")
    before = live_catalog(dbtune_server, dbtune_database)
    found = find_hygiene(before)
    assert {(f.index, f.kind) for f in found} == {
        ("fk_parent_again", "duplicate-fk"), ("fk_cascade_2", "duplicate-fk"),
        ("uk_id_account", "unique-implied")}
    with dbtune_server.connect(database=dbtune_database) as conn, conn.cursor() as cur:
        for f in found:
            cur.execute(f.drop_sql)
        assert find_hygiene(live_catalog(dbtune_server, dbtune_database)) == []
        for f in reversed(found):
            cur.execute(f.rollback_sql)
    after = live_catalog(dbtune_server, dbtune_database)
    assert shape(after) == shape(before)
    assert ({(t, f.name, f.key) for t, x in after.tables.items() for f in x.foreign_keys}
            == {(t, f.name, f.key) for t, x in before.tables.items() for f in x.foreign_keys})


# ---------------------------------------------------------------------------------------------
# Usage counters of the --dsn server
# ---------------------------------------------------------------------------------------------
@pytest.mark.server
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sysbench") is None, reason="no sysbench")
def test_hygiene_on_a_server_finds_sysbench_k_1_unused(dbtune_server, dbtune_database):
    """sysbench's oltp_read_write writes k (UPDATE ... SET k = k + 1) but never reads k_1."""
    connection = ["--db-driver=mysql", f"--mysql-host={dbtune_server.host}",
                  f"--mysql-port={dbtune_server.port}", f"--mysql-user={dbtune_server.user}",
                  f"--mysql-password={dbtune_server.password or ''}",
                  f"--mysql-db={dbtune_database}", "--tables=2", "--table-size=2000"]
    for step in (["prepare"], ["--time=3", "--threads=2", "run"]):
        subprocess.run(["sysbench", "oltp_read_write", *connection, *step], check=True,
                       capture_output=True, timeout=300)
    dsn = f"mysql://{dbtune_server.user}@{dbtune_server.host}:{dbtune_server.port}/"
    result = CliRunner().invoke(main, ["advise", "hygiene", "--dsn", dsn, "--database",
                                       dbtune_database, "--format", "json"],
                                env={"MYSQL_PWD": dbtune_server.password or ""})
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    unused = {(r["table"], r["index"]) for r in document["findings"] if r["kind"] == "unused"}
    assert unused == {(f"{dbtune_database}.sbtest1", "k_1"), (f"{dbtune_database}.sbtest2", "k_2")}
    (note,) = document["notes"]
    assert "performance_schema" in note and "since the server started" in note


@pytest.mark.server
def test_hygiene_usage_falls_back_to_userstat_and_says_when_there_is_none(
        dbtune_server, dbtune_database):
    from dbtune.advise.usage import server_index_usage

    load(dbtune_server, dbtune_database, "CREATE TABLE u (id INT PRIMARY KEY, a INT, b INT, "
                                         "KEY ka (a), KEY kb (b));"
                                         "INSERT INTO u VALUES (1, 1, 1), (2, 2, 2);")
    off = ("UPDATE performance_schema.setup_instruments SET ENABLED = '{}' "
           "WHERE NAME = 'wait/io/table/sql/handler'")
    with dbtune_server.connect(database=dbtune_database) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.userstat")
        (userstat,) = cur.fetchone()
        catalog = live_catalog(dbtune_server, dbtune_database)
        try:
            cur.execute(off.format("NO"))  # performance_schema no longer counts table I/O
            cur.execute("SET GLOBAL userstat = 1")
            cur.execute("FLUSH INDEX_STATISTICS")
            cur.execute("SELECT id FROM u FORCE INDEX (ka) WHERE a = 2")
            cur.fetchall()
            usage = server_index_usage(conn, catalog)
            assert usage.source == "userstat" and "userstat" in usage.note
            assert usage.reads[(f"{dbtune_database}.u", "ka")] > 0
            assert usage.reads[(f"{dbtune_database}.u", "kb")] == 0
            cur.execute("SET GLOBAL userstat = 0")
            usage = server_index_usage(conn, catalog)
            assert (usage.source, usage.reads) == ("none", None)
            assert "unused indexes were not checked" in usage.note
        finally:
            cur.execute(off.format("YES"))
            cur.execute(f"SET GLOBAL userstat = {int(userstat)}")
