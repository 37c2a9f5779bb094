"""Disposable (or explicitly marked) MySQL/MariaDB servers behind one ``Server`` object.

>>> from dbtune.sandbox import start_server
>>> with start_server(backend="local") as server:        # doctest: +SKIP
...     with server.connect() as conn: ...

Backends: ``local`` (a mysqld/mariadbd of this machine in a temp datadir), ``docker``
(testcontainers), ``dsn`` (an existing server; disposable only if the user says so) and
``auto`` (docker if an engine answers, else local).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

from dbtune.connect import ConnectionSpec
from dbtune.sandbox.dsn import start_dsn
from dbtune.sandbox.errors import (
    BackendUnavailable,
    NotDisposableError,
    SandboxError,
    ServerStartError,
)
from dbtune.sandbox.server import Server, require_disposable

__all__ = [
    "BackendUnavailable",
    "NotDisposableError",
    "SandboxError",
    "Server",
    "ServerStartError",
    "require_disposable",
    "resolve_backend",
    "start_server",
]

BackendName = Literal["auto", "local", "docker", "dsn"]
BACKENDS = ("auto", "local", "docker", "dsn")


def resolve_backend(backend: str) -> str:
    """The concrete backend for ``backend`` ("auto": docker, else local, else an error)."""
    if backend not in BACKENDS:
        raise SandboxError(
            f"unknown sandbox backend {backend!r}: expected one of {', '.join(BACKENDS)}"
        )
    if backend != "auto":
        return backend
    from dbtune.sandbox.datadir import INSTALL_HINT, find_server_binary
    from dbtune.sandbox.docker import docker_available

    if docker_available():
        return "docker"
    if find_server_binary():
        return "local"
    raise BackendUnavailable(
        f"no Docker engine answers and no mysqld/mariadbd is installed: {INSTALL_HINT}"
    )


@contextmanager
def start_server(
    backend: BackendName = "auto",
    *,
    dsn: str | ConnectionSpec | None = None,
    disposable: bool = False,
    long_query_time: float | None = None,
    buffer_pool_size: str = "256M",
    defaults_file: str | os.PathLike[str] | None = None,
    image: str | None = None,
    server_args: Sequence[str] = (),
) -> Iterator[Server]:
    """Start (or reach) a server; tear it down on exit, whatever happened inside.

    ``dsn``/``defaults_file``/``disposable`` apply to the dsn backend (local and docker
    servers are always disposable); ``image`` to docker; ``server_args`` are extra
    mysqld options for local and docker. ``long_query_time`` defaults to 0 (log every
    statement) on local and docker; a dsn server's settings change only when it is
    disposable and ``long_query_time`` is given.
    """
    concrete = resolve_backend(backend)
    slow = 0.0 if long_query_time is None else long_query_time
    if concrete == "local":
        from dbtune.sandbox.local import start_local

        manager = start_local(
            long_query_time=slow,
            buffer_pool_size=buffer_pool_size,
            server_args=server_args,
        )
    elif concrete == "docker":
        from dbtune.sandbox.docker import DEFAULT_IMAGE, start_docker

        manager = start_docker(
            image=image or DEFAULT_IMAGE,
            long_query_time=slow,
            buffer_pool_size=buffer_pool_size,
            extra_args=server_args,
        )
    else:
        manager = start_dsn(
            dsn,
            disposable=disposable,
            defaults_file=defaults_file,
            long_query_time=long_query_time,
        )
    with manager as server:
        yield server
