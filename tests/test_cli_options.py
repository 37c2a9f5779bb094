"""The shared options are on every command that needs them: one test walks all commands."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from dbtune.cli import main

CONNECTION = {"--dsn", "--defaults-file", "--ask-password", "--connect-timeout"}
REPORT = {"--format", "--output", "--width"}


def commands() -> Iterator[tuple[str, click.Command]]:
    """(path, command) of every dbtune command, groups walked."""
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                yield f"{name} {sub}", command.get_command(ctx, sub)
        else:
            yield name, command


def options(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in param.opts}


def test_every_command_that_connects_or_reports_takes_the_shared_options() -> None:
    missing = {}
    for path, command in commands():
        names = options(command)
        wanted = (CONNECTION if "--dsn" in names else set()) | (
            REPORT if names & {"--format", "--output"} else set())
        if wanted - names:
            missing[path] = sorted(wanted - names)
    assert not missing, f"commands lacking the shared options: {missing}"
    walked = dict(commands())
    assert {"advise indexes", "advise hygiene", "bench", "report nightly"} <= set(walked)


@pytest.mark.server
@pytest.mark.parametrize("command", [
    ["advise", "hygiene"],
    ["advise", "indexes", "--slowlog", "fixtures/slowlogs/example-marketplace.log"],
    ["advise", "partitions", "--slowlog", "fixtures/slowlogs/example-marketplace.log"],
])
def test_ask_password_reaches_the_connection(dbtune_server, dbtune_database, command,
                                             monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.my.cnf password to fall back on
    monkeypatch.delenv("MYSQL_PWD", raising=False)
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY k1 (a), KEY k2 (a))")
    dsn = f"mysql://{dbtune_server.user}@{dbtune_server.host}:{dbtune_server.port}/"
    args = [*command, "--dsn", dsn, "--database", dbtune_database, "--connect-timeout", "5"]
    without = CliRunner().invoke(main, args)
    assert without.exit_code == 2 and "cannot connect" in without.output, without.output
    asked = CliRunner().invoke(main, [*args, "--ask-password"],
                               input=f"{dbtune_server.password}\n")
    assert asked.exit_code == 0, asked.output
    assert dbtune_server.password not in asked.stdout


def test_the_nightly_threshold_options_are_the_library_thresholds_with_its_defaults() -> None:
    import dataclasses

    from dbtune.nightly import Thresholds

    command = dict(commands())["report nightly"]
    defaults = {p.name: p.default for p in command.params}
    fields = {f.name: f.default for f in dataclasses.fields(Thresholds)}
    assert {name: defaults.get(name) for name in fields} == fields


@pytest.mark.parametrize(("error", "says"), [
    ("server", "dbtune: error: server error: Lost connection to server during query"),
    ("input", "dbtune: error: no such file"),
    ("other", "dbtune: error: unexpected RuntimeError: boom"),
])
def test_library_errors_are_one_line_and_exit_2(error, says, capsys) -> None:
    import pymysql

    from dbtune.cli.common import one_line_errors
    from dbtune.model import InputError

    raised = {"server": pymysql.err.OperationalError(2013, "Lost connection to server during "
                                                            "query"),
              "input": InputError("no such file"), "other": RuntimeError("boom")}[error]
    with pytest.raises(SystemExit) as exit_, one_line_errors(unexpected=True):
        raise raised
    assert exit_.value.code == 2 and capsys.readouterr().err.strip() == says
    if error == "other":  # a bug is a traceback unless the command asks (cron's nightly)
        with pytest.raises(RuntimeError), one_line_errors():
            raise raised
