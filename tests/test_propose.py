"""dbtune propose without a server: stable output, numbering, no overwrite, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbtune.advise.ddl import ONLINE_INDEX, add_index, alter_table, drop_index
from dbtune.advise.hygiene import find_hygiene
from dbtune.advise.indexes import advise_indexes
from dbtune.catalog import Catalog
from dbtune.cli import main
from dbtune.digest import digest_slowlog
from dbtune.migrate import Refused, load_advice, propose, save_advice
from dbtune.migrate.advicefile import advice_document
from dbtune.model import Advice, InputError

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "fixtures/slowlogs/example-marketplace.log"
SCHEMA = ROOT / "fixtures/schemas/marketplace.sql"


@pytest.fixture(scope="module")
def inputs():
    catalog = Catalog.from_ddl(SCHEMA)
    classes = digest_slowlog([LOG]).ranked()
    advice = advise_indexes(classes, catalog, hygiene=find_hygiene(catalog)).to_advice()
    # the example's DDL-only advice is all hygiene: one new index, as advise builds it
    added = Advice("add_index", "users", "users (created_at)",
                   ddl=[alter_table("`users`", [add_index("ix_users_created_at", ["created_at"])],
                                    **ONLINE_INDEX)],
                   rollback=[alter_table("`users`", [drop_index("ix_users_created_at")],
                                         **ONLINE_INDEX)],
                   reasons=["new-user reports read users by created_at"],
                   details={"index": "ix_users_created_at", "columns": ["created_at"]})
    return catalog, classes, [*advice, added]


def run(inputs, directory: Path, **options):
    catalog, classes, advice = inputs
    return propose(options.pop("advice", advice), directory, classes=classes, catalog=catalog,
                   schema_sql=SCHEMA.read_text(), **options)


def contents(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.iterdir())}


def test_same_input_gives_the_same_files(inputs, tmp_path: Path) -> None:
    run(inputs, tmp_path / "a")
    run(inputs, tmp_path / "b")
    a, b = contents(tmp_path / "a"), contents(tmp_path / "b")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].replace(str(tmp_path / "a"), "X") == b[name].replace(
            str(tmp_path / "b"), "X"), name
    names = sorted(a)
    assert "001_drop_index_listings_ft_title_2.up.sql" in names
    # the users index comes after the advisor's own (audit_log (action), for a rare class)
    assert "test_011_add_index_users_created_at.py" in names
    assert {"README.md", "proposal.json", "schema.sql"} <= set(names)


def test_steps_are_ordered_drops_first_and_sql_ends_statements(inputs, tmp_path: Path) -> None:
    proposal = run(inputs, tmp_path / "p")
    kinds = [s.advice.kind for s in proposal.steps]
    assert kinds == sorted(kinds, key=["drop_index", "replace_index", "add_index"].index)
    up = (tmp_path / "p" / "011_add_index_users_created_at.up.sql").read_text()
    assert up.rstrip().endswith("ADD INDEX `ix_users_created_at` (`created_at`), "
                                "ALGORITHM=INPLACE, LOCK=NONE;")
    down = (tmp_path / "p" / "011_add_index_users_created_at.down.sql").read_text()
    assert "DROP INDEX `ix_users_created_at`" in down


def test_a_rerun_adds_the_next_numbers_and_overwrites_nothing(inputs, tmp_path: Path) -> None:
    catalog, classes, advice = inputs
    target = tmp_path / "p"
    run(inputs, target, advice=advice[:3])
    before = contents(target)
    again = run(inputs, target)
    after = contents(target)
    for name, text in before.items():
        if name not in ("README.md", "proposal.json"):
            assert after[name] == text, name
    assert [s.number for s in again.steps] == list(range(4, len(advice) + 1))
    assert len(again.already) == 3
    manifest = json.loads((target / "proposal.json").read_text())
    assert [s["number"] for s in manifest["steps"]] == list(range(1, len(advice) + 1))
    assert before["README.md"].rstrip() in after["README.md"]
    nothing = run(inputs, target)
    assert nothing.steps == [] and contents(target) == after


def test_a_name_that_exists_is_not_overwritten(inputs, tmp_path: Path) -> None:
    catalog, classes, advice = inputs
    target = tmp_path / "p"
    target.mkdir()
    (target / "001_mine.up.sql").write_text("-- mine\n")
    proposal = run(inputs, target, advice=advice[:1])
    assert proposal.steps[0].number == 2
    assert (target / "001_mine.up.sql").read_text() == "-- mine\n"


def test_target_that_is_a_file_is_one_line_and_writes_nothing(inputs, tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(InputError, match="is a file, not a directory"):
        run(inputs, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_refused_step_writes_nothing_unless_forced(inputs, tmp_path: Path) -> None:
    pk = Advice("add_index", "users", "users pk", ["ALTER TABLE `users` DROP PRIMARY KEY, "
                "ADD PRIMARY KEY (`id`, `created_at`)"],
                ["ALTER TABLE `users` DROP PRIMARY KEY, ADD PRIMARY KEY (`id`)"])
    with pytest.raises(Refused, match="primary key"):
        run(inputs, tmp_path / "p", advice=[pk])
    assert list(tmp_path.iterdir()) == []
    forced = run(inputs, tmp_path / "p", advice=[pk], force=True)
    assert forced.steps[0].findings[0].rule == "primary_key_change"
    assert "lint refuse" in (tmp_path / "p" / f"{forced.steps[0].name}.up.sql").read_text()


def test_advice_file_round_trip_and_other_version(inputs, tmp_path: Path) -> None:
    advice = inputs[2]
    path = tmp_path / "advice.json"
    save_advice(advice, path)
    assert [a.to_dict() for a in load_advice(path)] == [a.to_dict() for a in advice]
    document = advice_document(advice)
    document["version"] = 2
    path.write_text(json.dumps(document))
    with pytest.raises(InputError, match=r"format version 2 .* reads version 1 only"):
        load_advice(path)


def test_cli_writes_a_proposal_and_bad_advice_is_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "p"
    result = runner.invoke(main, ["propose", "--slowlog", str(LOG), "--schema", str(SCHEMA),
                                  "--save-advice", str(tmp_path / "a.json"), "-d", str(out),
                                  "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["steps"][0]["name"] == "001_drop_index_listings_ft_title_2"
    (tmp_path / "bad.json").write_text(json.dumps({"format": "dbtune-advice", "version": 9}))
    bad = runner.invoke(main, ["propose", "--advice", str(tmp_path / "bad.json"), "--schema",
                               str(SCHEMA), "-d", str(tmp_path / "q")])
    assert bad.exit_code == 2
    assert bad.stderr.count("\n") == 1 and "version 9" in bad.stderr
    assert not (tmp_path / "q").exists()


def test_cli_fixture_excludes_other_inputs(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["propose", "--fixture", "marketplace", "--slowlog",
                                       str(LOG), "-d", str(tmp_path / "p")])
    assert result.exit_code == 2 and "--fixture brings its own workload" in result.stderr
    assert not (tmp_path / "p").exists()
