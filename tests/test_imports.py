"""The import graph of dbtune: no cycle between subpackages, no private name imported.

Every ``import`` and ``from ... import`` in dbtune/ counts, also those inside functions
(a lazy import still ties two subpackages together).
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "dbtune"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str, module: str, is_package: bool) -> list[tuple[str, list[str], int]]:
    """(imported dbtune module, names taken from it, line) of each import in a source."""
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names if a.name.startswith("dbtune")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("dbtune"):
                out.append((target, [a.name for a in node.names], node.lineno))
    return out


def _file_imports(path: Path) -> list[tuple[str, list[str], int]]:
    return _imports(path.read_text(encoding="utf-8"), _module_name(path),
                    path.name == "__init__.py")


def _unit(module: str) -> str:
    """The subpackage (or top-level module) a dbtune module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "dbtune"


def _graph() -> dict[str, set[str]]:
    """subpackage -> the other subpackages it imports (dbtune/__init__ left out)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(_module_name(path))
        if unit == "dbtune":
            continue
        for target, _, _ in _file_imports(path):
            if _unit(target) not in (unit, "dbtune"):
                graph.setdefault(unit, set()).add(_unit(target))
    return graph


def _private(imports: list[tuple[str, list[str], int]]) -> list[tuple[int, str]]:
    return [(line, name) for target, names, line in imports
            for name in [*names, *target.split(".")]
            if name.startswith("_") and not name.startswith("__")]


def test_the_walk_sees_the_known_edges() -> None:
    graph = _graph()
    assert {"ingest", "model"} <= graph["digest"]
    assert "model" in graph["ingest"] and "digest" in graph["cli"]


def test_no_cycle_between_subpackages() -> None:
    graphlib.TopologicalSorter(_graph()).prepare()  # raises CycleError with the cycle


def test_a_cycle_is_found() -> None:
    graph = {**_graph(), "model": {"digest"}}
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(graph).prepare()


def test_no_private_name_is_imported_from_another_module() -> None:
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}: {name}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for line, name in _private(_file_imports(path))]
    assert found == []


def test_the_private_check_reads_every_import_form() -> None:
    source = ("from dbtune.digest.aggregate import _KEY_MASK, Aggregate\n"
              "from .result import _hidden\n"
              "import dbtune.ingest._helpers\n"
              "def f():\n    from ..model import __all__, QueryClass\n")
    imports = _imports(source, "dbtune.digest.run", is_package=False)
    assert [t for t, _, _ in imports] == [
        "dbtune.digest.aggregate", "dbtune.digest.result", "dbtune.ingest._helpers",
        "dbtune.model"]
    assert _private(imports) == [(1, "_KEY_MASK"), (2, "_hidden"), (3, "_helpers")]


def _layers() -> dict[str, set[str]]:
    """docs/design.md's table of what each unit may import."""
    text = (PACKAGE.parent / "docs" / "design.md").read_text(encoding="utf-8")
    table = text.split("<!-- layers -->")[1].split("<!-- /layers -->")[0]
    rows = [[c.strip() for c in line.strip("|").split("|")]
            for line in table.strip().splitlines()[2:]]
    units = [r[0] for r in rows]
    return {unit: (set(units) - {unit} if allowed == "every unit above"
                   else set() if allowed == "-" else {a.strip() for a in allowed.split(",")})
            for unit, _, allowed in rows}


def test_every_import_is_one_the_design_allows() -> None:
    """docs/design.md says what each subpackage may import; the code keeps to it."""
    layers = _layers()
    graph = _graph()
    assert set(graph) - {"__main__"} <= set(layers), "a unit docs/design.md does not list"
    for unit, targets in graph.items():
        if unit != "__main__":
            assert targets <= layers[unit], f"{unit} imports {sorted(targets - layers[unit])}"
