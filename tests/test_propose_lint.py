"""Each lint rule on its own, and the online-DDL table checked against a real server."""

from __future__ import annotations

import pymysql
import pytest

from dbtune.catalog import Catalog
from dbtune.migrate import lint as L
from dbtune.migrate.online import (
    CAPABILITIES,
    Target,
    capability,
    online_note,
    operations,
    with_online_clauses,
)
from dbtune.model import Advice

CATALOG = Catalog.from_ddl("CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, "
                           "KEY ix_a (a), KEY ix_ab (a, b))")


class Q:
    def __init__(self, id: str, sample: str) -> None:
        self.id, self.sample, self.tables = id, sample, ["t"]


def draft(ddl: str, kind: str = "add_index", size: int | None = None, algorithm="INPLACE",
          **details) -> L.Draft:
    return L.Draft(Advice(kind, "t", "t", [ddl], [], details=details), size, algorithm)


def test_dropped_index_in_use_refuses_without_a_kept_replacement() -> None:
    uses = L.LintContext(CATALOG, [Q("Q1", "SELECT b FROM t WHERE a = 3")])
    drop = draft("ALTER TABLE `t` DROP INDEX `ix_a`", "drop_index", index="ix_a")
    assert [f.level for f in L.dropped_index_in_use(drop, uses)] == ["refuse"]
    covered = draft("ALTER TABLE `t` DROP INDEX `ix_a`", "drop_index", index="ix_a",
                    redundant_with="ix_ab")
    assert [f.level for f in L.dropped_index_in_use(covered, uses)] == ["warn"]
    unused = L.LintContext(CATALOG, [Q("Q2", "SELECT a FROM t WHERE id = 3")])
    assert L.dropped_index_in_use(drop, unused) == []
    explained = L.LintContext(CATALOG, [], uses={("t", "ix_a"): ["Q9"]})
    assert "Q9" in L.dropped_index_in_use(drop, explained)[0].message


def test_unique_on_duplicates_reads_the_data(dbtune_server, dbtune_database) -> None:
    with dbtune_server.connect(dbtune_database) as connection:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT)")
            cursor.execute("INSERT INTO t VALUES (1, 1, 1), (2, 1, 2), (3, 2, 3)")
        context = L.LintContext(connection=connection, database=dbtune_database)
        on_a = draft("ALTER TABLE `t` ADD UNIQUE INDEX `ux` (`a`)")
        on_b = draft("ALTER TABLE `t` ADD UNIQUE INDEX `ux` (`b`)")
        assert [f.level for f in L.unique_on_duplicates(on_a, context)] == ["refuse"]
        assert L.unique_on_duplicates(on_b, context) == []
    assert [f.level for f in L.unique_on_duplicates(on_b, L.LintContext())] == ["warn"]


def test_primary_key_change_is_refused() -> None:
    pk = draft("ALTER TABLE `t` DROP PRIMARY KEY, ADD PRIMARY KEY (`id`, `a`)")
    assert [f.rule for f in L.primary_key_change(pk, L.LintContext())] == ["primary_key_change"]
    assert L.primary_key_change(draft("ALTER TABLE `t` ADD INDEX `k` (`a`)"),
                                L.LintContext()) == []


def test_copy_on_large_table_refuses_only_above_the_threshold() -> None:
    copy = "ALTER TABLE `t` PARTITION BY HASH (`id`) PARTITIONS 4"
    big = L.copy_on_large_table(draft(copy, size=2 << 30, algorithm="COPY"), L.LintContext())
    assert [f.level for f in big] == ["refuse"]
    assert L.copy_on_large_table(draft(copy, size=1 << 20, algorithm="COPY"),
                                 L.LintContext()) == []
    assert L.copy_on_large_table(draft(copy, size=2 << 30), L.LintContext()) == []


def test_online_note_for_a_large_table_has_the_tool_lines() -> None:
    note = online_note(["ALTER TABLE `orders` ADD INDEX `ix` (`a`), ALGORITHM=NOCOPY"],
                       table="shop.orders", target=Target("mariadb", "10.11"),
                       table_bytes=5 << 30)
    assert note.large and note.est_seconds and note.temp_bytes
    assert note.commands[0].startswith("pt-online-schema-change --alter 'ADD INDEX")
    assert "D=shop,t=orders" in note.commands[0] and "gh-ost" in note.commands[1]
    assert any("replica lag" in line for line in note.lines)
    small = online_note(["ALTER TABLE `o` DROP INDEX `ix`"], table="o",
                        target=Target("mysql", "8.0"), table_bytes=1 << 20)
    assert small.commands == [] and small.algorithm == "INPLACE"


STATEMENTS = {
    "add_index": "ALTER TABLE t ADD INDEX ix_b (b)",
    "drop_index": "ALTER TABLE t DROP INDEX ix_b",
    "rename_index": "ALTER TABLE t RENAME INDEX ix_a TO ix_a2",
    "add_fulltext": "ALTER TABLE t ADD FULLTEXT INDEX ft (c)",
    "primary_key": "ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (id, a)",
}


@pytest.mark.server
@pytest.mark.parametrize("operation", sorted(STATEMENTS))
def test_the_table_holds_on_this_server(dbtune_server, dbtune_database, operation) -> None:
    """The server accepts the ALGORITHM/LOCK the table gives for its flavour; and refuses
    the next better algorithm where the table says it cannot."""
    target = Target(dbtune_server.flavour, ".".join(dbtune_server.version.split(".")[:2]))
    statement = STATEMENTS[operation]
    assert operations(statement) == [operation]
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT, b INT, c TEXT, "
                       "KEY ix_a (a)) ENGINE=InnoDB")
        if operation == "drop_index":
            cursor.execute("ALTER TABLE t ADD INDEX ix_b (b)")
        cursor.execute("INSERT INTO t VALUES (1, 1, 1, 'x'), (2, 2, 2, 'y')")
        if capability(operation, target).algorithm != "INSTANT":
            with pytest.raises(pymysql.MySQLError):
                cursor.execute(f"{statement}, ALGORITHM=INSTANT")
        cursor.execute(with_online_clauses(statement, target))


def test_every_operation_has_both_flavours() -> None:
    assert all(set(row) == {"mysql", "mariadb"} for row in CAPABILITIES.values())
    assert capability("add_index", Target()).algorithm == "INPLACE"


@pytest.mark.server
def test_explain_uses_names_the_index_each_class_reads(dbtune_server, dbtune_database) -> None:
    from dbtune.migrate.checks import explain_uses

    with dbtune_server.connect(dbtune_database) as connection:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY ix_a (a))")
            cursor.executemany("INSERT INTO t VALUES (%s, %s, %s)",
                               [(i, i % 97, i % 5) for i in range(2000)])
            cursor.execute("ANALYZE TABLE t")
            cursor.fetchall()
        uses = explain_uses(connection, dbtune_database,
                            [("Q1", "SELECT b FROM t WHERE a = 3"),
                             ("Q2", "SELECT a FROM t WHERE b = 3"),
                             ("W", "DELETE FROM t WHERE a = 3")], {"ix_a": {"t"}})
    assert uses == {("t", "ix_a"): ["Q1"]}


@pytest.mark.server
def test_cli_with_dsn_reads_the_data_and_refuses_in_one_line(dbtune_server, dbtune_database,
                                                              tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from dbtune.cli import main
    from dbtune.migrate import save_advice
    from dbtune.migrate.checks import show_create

    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t (id INT PRIMARY KEY, a INT)")
        cursor.execute("INSERT INTO t VALUES (1, 1), (2, 1), (3, 2)")
        schema = show_create(connection, dbtune_database)
    save_advice([Advice("add_index", "t", "t (a) unique",
                        ["ALTER TABLE `t` ADD UNIQUE INDEX `ux_a` (`a`)"],
                        ["ALTER TABLE `t` DROP INDEX `ux_a`"], details={"index": "ux_a"})],
                tmp_path / "advice.json")
    args = ["propose", "--advice", str(tmp_path / "advice.json"),
            "--dsn", dbtune_server.dsn(reveal_password=True), "--database", dbtune_database,
            "-d", str(tmp_path / "p")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "UNIQUE (a): 1 value(s) occur more than once" in result.stderr
    assert dbtune_server.password not in result.stderr or not dbtune_server.password
    assert not (tmp_path / "p").exists()
    forced = CliRunner().invoke(main, [*args, "--force", "--format", "json"])
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["target"].startswith(
        "MariaDB" if dbtune_server.flavour == "mariadb" else "MySQL")
    with dbtune_server.connect(dbtune_database) as connection:
        assert show_create(connection, dbtune_database) == schema  # only read
    assert "CREATE TABLE `t`" in (tmp_path / "p" / "schema.sql").read_text()


@pytest.mark.server
@pytest.mark.skipif(__import__("shutil").which("pt-online-schema-change") is None,
                    reason="pt-online-schema-change is not installed")
def test_pt_online_schema_change_accepts_the_generated_alter(dbtune_server, dbtune_database,
                                                            tmp_path) -> None:
    """The pt-online-schema-change line of a large-table note, run (--dry-run: it builds
    and alters its shadow table only) against the sandbox."""
    import shlex
    import subprocess

    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE big (id INT PRIMARY KEY, a INT, b INT)")
    note = online_note(["ALTER TABLE `big` ADD INDEX `ix_ab` (`a`, `b`), ALGORITHM=INPLACE, "
                        "LOCK=NONE"], table=f"{dbtune_database}.big",
                       target=Target(dbtune_server.flavour), table_bytes=5 << 30)
    command = shlex.split(note.commands[0])
    assert command[-1] == "--dry-run"
    options = tmp_path / "client.cnf"  # the password in a file, not in the process list
    options.write_text(f"[client]\nuser={dbtune_server.user}\n"
                       f"password={dbtune_server.password}\n")
    dsn = f"h={dbtune_server.host},P={dbtune_server.port},F={options},"
    command = [part if not part.startswith("D=") else dsn + part for part in command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Altered `" in done.stdout and "Dry run complete" in done.stdout
