"""``propose``: advice in, a directory of tested migrations out.

>>> proposal = propose(advice, "migrations/", classes=digest.ranked(),   # doctest: +SKIP
...                    catalog=catalog, data={"kind": "fixture", "name": "marketplace",
...                                           "scale": 0.02, "seed": 42})
>>> render(proposal, "markdown")                                          # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from dbtune.catalog import Catalog
from dbtune.migrate.lint import LintContext
from dbtune.migrate.online import LARGE_TABLE_BYTES, Target
from dbtune.migrate.plan import Proposal, build_proposal
from dbtune.migrate.writer import inspect, write_proposal
from dbtune.model import Advice, InputError

#: a proposal without a dump or fixture fills at most this many synthetic rows a table
SYNTHETIC_ROWS = 2000


class Refused(InputError):
    """Lint refused a step (and ``force`` was not given): nothing was written."""

    def __init__(self, proposal: Proposal) -> None:
        self.proposal = proposal
        first = proposal.refused[0]
        more = len(proposal.refused) - 1
        super().__init__(f"refused: {first}" + (f" (and {more} more)" if more else "")
                         + "; nothing written (review, then --force)")


def propose(advice: Sequence[Advice], directory: str | os.PathLike[str], *,
            classes: Sequence[Any] = (), catalog: Catalog | None = None,
            target: Target | None = None, data: dict[str, Any] | None = None,
            schema_sql: str | None = None, connection: Any = None,
            database: str | None = None, force: bool = False,
            large_bytes: int = LARGE_TABLE_BYTES, measure_on: Any = None) -> Proposal:
    """Plan ``advice`` as numbered steps and write them, their tests, README.md and
    proposal.json into ``directory`` (after any proposal already there).

    ``classes``: the workload (query classes with ``id`` and ``sample``) the tests replay;
    ``data``: what the tests load (``{"kind": "fixture", "name": "marketplace", "scale":
    s}``, ``{"kind": "dump", "scripts": [path]}``); without it, ``schema_sql`` is written
    as schema.sql and filled with synthetic rows following ``catalog``'s statistics.
    ``connection``/``database``: a server holding the data, read (never written) by the
    lint's data checks and EXPLAINs (which index each class uses). ``measure_on``: a
    disposable server holding the data in ``database``: each step's up and down are run
    and timed there (the note gives the measured build time). Raises :class:`Refused` for
    a refused step unless ``force``, and InputError for a bad directory; nothing is
    written then.
    """
    existing = inspect(directory)
    uses = None
    if connection is not None and database and catalog is not None:
        from dbtune.migrate.checks import explain_uses

        uses = explain_uses(connection, database, [(c.id, c.sample) for c in classes],
                            index_tables(catalog))
    context = LintContext(catalog=catalog, classes=classes, connection=connection,
                          database=database, uses=uses)
    proposal = build_proposal(advice, target=target, catalog=catalog, classes=classes,
                              context=context, first_number=existing.next_number,
                              existing_up=existing.ups, large_bytes=large_bytes)
    extra: dict[str, str] = {}
    if data is None:
        if schema_sql is None:
            raise InputError("no data for the generated tests: give a fixture, a dump or "
                             "the schema")
        extra["schema.sql"] = schema_sql
        data = {"kind": "synthetic", "scripts": ["schema.sql"],
                "tables": synthetic_tables(catalog), "seed": 1}
    proposal.data = data
    if proposal.refused and not force:
        raise Refused(proposal)
    if measure_on is not None and database:
        measure_builds(proposal, measure_on, database)
    if proposal.steps:
        write_proposal(proposal, directory, existing, extra)
    else:
        proposal.directory = str(directory)
    return proposal


def index_tables(catalog: Catalog) -> dict[str, set[str]]:
    """Lower-case index name -> lower-case names of the tables that have one so named."""
    out: dict[str, set[str]] = {}
    for table in catalog.tables.values():
        for index in table.indexes:
            out.setdefault(index.name.lower(), set()).add(table.name.lower())
    return out


def measure_builds(proposal: Proposal, server: Any, database: str) -> None:
    """Run each step's up, then its down, on ``server`` (disposable) in ``database``, and
    write the measured time into the step's online note."""
    import time

    from dbtune.migrate.checks import apply
    from dbtune.sandbox.server import require_disposable

    require_disposable(server, "time the proposal's steps")
    with server.connect(database) as connection:
        for step in proposal.steps:
            start = time.perf_counter()
            apply(connection, step.up, f"{step.name}.up.sql on the sandbox")
            took = time.perf_counter() - start
            apply(connection, step.down, f"{step.name}.down.sql on the sandbox")
            step.online.measured_seconds = took
            step.online.lines.append(f"measured on the sandbox ({server.flavour} "
                                     f"{server.version}, its data): up took {took:.2f} s")


def synthetic_tables(catalog: Catalog | None, max_rows: int = SYNTHETIC_ROWS
                     ) -> dict[str, dict[str, Any]]:
    """Per table: rows to generate (its row count, at most ``max_rows``; ``max_rows`` when
    unknown) and, per column, the distinct values to draw from (its NDV scaled down)."""
    out: dict[str, dict[str, Any]] = {}
    for table in (catalog.tables.values() if catalog else []):
        rows = min(table.rows or max_rows, max_rows)
        ratio = rows / table.rows if table.rows else 1.0
        out[table.name] = {"rows": rows, "ndv": {
            c.name: max(1, round(c.ndv * ratio)) for c in table.columns.values()
            if c.ndv is not None}}
    return out


def fixture_proposal(server: Any, directory: str | os.PathLike[str], *, scale: float = 0.02,
                     seed: int = 42, statements: int = 600, database: str = "marketplace",
                     force: bool = False, **advise_options: Any) -> Proposal:
    """The marketplace story on a disposable ``server``: the fixture at ``scale`` loaded, a
    replay of its workload digested from the server's slow log, index advice verified on
    the server, and the proposal whose tests load the same fixture."""
    from dbtune.advise.hygiene import find_hygiene
    from dbtune.advise.indexes import advise_indexes
    from dbtune.bench.story import ADVISE_BUDGET, load_fixture
    from dbtune.digest import digest_slowlog
    from dbtune.migrate.checks import analyze
    from dbtune.sandbox.server import require_disposable
    from dbtune.workload.runner import run_workload
    from dbtune.workload.spec import marketplace_spec

    require_disposable(server, "load the marketplace fixture and verify advice")
    if server.slow_log_path is None:
        raise InputError(f"{server.dsn()}: no readable slow log; use a local sandbox")
    inspect(directory)  # a bad target directory fails before the long part
    load_fixture(server, database, scale, seed=seed)
    with server.connect(database) as connection:
        analyze(connection, database, server.flavour)
        catalog = Catalog.from_server(connection, database)
    start = os.path.getsize(server.slow_log_path)
    run_workload(server, marketplace_spec(scale), count=statements, concurrency=1, seed=3,
                 database=database)
    digest = _digest_from(server.slow_log_path, start, database, digest_slowlog)
    classes = digest.ranked()
    plan = advise_indexes(classes, catalog, hygiene=find_hygiene(catalog), verify_on=server,
                          **{**ADVISE_BUDGET, **advise_options})
    with server.connect(database) as connection:
        return propose(plan.to_advice(), directory, classes=classes, catalog=catalog,
                       measure_on=server,
                       target=Target(server.flavour, ".".join(server.version.split(".")[:2])),
                       data={"kind": "fixture", "name": "marketplace", "scale": scale,
                             "seed": seed},
                       connection=connection, database=database, force=force)


def _digest_from(path: str, start: int, database: str, digest_slowlog: Any) -> Any:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="dbtune-propose-") as tmp:
        part = Path(tmp) / "replay-slow.log"
        with open(path, "rb") as source, open(part, "wb") as out:
            source.seek(start)
            out.write(source.read())
        return digest_slowlog(part, database=database)
