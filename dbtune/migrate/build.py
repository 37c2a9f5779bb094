"""The inputs of ``dbtune propose`` turned into one :func:`~dbtune.migrate.propose.propose`
call: workload (slow logs, performance_schema), schema (DDL files or a server, read-only),
advice (advised here or a saved file), data for the generated tests."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dbtune.migrate.advicefile import load_advice, save_advice
from dbtune.migrate.online import LARGE_TABLE_BYTES, Target
from dbtune.migrate.plan import Proposal
from dbtune.migrate.propose import fixture_proposal, propose
from dbtune.migrate.writer import inspect
from dbtune.model import InputError


def propose_from_inputs(directory: str | os.PathLike[str], *, slowlogs: Sequence[str] = (),
                        perfschema: bool = False, schemas: Sequence[str | Path] = (),
                        advice_file: str | Path | None = None,
                        save_advice_to: str | Path | None = None, dsn: str | None = None,
                        database: str | None = None, defaults_file: str | None = None,
                        fixture: str | None = None, scale: float = 0.02,
                        dump: str | Path | None = None, server_version: str | None = None,
                        large_bytes: int = LARGE_TABLE_BYTES, force: bool = False) -> Proposal:
    """What ``dbtune propose`` does with its options (see its --help)."""
    if fixture:
        from dbtune.sandbox import start_server

        if slowlogs or perfschema or schemas or advice_file or dsn or dump:
            raise InputError("--fixture brings its own workload, schema and data: give it "
                             "without --slowlog/--perfschema/--schema/--advice/--dsn/--data")
        inspect(directory)
        with start_server("local") as server:
            return fixture_proposal(server, directory, scale=scale, force=force)
    if advice_file is None and bool(slowlogs) == perfschema:
        raise InputError("give the workload: --slowlog LOG... or --perfschema (with --dsn), "
                         "or --advice FILE")
    if perfschema and not dsn:
        raise InputError("--perfschema needs a server: give --dsn DSN")
    if not schemas and not dsn:
        raise InputError("give the schema: --schema FILE... or --dsn DSN --database DB")
    inspect(directory)  # a bad target directory fails before any work
    target = Target.parse(server_version)
    connection = _connect(dsn, defaults_file) if dsn else None
    try:
        return _propose(directory, connection, target, slowlogs, perfschema, schemas,
                        advice_file, save_advice_to, database, dump, large_bytes, force)
    finally:
        if connection is not None:
            connection.close()


def _propose(directory: Any, connection: Any, target: Target, slowlogs: Sequence[str],
             perfschema: bool, schemas: Sequence[str | Path], advice_file: Any,
             save_advice_to: Any, database: str | None, dump: Any, large_bytes: int,
             force: bool) -> Proposal:
    from dbtune.catalog import Catalog, load_catalog

    if connection is not None and target.flavour is None:
        from dbtune.sandbox.server import describe

        flavour, version = describe(connection)
        target = Target(flavour, ".".join(version.split(".")[:2]))
    if schemas:
        catalog = load_catalog(list(schemas))
        schema_sql = "\n".join(Path(p).read_text(encoding="utf-8") for p in schemas)
    else:
        if not database:
            raise InputError("--dsn needs --database: the schema to read")
        catalog = Catalog.from_server(connection, database)
        schema_sql = _server_schema(connection, database)
    classes = _workload(slowlogs, perfschema, connection, database)
    if advice_file is not None:
        advice = load_advice(advice_file)
    else:
        from dbtune.advise.hygiene import find_hygiene
        from dbtune.advise.indexes import advise_indexes

        advice = advise_indexes(classes, catalog, hygiene=find_hygiene(catalog)).to_advice()
    if save_advice_to is not None:
        save_advice(advice, save_advice_to)
    data = {"kind": "dump", "scripts": [str(Path(dump).resolve())]} if dump else None
    return propose(advice, directory, classes=classes, catalog=catalog, target=target,
                   data=data, schema_sql=schema_sql, connection=connection,
                   database=database, force=force, large_bytes=large_bytes)


def _connect(dsn: str, defaults_file: str | None) -> Any:
    from dbtune.connect import ConnectionSpec

    return ConnectionSpec.resolve(dsn, defaults_file=defaults_file).connect()


def _workload(slowlogs: Sequence[str], perfschema: bool, connection: Any,
              database: str | None) -> list[Any]:
    if slowlogs:
        from dbtune.digest import digest_slowlog

        return digest_slowlog(list(slowlogs), database=database).ranked()
    if perfschema:
        from dbtune.ingest.perfschema_digest import digest_perfschema

        return [c for c in digest_perfschema(connection).ranked()
                if database is None or database in (c.db, c.sample_db)]
    return []


def _server_schema(connection: Any, database: str) -> str:
    """CREATE TABLE statements of ``database`` (read-only), for the tests' schema.sql."""
    from dbtune.migrate.checks import show_create

    return "".join(f"{sql};\n\n" for sql in show_create(connection, database).values())
