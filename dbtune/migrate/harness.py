"""A proposal's database on a disposable server, and one step run on it: what the
``dbtune_migration`` fixture of dbtune's pytest plugin hands the generated tests.

>>> with start_server("local") as server:                       # doctest: +SKIP
...     db = ProposalDatabase(server, "migrations/")
...     run = StepRun(db, "001_add_index_orders_ix_orders_status")
...     run.keys_after("A1B2...")
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from dbtune.catalog import quote
from dbtune.migrate import checks
from dbtune.model import InputError
from dbtune.sandbox.server import Server, require_disposable


class ProposalDatabase:
    """A fresh database holding the proposal's data; tracks how many steps are applied."""

    def __init__(self, server: Server, directory: str | Path) -> None:
        require_disposable(server, "load a proposal's data")
        self.server, self.directory = server, Path(directory)
        path = self.directory / "proposal.json"
        try:
            self.manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read the proposal ({exc})") from None
        self.steps: list[dict[str, Any]] = self.manifest["steps"]
        self.classes = {c["id"]: c for c in self.manifest.get("classes", [])}
        self.database = f"dbtune_proposal_{uuid.uuid4().hex[:10]}"
        self.connection = server.connect()
        self.applied = 0
        self.dirty = False
        self.load()

    def load(self) -> None:
        """(Re)create the database and load the data proposal.json names."""
        data = self.manifest.get("data") or {}
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quote(self.database)}")
            cursor.execute(f"CREATE DATABASE {quote(self.database)}")
            cursor.execute("SET SESSION long_query_time = 3600")
        self.connection.select_db(self.database)
        kind = data.get("kind")
        if kind == "fixture":
            from dbtune.workload.marketplace import load_marketplace

            if data.get("name") != "marketplace":
                raise InputError(f"proposal.json: unknown fixture {data.get('name')!r}")
            load_marketplace(self.server, self.database, scale=float(data["scale"]),
                             seed=int(data.get("seed", 42)))
        elif kind in ("dump", "synthetic", "schema"):
            for name in data.get("scripts", []):
                checks.load_script(self.connection, self._path(name))
            if kind == "synthetic":
                from dbtune.migrate.synthetic import fill

                fill(self.connection, self.database, data.get("tables", {}),
                     seed=int(data.get("seed", 1)))
        else:
            raise InputError(f"{self.directory / 'proposal.json'}: no data to load "
                             "(\"data\": fixture, dump, synthetic or schema)")
        checks.analyze(self.connection, self.database, self.server.flavour)
        self.applied, self.dirty = 0, False

    def _path(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.directory / path

    def index_of(self, name: str) -> int:
        for i, step in enumerate(self.steps):
            if step["name"] == name:
                return i
        raise InputError(f"{self.directory / 'proposal.json'}: no step {name!r}")

    def bring_to(self, applied: int) -> None:
        """Apply ups (or downs, newest first) until exactly ``applied`` steps are applied."""
        if self.dirty:
            self.load()
        while self.applied < applied:
            step = self.steps[self.applied]
            checks.apply(self.connection, step["up"], f"{step['name']}.up.sql")
            self.applied += 1
        while self.applied > applied:
            step = self.steps[self.applied - 1]
            checks.apply(self.connection, step["down"], f"{step['name']}.down.sql")
            self.applied -= 1

    def statements(self) -> list[tuple[str, str]]:
        """(class id, sample SQL) of every class the proposal replays."""
        return [(c["id"], c["sample"]) for c in self.classes.values() if c.get("sample")]

    def close(self) -> None:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {quote(self.database)}")
        finally:
            self.connection.close()


class StepRun:
    """One step applied on top of the steps before it, with the before-state recorded."""

    def __init__(self, db: ProposalDatabase, name: str) -> None:
        self.db, self.name = db, name
        index = db.index_of(name)
        db.bring_to(index)
        self.index, self.step = index, db.steps[index]
        self.kind, self.table = self.step["kind"], self.step["table"]
        connection = db.connection
        self.schema_before = checks.show_create(connection, db.database)
        self.before = checks.replay(connection, db.statements())
        self._after: dict[str, tuple[str, int]] | None = None
        self.up_error: str | None = None
        try:
            checks.apply(connection, self.step["up"], f"{name}.up.sql")
            db.applied = index + 1
            checks.analyze(connection, db.database, db.server.flavour, [self.table])
        except InputError as exc:
            self.up_error, db.dirty = str(exc), True

    def _require_up(self) -> None:
        if self.up_error:
            raise AssertionError(f"{self.name}.up.sql did not apply: {self.up_error}")

    def sql(self, class_id: str) -> str:
        return self.db.classes[class_id]["sample"]

    def explainable(self, class_ids: list[str]) -> list[str]:
        """The ids among ``class_ids`` whose sample is a repeatable read (EXPLAINed)."""
        self._require_up()
        return [c for c in class_ids
                if c in self.db.classes and checks.is_read(self.sql(c))]

    def keys_after(self, class_id: str) -> set[str]:
        self._require_up()
        return checks.index_keys(self.db.connection, self.sql(class_id))

    def partitions_read(self, class_id: str) -> tuple[int, int]:
        self._require_up()
        return checks.partitions_read(self.db.connection, self.sql(class_id), self.table,
                                      self.db.database, self.db.server.flavour)

    def replay(self) -> checks.Replay:
        """The workload after up, paired with the replay before it."""
        self._require_up()
        if self._after is None:
            self._after = checks.replay(self.db.connection, self.db.statements())
        result = checks.Replay()
        for class_id, (outcome, reads) in self.before.items():
            after_outcome, after_reads = self._after.get(class_id, ("not run", 0))
            result.results[class_id] = (outcome, after_outcome)
            result.reads[class_id] = (reads, after_reads)
        return result

    def round_trip(self) -> tuple[dict[str, str], dict[str, str]]:
        """Apply down: (schema before up, schema after down); then up again, so the steps
        after this one start from it (a down that breaks that reloads the data later)."""
        self._require_up()
        connection = self.db.connection
        checks.apply(connection, self.step["down"], f"{self.name}.down.sql")
        self.db.applied = self.index
        restored = checks.show_create(connection, self.db.database)
        try:
            checks.apply(connection, self.step["up"], f"{self.name}.up.sql (again)")
            self.db.applied = self.index + 1
        except InputError:
            self.db.dirty = True
        if restored != self.schema_before:
            self.db.dirty = True
        return self.schema_before, restored
