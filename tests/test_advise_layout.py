"""dbtune.advise's layout: stages in their own modules, no import cycle, no private names
imported across modules."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import dbtune.advise
from dbtune.advise.indexes import STAGES

PACKAGE = Path(dbtune.__file__).parent


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every import in a file, function-level and TYPE_CHECKING ones too."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
    return out


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = set()
        for module, names in imports(path):
            targets |= {f"{module}.{n}" for n in names if f"{module}.{n}" in files}
            if module in files:
                targets.add(module)
        edges[name] = targets - {name}
    return edges


def cycle_through(edges: dict[str, set[str]], prefix: str) -> list[str] | None:
    """A cycle among modules starting with ``prefix`` (packages' __init__ left out), if any."""
    nodes = {n for n in edges if n.startswith(prefix) and n != prefix}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node] & nodes):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(nodes):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_advise_modules_import_no_cycle() -> None:
    assert cycle_through(graph(), "dbtune.advise") is None


def test_a_cycle_is_found_when_there_is_one() -> None:
    edges = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p": set()}
    assert cycle_through(edges, "p") == ["p.a", "p.b", "p.c", "p.a"]


def test_no_private_name_is_imported_across_modules() -> None:
    for path in (PACKAGE / "advise").glob("*.py"):
        for module, names in imports(path):
            private = [n for n in names if n.startswith("_") and module.startswith("dbtune")]
            assert not private, (path.name, module, private)


def test_each_stage_is_a_documented_function_of_its_own_module() -> None:
    modules = [inspect.getmodule(stage).__name__ for stage in STAGES]
    assert "dbtune.advise.indexes" not in modules
    assert all(inspect.isfunction(s) and s.__doc__ and "Stage" in s.__doc__ for s in STAGES)
    names = [s.__name__ for s in STAGES]
    # needs -> candidates -> prune -> select -> verify -> repair
    order = ["find_needs", "generate_candidates", "prune_candidates", "select_indexes",
             "verify", "repair"]
    assert [n for n in names if n in order] == order
