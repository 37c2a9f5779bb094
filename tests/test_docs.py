"""The docs stay true: docs/cli.md matches --help, the README's quick start is runnable."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_cli_reference", ROOT / "docs" / "gen_cli_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_current() -> None:
    expected = _load_generator().render_reference()
    actual = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert actual == expected, (
        "docs/cli.md is stale: run `python docs/gen_cli_reference.py` to update"
    )


def test_readme_quick_start() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```[^\n]*\n(.*?)^```", readme, re.S | re.M)
    assert block, "README.md has no fenced code block"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2, f"README's first code block should hold two commands, got {lines}"
    install, test = lines

    assert "pip install" in install
    words = shlex.split(install)
    assert "slowlog" in words, f"no `dbtune analyze slowlog` in {install!r}"
    start = words.index("slowlog")
    assert words[start - 2 : start] == ["dbtune", "analyze"], install
    paths = [w for w in words[start + 1 :] if not w.startswith("-")]
    assert paths, f"no slow log after `dbtune analyze slowlog` in {install!r}"
    for path in paths:
        assert path.startswith("fixtures/") and (ROOT / path).is_file(), f"{path} is not a fixture"

    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "pytest" in test
    assert test in ci_lines, f"{test!r} is not a command line of .ci/run"
