"""Writing a proposal: to a temporary directory first, then moved into place; never over a
file that exists.

A new directory is renamed into place whole. Into a directory that already holds files, the
new step files are hard-linked in (a link fails where a name exists, so nothing is
overwritten) and only the two index files, ``proposal.json`` and ``README.md``, are
replaced (atomically) to list every step.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbtune import __version__
from dbtune.migrate.plan import FORMAT, VERSION, Proposal
from dbtune.migrate.templates import readme, sql_file, test_module
from dbtune.model import InputError

MANIFEST = "proposal.json"
README = "README.md"
_NUMBERED = re.compile(r"^(?:test_)?(\d{3,})_")


@dataclass
class Existing:
    """What a target directory already holds."""

    manifest: dict[str, Any] | None = None
    next_number: int = 1
    readme: str | None = None
    files: set[str] = field(default_factory=set)

    @property
    def ups(self) -> list[list[str]]:
        return [s["up"] for s in (self.manifest or {}).get("steps", [])]


def inspect(directory: str | os.PathLike[str]) -> Existing:
    """The state of ``directory``: missing (a new proposal), or its files and manifest.
    :class:`InputError` when it is a file, its parent is missing, or the manifest is bad."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: is a file, not a directory for the proposal")
    if not path.exists():
        if not path.parent.is_dir():
            raise InputError(f"{path}: parent directory {path.parent} does not exist")
        return Existing()
    files = {p.name for p in path.iterdir()}
    numbers = [int(m.group(1)) for m in map(_NUMBERED.match, files) if m]
    existing = Existing(files=files, next_number=max(numbers, default=0) + 1)
    if MANIFEST in files:
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path / MANIFEST}: unreadable ({exc})") from None
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            raise InputError(f"{path / MANIFEST}: not a dbtune proposal of version {VERSION}")
        existing.manifest = manifest
    if README in files:
        existing.readme = (path / README).read_text(encoding="utf-8")
    return existing


def manifest(proposal: Proposal, existing: Existing, extra_files: dict[str, str]) -> dict:
    """proposal.json: earlier steps first, then this run's; classes merged by id."""
    old = existing.manifest or {}
    classes = {c["id"]: c for c in old.get("classes", [])}
    classes.update({c["id"]: c for c in proposal.classes})
    return {"format": FORMAT, "version": VERSION, "dbtune_version": __version__,
            "target": old.get("target", str(proposal.target)),
            "data": old.get("data") or proposal.data,
            "classes": [classes[k] for k in sorted(classes)],
            "steps": old.get("steps", []) + [s.to_manifest() for s in proposal.steps],
            "files": {**old.get("files", {}), **{k: "data" for k in extra_files}}}


def write_proposal(proposal: Proposal, directory: str | os.PathLike[str],
                   existing: Existing | None = None,
                   extra_files: dict[str, str] | None = None) -> list[str]:
    """Write the steps' files, README.md and proposal.json (plus ``extra_files``: name ->
    text, e.g. the schema the tests load) into ``directory``; the names written."""
    path = Path(directory)
    existing = existing if existing is not None else inspect(path)
    extra_files = {k: v for k, v in (extra_files or {}).items() if k not in existing.files}
    files: dict[str, str] = dict(extra_files)
    for step in proposal.steps:
        files[f"{step.name}.up.sql"] = sql_file(step, "up")
        files[f"{step.name}.down.sql"] = sql_file(step, "down")
        files[f"test_{step.name}.py"] = test_module(step)
    clash = sorted(set(files) & existing.files)
    if clash:
        raise InputError(f"{path}: {clash[0]} exists; a proposal never overwrites a file")
    index = {MANIFEST: json.dumps(manifest(proposal, existing, extra_files), indent=2) + "\n",
             README: readme(proposal, str(path), existing.readme)}
    if not path.exists():
        _write_new(path, {**files, **index})
    else:
        _add_to(path, files, index)
    proposal.directory, proposal.written = str(path), sorted(files) + sorted(index)
    return proposal.written


def _fill(tmp: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")


def _write_new(path: Path, files: dict[str, str]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        _fill(tmp, files)
        tmp.chmod(0o755)
        os.rename(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(f"{path}: cannot write the proposal ({exc.strerror or exc})") from None


def _add_to(path: Path, files: dict[str, str], index: dict[str, str]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=".dbtune-propose-", dir=path))
    linked: list[Path] = []
    try:
        _fill(tmp, {**files, **index})
        for name in files:
            os.link(tmp / name, path / name)  # FileExistsError: never overwrite
            linked.append(path / name)
        for name in index:
            os.replace(tmp / name, path / name)
    except OSError as exc:
        for done in linked:
            done.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot add to the proposal ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
