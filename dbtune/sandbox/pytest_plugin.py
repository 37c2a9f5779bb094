"""pytest fixtures ``dbtune_server`` and ``dbtune_database`` (entry point pytest11 "dbtune").

``DBTUNE_TEST_BACKEND`` picks the backend (default ``local``; ``docker``, ``auto``, or
``dsn`` with ``DBTUNE_DSN``: pointing the tests at a DSN declares that server disposable).
When no server can be had here (no binary, no engine) the tests that need one are skipped
with the reason; a server that exists but fails to start is an error, not a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from dbtune.sandbox import BackendUnavailable, Server, start_server


@pytest.fixture(scope="session")
def dbtune_server() -> Iterator[Server]:
    """A disposable server for the whole test session (slow log + performance_schema on)."""
    backend = os.environ.get("DBTUNE_TEST_BACKEND", "local")
    try:
        manager = start_server(backend, disposable=True)  # type: ignore[arg-type]
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
