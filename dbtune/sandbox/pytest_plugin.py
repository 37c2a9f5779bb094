"""dbtune's pytest plugin (entry point pytest11 "dbtune"): disposable servers for tests.

Fixtures:

- ``dbtune_server`` (session): a disposable server. ``--dbtune-backend`` or
  ``$DBTUNE_TEST_BACKEND`` picks the backend (default ``local``: a mariadbd/mysqld of this
  machine in a temp datadir; ``docker``: testcontainers; ``auto``); ``--dbtune-dsn DSN`` or
  ``$DBTUNE_DSN`` with backend ``dsn`` points the tests at an existing server, which
  declares it disposable (the tests create and drop databases on it).
- ``dbtune_database``: a fresh empty database on it, dropped after the test.
- ``dbtune_connection``: a connection to that database.

The fixtures for migrations (``dbtune_load_sql``, ``dbtune_migration``) are in
:mod:`dbtune.migrate.pytest_plugin` (entry point pytest11 "dbtune_migrate"), so that the
sandbox does not depend on the migration code.

When no server can be had here (no binary, no engine) the tests that need one are skipped
with the reason; a server that exists but fails to start is an error, not a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dbtune.sandbox import BackendUnavailable, Server, start_server


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dbtune", "dbtune disposable servers")
    group.addoption("--dbtune-backend", default=None,
                    help="local, docker, auto or dsn (default $DBTUNE_TEST_BACKEND or local)")
    group.addoption("--dbtune-dsn", default=None,
                    help="a server the tests may write to (declares it disposable); "
                         "default $DBTUNE_DSN with backend dsn")


@pytest.fixture(scope="session")
def dbtune_server(pytestconfig: pytest.Config) -> Iterator[Server]:
    """A disposable server for the whole test session (slow log + performance_schema on)."""
    dsn = pytestconfig.getoption("dbtune_dsn", None)
    backend = (pytestconfig.getoption("dbtune_backend", None) or ("dsn" if dsn else None)
               or os.environ.get("DBTUNE_TEST_BACKEND", "local"))
    if backend == "dsn":
        dsn = dsn or os.environ.get("DBTUNE_DSN")
    try:
        manager = start_server(backend, dsn=dsn, disposable=True)  # type: ignore[arg-type]
        server = manager.__enter__()
    except BackendUnavailable as exc:
        pytest.skip(f"no {backend} test server: {exc}")
    try:
        yield server
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture
def dbtune_database(dbtune_server: Server) -> Iterator[str]:
    """The name of a fresh empty database on ``dbtune_server``, dropped after the test."""
    name = f"dbtune_test_{uuid.uuid4().hex[:12]}"
    with dbtune_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
    try:
        yield name
    finally:
        with dbtune_server.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def dbtune_connection(dbtune_server: Server, dbtune_database: str) -> Iterator[Any]:
    """An open (autocommit) connection to ``dbtune_database``."""
    connection = dbtune_server.connect(dbtune_database)
    try:
        yield connection
    finally:
        connection.close()
