"""The ``dsn`` backend: an existing server named by a DSN or option files
(:mod:`dbtune.connect` parses them)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace

from dbtune.connect import ConnectionSpec
from dbtune.sandbox import detached
from dbtune.sandbox.errors import BackendUnavailable
from dbtune.sandbox.server import Server, describe

SANDBOX_ORIGIN = "`dbtune sandbox up`"
NO_TARGET = ("no server given: pass --dsn mysql://user@host:port/, set $DBTUNE_DSN, name a "
             "host, port or socket in an option file (--defaults-file, ~/.my.cnf), or start "
             "one with `dbtune sandbox up`")


def resolve_target(dsn: str | None = None, *,
                   defaults_file: str | os.PathLike[str] | None = None,
                   env: Mapping[str, str] | None = None) -> ConnectionSpec:
    """The one rule for which server a command reaches, in this order:

    1. ``--dsn``, else ``$DBTUNE_DSN`` (completed by the option files);
    2. an option file naming a host, port or socket (``--defaults-file``, else
       ``~/.my.cnf`` / ``~/.mylogin.cnf``);
    3. the sandbox started by ``dbtune sandbox up``, when it runs;
    4. else BackendUnavailable saying all of this. ``spec.origin`` says which applied,
       and reports print it in their header.
    """
    spec = ConnectionSpec.resolve(dsn, defaults_file=defaults_file, env=env)
    if spec.origin is not None:
        return spec
    current = detached.status()
    if current is not None and current.running:
        return replace(current.server.spec, origin=SANDBOX_ORIGIN)
    raise BackendUnavailable(NO_TARGET)



@contextmanager
def start_dsn(
    dsn: str | ConnectionSpec | None = None,
    *,
    disposable: bool = False,
    defaults_file: str | os.PathLike[str] | None = None,
    long_query_time: float | None = None,
) -> Iterator[Server]:
    """The ``dsn`` backend: an existing server, checked to answer; nothing to tear down.

    Its settings are left alone unless it is disposable and ``long_query_time`` is
    given: then the slow log is switched on with it (SET GLOBAL). ``slow_log_path`` and
    ``datadir`` are set only when the server is on this machine and readable here.
    """
    spec = (dsn if isinstance(dsn, ConnectionSpec)
            else ConnectionSpec.resolve(dsn, defaults_file=defaults_file))
    if not (spec.host or spec.port or spec.socket or spec.defaults_file):
        raise BackendUnavailable(
            "backend 'dsn' needs a DSN (--dsn mysql://user@host:port/, $DBTUNE_DSN) "
            "or an option file (--defaults-file, ~/.my.cnf)"
        )
    with spec.connect() as connection:
        flavour, version = describe(connection)
        with connection.cursor() as cursor:
            if disposable and long_query_time is not None:
                cursor.execute("SET GLOBAL slow_query_log = 1")
                cursor.execute("SET GLOBAL long_query_time = %s", (long_query_time,))
            cursor.execute("SELECT @@datadir, @@slow_query_log_file")
            datadir, slow_log = cursor.fetchone()
    local = spec.is_local()
    if slow_log and datadir and not os.path.isabs(slow_log):
        slow_log = os.path.join(datadir, slow_log)
    yield Server(
        spec=spec,
        flavour=flavour,
        version=version,
        backend="dsn",
        disposable=disposable,
        slow_log_path=slow_log if local and slow_log and os.access(slow_log, os.R_OK) else None,
        datadir=datadir if local and datadir and os.path.isdir(datadir) else None,
        socket=spec.socket,
    )
