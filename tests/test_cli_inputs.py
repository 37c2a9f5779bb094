"""The advisors' shared input options: TABLE=VALUE parsing and the input checks."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from dbtune.cli import main
from dbtune.cli.common import per_table, row_count


@pytest.mark.parametrize("value", ["orders", "=5", "orders=x", "orders=-3"])
def test_a_bad_table_value_is_one_clear_error(value) -> None:
    with pytest.raises(click.BadParameter, match="expected TABLE=N"):
        per_table(row_count, "TABLE=N")(None, None, (value,))


@pytest.mark.parametrize("command", [["advise", "indexes"], ["advise", "partitions"]])
@pytest.mark.parametrize(("args", "says"), [
    ([], "give the workload"),
    (["--slowlog", "x.log"], "give the schema"),
    (["--perfschema", "--schema", "s.sql"], "--perfschema needs a server"),
    (["--slowlog", "x.log", "--schema", "s.sql", "--verify"], "--verify needs a server"),
    (["--slowlog", "x.log", "--dsn", "mysql://u@h/d", "--verify"], "add --disposable"),
])
def test_advisors_refuse_inputs_that_do_not_fit(command, args, says) -> None:
    outcome = CliRunner().invoke(main, [*command, *args])
    assert outcome.exit_code == 2 and says in outcome.output, outcome.output


@pytest.mark.parametrize(("fail_on", "status"), [(None, 0), ("any", 1), ("duplicate", 1),
                                                 ("unused", 0)])
def test_hygiene_fail_on_exits_1_when_the_report_holds_such_a_finding(tmp_path, fail_on,
                                                                      status) -> None:
    schema = tmp_path / "s.sql"
    schema.write_text("CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY k1 (a), KEY k2 (a));\n")
    args = ["advise", "hygiene", "--schema", str(schema)]
    outcome = CliRunner().invoke(main, args + (["--fail-on", fail_on] if fail_on else []))
    assert outcome.exit_code == status, outcome.output
    assert "k2" in outcome.output or "k1" in outcome.output
