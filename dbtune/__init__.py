"""dbtune: MySQL/MariaDB performance analysis, proven on a disposable server.

The calls a notebook needs, importable from here (loaded on first use, so ``import dbtune``
and the CLI stay fast; the bench is ``bench_on``, as ``dbtune.bench`` is its subpackage)::

    import dbtune
    digest = dbtune.digest_slowlog(["/var/log/mysql/slow.log"])
    catalog = dbtune.Catalog.from_ddl(open("schema.sql").read())
    plan = dbtune.advise_indexes(digest.classes, catalog)
    print(dbtune.render(plan, "markdown"))
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: public name -> the module that defines it
EXPORTS = {
    "digest_slowlog": "dbtune.digest",
    "load_digest": "dbtune.digest",
    "merge_digests": "dbtune.digest",
    "digest_perfschema": "dbtune.ingest.perfschema_digest",
    "Catalog": "dbtune.catalog",
    "load_catalog": "dbtune.catalog",
    "read_catalog": "dbtune.catalog",
    "advise_indexes": "dbtune.advise",
    "find_hygiene": "dbtune.advise",
    "advise_partitions": "dbtune.advise.partitioning",
    "start_server": "dbtune.sandbox",
    "bench_on": "dbtune.bench.story",
    "propose": "dbtune.migrate",
    "nightly_report": "dbtune.nightly",
    "render": "dbtune.report",
    "Advice": "dbtune.model",
}
__all__ = ["EXPORTS", "__version__", *EXPORTS]


def __getattr__(name: str) -> Any:
    """Load an exported name from its module on first use."""
    if name not in EXPORTS:
        raise AttributeError(f"module 'dbtune' has no attribute {name!r}")
    value = getattr(import_module(EXPORTS[name]), name)
    globals()[name] = value
    return value
