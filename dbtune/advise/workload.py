"""The workload the advisor works on, from where a DBA has it: slow logs, or a server's
performance_schema statement digests.

>>> workload_from()
Traceback (most recent call last):
...
ValueError: give the workload: slow logs or a performance_schema server, not both or neither
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def workload_from(*, slowlogs: Sequence[str | Path] = (), perfschema: Any = None,
                  database: str | None = None, defaults_file: str | None = None) -> list[Any]:
    """The ranked query classes of a workload, for :func:`~dbtune.advise.advise_indexes`.

    ``slowlogs``: slow-log paths (globs, ``.gz``, ``-``). ``perfschema``: a DSN, a
    ConnectionSpec or an open connection whose ``performance_schema`` holds the workload.
    ``database``: only that schema's statements.
    """
    if bool(slowlogs) == (perfschema is not None):
        raise ValueError("give the workload: slow logs or a performance_schema server, "
                         "not both or neither")
    if slowlogs:
        from dbtune.digest import digest_slowlog

        return digest_slowlog([str(p) for p in slowlogs], database=database).ranked()
    from dbtune.connect import ConnectionSpec
    from dbtune.ingest.perfschema_digest import digest_perfschema

    if isinstance(perfschema, str | ConnectionSpec):
        spec = (perfschema if isinstance(perfschema, ConnectionSpec)
                else ConnectionSpec.resolve(perfschema, defaults_file=defaults_file))
        connection = spec.connect()
        try:
            classes = digest_perfschema(connection).ranked()
        finally:
            connection.close()
    else:
        classes = digest_perfschema(perfschema).ranked()
    return [c for c in classes if database is None or database in (c.db, c.sample_db)]
