"""Issue 12, TPC-H's shapes: a join driven from a small filtered table reaches the big one
through an index on its foreign key, and a narrow constant date range is priced from the
server's statistics (MariaDB column_stats, MySQL 8 histograms) instead of a fixed 1/3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_advise_indexes import Klass, _find
from test_advise_shapes import load

from dbtune.access import access_patterns
from dbtune.advise.estimate import estimate, full_scan
from dbtune.advise.indexes import advise_indexes
from dbtune.advise.joinorder import join_order
from dbtune.advise.need import Need, TableInfo
from dbtune.advise.needs import table_info
from dbtune.catalog import Catalog
from dbtune.catalog.histogram import axis_value, fraction_between, mariadb_points, mysql_points
from dbtune.catalog.server import assemble


def explain_keys(server: Any, database: str, plan: Any, sql: str) -> dict[str, str | None]:
    """Table -> the key EXPLAIN FORMAT=JSON uses for ``sql`` with the plan's indexes built."""
    with server.connect(database) as connection, connection.cursor() as cursor:
        for advice in plan.advice:
            cursor.execute(advice.ddl)
        try:
            cursor.execute(f"EXPLAIN FORMAT=JSON {sql}")
            (text,) = cursor.fetchone()
        finally:
            for advice in plan.advice:
                cursor.execute(advice.rollback_ddl)
    return {t["table_name"]: t.get("key") for t in _find(json.loads(text), "table")}


# ------------------------------------------------------------------- the join order model
def test_the_driver_is_the_table_its_filters_leave_smallest_not_the_first_in_from() -> None:
    """TPC-H Q21's shape: ``FROM item, supplier, nation`` with the one selective filter on
    nation: read nation, then supplier by its nation, then item by its supplier."""
    sql = ("SELECT COUNT(*) FROM item i, supplier s, nation n WHERE i.i_supp = s.s_id "
           "AND s.s_nation = n.n_id AND n.n_name = 'N7' AND i.qty > 0")
    infos = [TableInfo("item", rows=40_000, ndv={"i_supp": 2000, "qty": 50}, pk=("i_id",)),
             TableInfo("supplier", rows=2000, ndv={"s_nation": 25}, pk=("s_id",)),
             TableInfo("nation", rows=25, ndv={"n_name": 25}, pk=("n_id",))]
    steps = join_order("q", access_patterns(sql).accesses, infos)
    assert [s.first for s in steps] == [False, False, True]
    assert [s.joined for s in steps] == [("i_supp",), ("s_nation",), ()]
    assert [round(s.lookups) for s in steps] == [80, 1, 1]  # 2000 / 25 suppliers reach item


def test_equalities_are_followed_transitively_in_the_join_order() -> None:
    """TPC-H Q5: ``c_nationkey = s_nationkey AND s_nationkey = n_nationkey`` joins customer
    to nation, so customer comes straight after nation (by c_nationkey)."""
    sql = ("SELECT 1 FROM customer c, supplier s, nation n WHERE c.c_nationkey = s.s_nationkey "
           "AND s.s_nationkey = n.n_nationkey AND n.n_name = 'X'")
    infos = [TableInfo("customer", rows=7500, ndv={"c_nationkey": 25}, pk=("c_custkey",)),
             TableInfo("supplier", rows=20_000, ndv={"s_nationkey": 25}, pk=("s_suppkey",)),
             TableInfo("nation", rows=25, ndv={"n_name": 25}, pk=("n_nationkey",))]
    steps = join_order("q", access_patterns(sql).accesses, infos)
    assert steps[2].first and steps[0].joined == ("c_nationkey",)
    assert steps[0].lookups == 1.0  # customer read right after the one nation row


def test_a_correlated_subquery_on_the_same_table_is_looked_up_per_outer_row() -> None:
    """Q21's ``EXISTS (SELECT * FROM lineitem l2 WHERE l2.l_orderkey = l1.l_orderkey)``:
    the same table's name on both sides is still the outer query's row."""
    sql = ("SELECT 1 FROM lineitem l1 WHERE l1.l_qty > 5 AND EXISTS (SELECT * FROM lineitem "
           "l2 WHERE l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey)")
    info = TableInfo("lineitem", rows=3e5, ndv={"l_orderkey": 75_000, "l_qty": 50},
                     pk=("l_orderkey", "l_linenumber"))
    steps = join_order("q", access_patterns(sql).accesses, [info, info])
    assert steps[1].joined == ("l_orderkey",) and steps[1].lookups == pytest.approx(1e5)


def test_an_index_on_a_join_column_every_row_reaches_does_not_pay() -> None:
    """Each lookup costs a clustered-index descent: 25 nations x 80 suppliers through an
    index on s_nation read every supplier at 4x the price of one block-nested-loop scan."""
    info = TableInfo("supplier", rows=2000, ndv={"s_nation": 25}, pk=("s_id",))
    everyone = Need("q", "supplier", eq=("s_nation",), lookups=25)
    assert estimate(everyone, ("s_nation",), info).cost > full_scan(everyone, info).cost
    one = Need("q", "supplier", eq=("s_nation",), lookups=1)
    assert estimate(one, ("s_nation",), info).cost < full_scan(one, info).cost / 3


# ------------------------------------------------------------------------ distributions
def test_mysql8_singleton_histogram_from_the_manual() -> None:
    """The sample histogram of the MySQL 8.0 manual (10.9.6 Optimizer Statistics)."""
    doc = {"buckets": [[1, 0.3333333333333333], [2, 0.6666666666666666], [3, 1]],
           "null-values": 0, "last-updated": "2017-03-24 13:32:40.000000",
           "sampling-rate": 1, "histogram-type": "singleton",
           "number-of-buckets-specified": 128, "data-type": "int", "collation-id": 8}
    points = mysql_points(json.dumps(doc), "int")
    assert fraction_between(points, 2, None) == pytest.approx(2 / 3)
    assert fraction_between(points, 2, 2) == pytest.approx(1 / 3)
    assert fraction_between(points, None, 0) == 0.0


def test_mysql8_equi_height_date_histogram_through_the_catalog() -> None:
    """Equi-height buckets ``[lower, upper, cumulative frequency, distinct values]`` (the
    manual's layout) on a DATE column, read by :func:`assemble` as MySQL 8 returns them;
    cumulative frequencies exclude the NULLs (they end at 1 - null-values)."""
    tables = [{"TABLE_NAME": "o", "ENGINE": "InnoDB", "TABLE_ROWS": 1000, "DATA_LENGTH": 16384,
               "INDEX_LENGTH": 0, "TABLE_COMMENT": ""}]
    columns = [{"TABLE_NAME": "o", "COLUMN_NAME": "d", "COLUMN_TYPE": "date",
                "IS_NULLABLE": "YES", "EXTRA": "", "GENERATION_EXPRESSION": ""}]
    doc = {"buckets": [["1992-01-01", "1995-12-31", 0.45, 1461],
                       ["1996-01-01", "1998-08-02", 0.9, 945]],
           "null-values": 0.1, "histogram-type": "equi-height", "data-type": "date"}
    (table,) = assemble("db", tables, columns, [], histograms=[
        {"TABLE_NAME": "o", "COLUMN_NAME": "d", "HISTOGRAM": json.dumps(doc)}])
    points = table.columns["d"].distribution
    quarter = fraction_between(points, axis_value("1993-07-01", "date"),
                               axis_value("1993-10-01", "date"))
    assert quarter == pytest.approx(0.5 * 92 / 1460, rel=0.02)


def test_mariadb_double_precision_histogram_of_dates_is_read_on_the_servers_axis() -> None:
    """DOUBLE_PREC_HB positions dates as YYYYMMDD numbers between min and max: one bucket end
    at 1995-01-01 of 1992-01-01..1998-01-01 (position 30000/60000) holds half the rows."""
    position = round(65535 * (19950101 - 19920101) / (19980101 - 19920101))
    points = mariadb_points("DOUBLE_PREC_HB", position.to_bytes(2, "little"), b"1992-01-01",
                            b"1998-01-01", "date")
    assert fraction_between(points, None, axis_value("1995-01-01", "date")) == pytest.approx(
        0.5, abs=0.001)


# ------------------------------------------------------------------ on a real sandbox
NATIONS = (
    "CREATE TABLE nation (n_id INT PRIMARY KEY, n_name VARCHAR(20) NOT NULL)",
    "CREATE TABLE supplier (s_id INT PRIMARY KEY, s_nation INT NOT NULL, "
    "s_name VARCHAR(30) NOT NULL)",
    "CREATE TABLE item (i_id INT PRIMARY KEY, i_supp INT NOT NULL, qty INT NOT NULL, "
    "pad VARCHAR(100) NOT NULL)",
    "INSERT INTO nation SELECT seq, CONCAT('N', seq) FROM seq_1_to_25",
    "INSERT INTO supplier SELECT seq, 1 + seq % 25, CONCAT('S', seq) FROM seq_1_to_2000",
    "INSERT INTO item SELECT seq, 1 + seq % 2000, 1 + seq % 50, REPEAT('x', 90) "
    "FROM seq_1_to_60000",
)
#: FROM starts at the big table, which has a filter of its own (that keeps every row)
NATION_JOIN = ("SELECT COUNT(*), MAX(i.pad) FROM item i, supplier s, nation n "
               "WHERE i.i_supp = s.s_id AND s.s_nation = n.n_id AND n.n_name = 'N7' "
               "AND i.qty > 0")


@pytest.mark.server
def test_the_big_tables_foreign_key_is_advised_for_a_join_from_a_filtered_dimension(
        dbtune_server, dbtune_database) -> None:
    """Before, the first table of FROM was taken as read first, so ``item`` (a filter of its
    own) got no index on ``i_supp`` and the join's 60,000-row scan stayed."""
    cat = load(dbtune_server, dbtune_database, *NATIONS)
    plan = advise_indexes([Klass("q", NATION_JOIN, 1.0, sample_db=dbtune_database)], cat)
    first = {a.table: a.columns[0] for a in plan.advice}
    assert first.get("item") == "i_supp", [a.columns for a in plan.advice]
    keys = explain_keys(dbtune_server, dbtune_database, plan, NATION_JOIN)
    assert keys["i"] is not None and keys["i"].startswith("ix_item_i_supp"), keys


DATES = (
    "CREATE TABLE ev (id INT PRIMARY KEY, d DATE NOT NULL, amount INT NOT NULL, "
    "pad VARCHAR(100) NOT NULL)",
    "INSERT INTO ev SELECT seq, '2020-01-01' + INTERVAL (seq % 1500) DAY, seq % 97, "
    "REPEAT('p', 90) FROM seq_1_to_45000",
)
#: one month of four years: 2% of the rows, not a third
MONTH = ("SELECT SUM(amount), MAX(pad) FROM ev WHERE d >= CAST('2021-03-01' AS date) "
         "AND d < DATE '2021-04-01'")


@pytest.mark.server
def test_a_narrow_date_range_is_priced_from_the_servers_statistics(
        dbtune_server, dbtune_database) -> None:
    """Offline a range keeps 1/3: a non-covering index on ``d`` then costs more than the
    scan. With the column's statistics read from the server (ANALYZE ... PERSISTENT FOR
    ALL), the month is 2% of the table and the index is advised, and used."""
    bare = load(dbtune_server, dbtune_database, *DATES, analyze=False)
    assert not bare.tables["ev"].columns["d"].distribution
    klass = Klass("q", MONTH, 1.0, sample_db=dbtune_database)
    assert not advise_indexes([klass], bare).advice
    cat = load(dbtune_server, dbtune_database)
    assert cat.tables["ev"].columns["d"].distribution
    plan = advise_indexes([klass], cat)
    assert [a.columns for a in plan.advice] == [("d",)], plan.rejected
    assert explain_keys(dbtune_server, dbtune_database, plan, MONTH)["ev"] == plan.advice[0].name


def test_a_range_without_statistics_keeps_the_default() -> None:
    """No distribution in the catalog (DDL only): the range stays at 1/3, no index."""
    cat = Catalog.from_ddl(DATES[0], rows={"ev": 45_000})
    plan = advise_indexes([Klass("q", MONTH, 1.0)], cat)
    assert not plan.advice


# ------------------------------------------------------- an index that flips a join order
FLIP = (
    "CREATE TABLE item (id INT PRIMARY KEY, cat INT NOT NULL, pad VARCHAR(50) NOT NULL)",
    "INSERT INTO item SELECT seq, seq % 6, REPEAT('i', 40) FROM seq_1_to_2000",
    "CREATE TABLE days (id INT PRIMARY KEY, yr INT NOT NULL)",
    "INSERT INTO days SELECT seq, 1998 + seq DIV 366 FROM seq_0_to_1829",
    "CREATE TABLE sales (item INT NOT NULL, ord INT NOT NULL, day INT NOT NULL, "
    "qty INT NOT NULL, amt INT NOT NULL, pad VARCHAR(60) NOT NULL, PRIMARY KEY (item, ord))",
    "INSERT INTO sales SELECT 1 + seq % 2000, seq, (seq * 7919) % 1830, seq % 50, seq % 997, "
    "REPEAT('s', 50) FROM seq_1_to_150000",
)
#: read from item (a sixth of it) into sales by its primary key: 25,000 rows in key order;
#: with an index on sales(day) MariaDB reads the year of days first (366 x 82 rows, which it
#: estimates at 40 a day) and looks each sales row up: 66 -> 359 ms here, covering 116 ms
BY_ITEM = ("SELECT d.yr, SUM(s.qty), SUM(s.amt) FROM item i JOIN sales s ON s.item = i.id "
           "JOIN days d ON s.day = d.id WHERE i.cat = 3 AND d.yr = 2001 GROUP BY d.yr")
#: a few days of sales, each row's pad read: wants an index on sales(day)
BY_DAY = "SELECT COUNT(*), MAX(pad) FROM sales WHERE day BETWEEN 100 AND 104"


@pytest.mark.server
def test_an_index_that_would_flip_a_join_onto_clustered_lookups_is_made_covering(
        dbtune_server, dbtune_database) -> None:
    """TPC-DS Q75's shape: an index on the fact table's date key, advised for another class,
    let MariaDB read the filtered date dimension first and reach the fact table through it
    (it estimates 40 rows a day where there are 82), one clustered lookup a row: Q75 ran
    2.7-4x slower than bare. The model now prices that flip as a risk of the index, and
    a covering variant on the same column (no clustered rows) avoids it."""
    cat = load(dbtune_server, dbtune_database, *FLIP)
    classes = [Klass("by_item", BY_ITEM, 0.6, sample_db=dbtune_database),
               Klass("by_day", BY_DAY, 0.4, sample_db=dbtune_database)]
    plan = advise_indexes(classes, cat)
    (sales,) = [a for a in plan.advice if a.table == "sales"]
    assert sales.columns[0] == "day" and {"qty", "amt"} <= set(sales.columns), sales.columns
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute(sales.ddl)
        try:
            cursor.execute(f"EXPLAIN FORMAT=JSON {BY_ITEM}")
            (text,) = cursor.fetchone()
        finally:
            cursor.execute(sales.rollback_ddl)
    (fact,) = [t for t in _find(json.loads(text), "table") if t["table_name"] == "s"]
    # whichever order the optimizer takes, the fact rows come without clustered lookups
    assert fact.get("key") == "PRIMARY" or fact.get("using_index"), fact


# ------------------------------------------------------------- the inner side of an outer join
OUTER = (
    "CREATE TABLE item (id INT PRIMARY KEY, cat INT NOT NULL)",
    "INSERT INTO item SELECT seq, seq % 10 FROM seq_1_to_2000",
    "CREATE TABLE sales (item INT NOT NULL, ord INT NOT NULL, qty INT NOT NULL, "
    "PRIMARY KEY (item, ord))",
    "INSERT INTO sales SELECT 1 + seq % 2000, seq, seq % 50 FROM seq_1_to_60000",
    "CREATE TABLE rets (item INT NOT NULL, ord INT NOT NULL, qty INT NOT NULL, "
    "PRIMARY KEY (item, ord))",
    "INSERT INTO rets SELECT 1 + seq % 2000, seq, 1 FROM seq_1_to_60000 WHERE seq % 10 = 0",
)
#: TPC-DS Q75's shape: the returns are LEFT JOINed on both keys of a sale
SALES_AND_RETURNS = ("SELECT SUM(s.qty - COALESCE(r.qty, 0)) FROM item i "
                     "JOIN sales s ON s.item = i.id LEFT JOIN rets r ON r.item = s.item "
                     "AND r.ord = s.ord WHERE i.cat = 3")


@pytest.mark.server
def test_the_inner_side_of_an_outer_join_is_priced_after_the_tables_of_its_on_clause(
        dbtune_server, dbtune_database) -> None:
    """The returns table shares ``item`` with the filtered item table (through the sale),
    and is smaller than sales: it was priced as read second, before the sales its ON
    clause names - an order MariaDB cannot take. Now it is read last, as EXPLAIN reads it."""
    cat = load(dbtune_server, dbtune_database, *OUTER)
    tables = [cat.tables[n] for n in ("item", "sales", "rets")]
    steps = join_order("q", access_patterns(SALES_AND_RETURNS).accesses,
                       [table_info(t) for t in tables])
    item, sales, rets = steps
    assert item.first and sales.joined == ("item",)
    assert set(rets.joined) == {"item", "ord"}, rets
    assert rets.lookups > sales.lookups  # one probe per sale, not per item
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN FORMAT=JSON {SALES_AND_RETURNS}")
        (text,) = cursor.fetchone()
    order = [t["table_name"] for t in _find(json.loads(text), "table")]
    assert order.index("r") > order.index("s"), order
