"""Loading the marketplace fixture and replaying its workload on a disposable server."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pymysql
import pytest
from click.testing import CliRunner

from dbtune.cli import main
from dbtune.sandbox import NotDisposableError
from dbtune.workload import model as m
from dbtune.workload.drivers import (
    DriverUnavailable,
    connector_available,
    get_driver,
    mysqlclient_available,
)
from dbtune.workload.marketplace import TABLES, LoadError, load_marketplace
from dbtune.workload.runner import run_workload
from dbtune.workload.spec import marketplace_spec

pytestmark = pytest.mark.server
SCALE = 0.02
NO_MYSQLCLIENT = "mysqlclient (MySQLdb) is not installed: pip install mysqlclient"
DRIVERS = ["pymysql", pytest.param("mysqlclient", marks=pytest.mark.skipif(
    not mysqlclient_available(), reason=NO_MYSQLCLIENT)),
    pytest.param("connector", marks=pytest.mark.skipif(
        not connector_available(), reason="mysql-connector-python's C extension is not there"))]


@pytest.fixture
def loaded(dbtune_server, dbtune_database) -> str:
    load_marketplace(dbtune_server, dbtune_database, scale=SCALE, seed=1)
    return dbtune_database


def counts(server, database: str) -> dict[str, int]:
    with server.connect(database) as connection, connection.cursor() as cursor:
        result = {}
        for table in TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
            result[table] = cursor.fetchone()[0]
        return result


def test_load_creates_pk_only_tables_and_fills_them(dbtune_server, dbtune_database):
    loaded = load_marketplace(dbtune_server, dbtune_database, scale=SCALE, seed=1)
    assert loaded == counts(dbtune_server, dbtune_database)
    assert loaded["audit_log"] == m.Sizes(SCALE).audit
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT table_name, index_name FROM information_schema.statistics"
                       " WHERE table_schema = %s", (dbtune_database,))
        indexes = cursor.fetchall()
        cursor.execute("SELECT COUNT(*) FROM listing_sync_jobs WHERE status = 'failed'"
                       " AND error IS NOT NULL AND finished_at IS NOT NULL")
        failed = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM marketplace_listings WHERE synced_at IS NULL")
        never_synced = cursor.fetchone()[0]
        cursor.execute("SELECT payload FROM audit_log WHERE id = 1")
        payload = json.loads(cursor.fetchone()[0])
    assert {index for _, index in indexes} == {"PRIMARY"} and len(indexes) == len(TABLES)
    assert failed > 0 and never_synced > 0
    assert set(payload) == {"old", "new"}


def test_load_refuses_a_database_that_has_the_tables(dbtune_server, loaded):
    before = counts(dbtune_server, loaded)
    with pytest.raises(LoadError, match="already has table"):
        load_marketplace(dbtune_server, loaded, scale=SCALE)
    assert counts(dbtune_server, loaded) == before


def test_load_falls_back_to_inserts_without_local_infile(dbtune_server, dbtune_database):
    with dbtune_server.connect() as connection:  # pymysql's default: local_infile off
        loaded = load_marketplace(connection, dbtune_database, scale=0.005, seed=3)
    assert loaded == counts(dbtune_server, dbtune_database)
    assert loaded["products"] == m.Sizes(0.005).products


def _loads_done(server) -> int:
    """LOAD DATA statements the server has seen (refused ones included)."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Com_load'")
        return int(cursor.fetchone()[1])


def test_load_data_local_only_on_a_sandbox_dbtune_started(dbtune_server, dbtune_database):
    """LOAD DATA LOCAL lets a server read any client file: a user's DSN gets INSERTs."""
    from dbtune.sandbox import start_server

    before = _loads_done(dbtune_server)
    with start_server("dsn", dsn=dbtune_server.dsn(reveal_password=True),
                      disposable=True) as users_server:
        loaded = load_marketplace(users_server, dbtune_database, scale=0.005, seed=3)
    assert loaded == counts(dbtune_server, dbtune_database)
    # at most the first attempt, refused because the client never offers local files
    assert _loads_done(dbtune_server) - before <= 1
    before = _loads_done(dbtune_server)
    with dbtune_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{dbtune_database}_own`")
    try:
        load_marketplace(dbtune_server, f"{dbtune_database}_own", scale=0.005, seed=3)
        assert _loads_done(dbtune_server) - before >= len(TABLES)  # LOAD DATA LOCAL each
    finally:
        with dbtune_server.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE `{dbtune_database}_own`")


def test_workload_statements_find_their_rows(dbtune_server, loaded):
    spec = marketplace_spec(SCALE)
    hits: dict[str, list[int]] = {}
    with dbtune_server.connect(loaded) as connection, connection.cursor() as cursor:
        for name, sql in spec.statements(600, seed=2, read_only=True):
            hits.setdefault(name, []).append(cursor.execute(sql))
    for name in ("session_by_token", "listing_by_sku", "product_by_sku", "customer_by_email",
                 "listing_by_id", "product_by_id"):
        assert min(hits[name]) == 1 and max(hits[name]) == 1, name
    assert sum(hits["listing_sync_window"]) > 0
    assert sum(hits["orders_by_customer"]) > 0


def test_run_measures_every_statement(dbtune_server, loaded):
    done = []
    result = run_workload(dbtune_server, marketplace_spec(SCALE), database=loaded, count=300,
                          concurrency=3, warmup=20, seed=5, on_progress=done.append)
    assert result.statements == 300 and not result.errors
    assert done[-1] == 300 and len(done) == 300
    assert 0 < result.mean_ms < 10_000 and result.throughput > 0
    frame = result.to_frame()
    assert frame["count"].sum() == 300
    assert set(frame["kind"]) == {"read", "write"}
    assert frame["share"].sum() == pytest.approx(1.0)
    assert (frame["total_ms"].diff().dropna() <= 0).all()


def test_run_refuses_writes_on_a_target_not_marked_disposable(dbtune_server, loaded):
    before = counts(dbtune_server, loaded)

    def connect() -> pymysql.Connection:
        return dbtune_server.connect(loaded)

    with pytest.raises(NotDisposableError, match="not marked disposable"):
        run_workload(connect, marketplace_spec(SCALE), count=50)
    statements = [("touch", "UPDATE user_sessions SET last_seen = NOW() WHERE id = 1"),
                  ("audit", "INSERT INTO audit_log (entity_type, entity_id, action, actor,"
                            " created_at) VALUES ('x', 1, 'y', 'z', NOW())")]
    with pytest.raises(NotDisposableError):
        run_workload(connect, iter(statements), concurrency=1)
    result = run_workload(connect, marketplace_spec(SCALE), count=80, read_only=True)
    assert result.statements == 80 and {result.kinds[n] for n in result.latencies_ms} == {"read"}
    assert counts(dbtune_server, loaded) == before


def test_run_for_a_duration_and_count_errors(dbtune_server, loaded):
    start = time.perf_counter()
    result = run_workload(dbtune_server, marketplace_spec(SCALE), database=loaded,
                          duration=1.0, concurrency=2, seed=1)
    assert 1.0 <= result.elapsed_s < 10 and time.perf_counter() - start < 15
    assert result.statements > 10
    bad = [("ok", "SELECT 1"), ("broken", "SELECT * FROM no_such_table"), ("ok", "SELECT 2")]
    result = run_workload(dbtune_server, bad, database=loaded, concurrency=1)
    assert result.errors == {"broken": 1} and len(result.latencies_ms["ok"]) == 2
    assert "no_such_table" in result.error_samples["broken"]


def test_cli_load_and_run(dbtune_server, dbtune_database):
    dsn = dbtune_server.dsn(reveal_password=True)
    runner = CliRunner()
    loaded = runner.invoke(main, ["workload", "load", "--scale", "0.005", "--dsn", dsn,
                                  "--disposable", "--database", dbtune_database])
    assert loaded.exit_code == 0, loaded.output
    assert "audit_log" in loaded.output and dbtune_server.password not in loaded.output
    ran = runner.invoke(main, ["workload", "run", "--scale", "0.005", "--count", "60",
                               "--concurrency", "2", "--format", "json", "--dsn", dsn,
                               "--disposable", "--database", dbtune_database])
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.stdout)
    assert report["statements"] == 60 and sum(t["count"] for t in report["templates"]) == 60
    refused = runner.invoke(main, ["workload", "run", "--count", "5", "--dsn", dsn,
                                   "--database", dbtune_database])
    assert refused.exit_code == 2
    assert "not marked disposable" in refused.output and "Traceback" not in refused.output
    assert dbtune_server.password not in refused.output
    again = runner.invoke(main, ["workload", "load", "--scale", "0.005", "--dsn", dsn,
                                 "--disposable", "--database", dbtune_database])
    assert again.exit_code == 2 and "already has table" in again.output
    other = dbtune_database + "_x"
    undeclared = runner.invoke(main, ["workload", "load", "--scale", "0.005", "--dsn", dsn,
                                      "--database", other])
    assert undeclared.exit_code == 2 and "not marked disposable" in undeclared.output
    with dbtune_server.connect() as connection, connection.cursor() as cursor:
        assert not cursor.execute("SHOW DATABASES LIKE %s", (other,))


@pytest.mark.parametrize("driver", DRIVERS[1:])
def test_drivers_give_the_same_counts_and_rows(dbtune_server, loaded, driver):
    spec = marketplace_spec(SCALE)
    results = {d: run_workload(dbtune_server, spec, database=loaded, count=400,
                               concurrency=2, seed=7, read_only=True, driver=d)
               for d in ("pymysql", driver)}
    frames = {d: r.to_frame().set_index("name")[["kind", "count", "errors", "rows"]]
              for d, r in results.items()}
    assert frames["pymysql"].sort_index().equals(frames[driver].sort_index())
    assert frames["pymysql"]["count"].sum() == 400 and frames["pymysql"]["rows"].sum() > 400
    assert results["pymysql"].kinds == results[driver].kinds


STATEMENTS = [
    ("insert", "INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b'), (3, 'c')"),
    ("update", "UPDATE t SET v = 'z' WHERE id <= 2"),
    ("update", "UPDATE t SET v = 'z' WHERE id <= 2"),  # found 2, changed 0: affected 0
    ("call", "CALL two_results()"),  # two result sets, then the next statement still runs
    ("select", "SELECT * FROM t"),
    ("multi", "SELECT 1; DELETE FROM t"),  # never two statements in one
    ("missing", "SELECT * FROM no_such_table"),
    ("kill", "KILL CONNECTION_ID()"),  # the connection is reopened
    ("select", "SELECT * FROM t WHERE id = 3"),
    ("delete", "DELETE FROM t WHERE id = 1"),
]


@pytest.mark.parametrize("driver", DRIVERS)
def test_driver_rows_errors_and_reconnect(dbtune_server, dbtune_database, driver):
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
        cursor.execute("CREATE PROCEDURE two_results() BEGIN SELECT 1; SELECT 2 UNION SELECT 3;"
                       " END")
    result = run_workload(dbtune_server, STATEMENTS, database=dbtune_database, concurrency=1,
                          driver=driver)
    assert result.driver == driver
    assert result.rows == {"insert": 3, "update": 2, "call": 1, "select": 4, "delete": 1}
    assert {name: len(lat) for name, lat in result.latencies_ms.items()} == {
        "insert": 1, "update": 2, "call": 1, "select": 2, "delete": 1}
    assert result.errors == {"multi": 1, "missing": 1, "kill": 1}
    assert "syntax" in result.error_samples["multi"]
    assert "no_such_table" in result.error_samples["missing"]
    assert result.kinds["select"] == "read" and result.kinds["delete"] == "write"
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id, v FROM t ORDER BY id")
        assert cursor.fetchall() == ((2, "z"), (3, "c"))


def test_driver_choice(dbtune_server, dbtune_database):
    assert get_driver("pymysql").name == "pymysql"
    assert get_driver("auto").name == ("mysqlclient" if mysqlclient_available() else
                                       "connector" if connector_available() else "pymysql")
    with pytest.raises(ValueError, match="unknown driver 'odbc'"):
        run_workload(dbtune_server, [("one", "SELECT 1")], driver="odbc")
    if not mysqlclient_available():
        with pytest.raises(DriverUnavailable, match="pip install"):
            get_driver("mysqlclient")
        return
    import MySQLdb

    def connect() -> MySQLdb.connections.Connection:  # a MySQLdb connection made elsewhere
        return MySQLdb.connect(host=dbtune_server.host, port=dbtune_server.port,
                               user=dbtune_server.user, password=dbtune_server.password,
                               database=dbtune_database)

    result = run_workload(connect, [("one", "SELECT 1"), ("bad", "SELECT nope")],
                          concurrency=1)
    assert result.rows == {"one": 1} and result.errors == {"bad": 1}
    assert result.driver == "mysqlclient"
    with pytest.raises(NotDisposableError):
        run_workload(connect, [("write", "CREATE TABLE x (id INT)")], concurrency=1)


def _connector_version() -> tuple[int, ...] | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return tuple(int(x) for x in version("mysql-connector-python").split(".")[:2])
    except PackageNotFoundError:
        return None


@pytest.mark.skipif(not (_connector_version() or (99,)) < (9, 7),
                    reason="needs mysql-connector-python >=9.1,<9.7 (the fast-wheels extra)")
def test_the_connector_c_extension_loads_where_the_commands_also_import_pandas_and_pyarrow():
    # pyarrow (pandas imports it) takes the static TLS the extension's libstdc++ needs:
    # a replaying command loads the extension first
    code = ("import dbtune.cli.bench, pandas, pyarrow\n"
            "from dbtune.workload.drivers import connector_available, get_driver\n"
            "print(connector_available(), get_driver('connector').name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["True", "connector"], out.stderr
