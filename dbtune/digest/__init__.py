"""Slow-log digests: events aggregated into query classes, mergeable and exact.

- :mod:`dbtune.digest.aggregate`: the one mergeable aggregate (add a block, merge, build)
- :mod:`dbtune.digest.filters`: which events to keep
- :mod:`dbtune.digest.result`: :class:`Digest`, the ClassSet of an aggregate
- :mod:`dbtune.digest.run`: :func:`digest_slowlog` over byte ranges of slow logs
  (:mod:`dbtune.ingest.slowlog_source`), in one process, a pool or Dask tasks
- :mod:`dbtune.digest.store`: saved digests (Parquet), loading and merging them

``QueryClass`` and ``ClassSet`` live in :mod:`dbtune.model` and are re-exported here.
"""

from dbtune.digest.aggregate import Aggregate, metric_scale
from dbtune.digest.filters import Filters
from dbtune.digest.result import Digest
from dbtune.digest.run import digest_range, digest_slowlog
from dbtune.digest.store import load_digest, merge_digests, save_digest
from dbtune.model import ClassSet, QueryClass

__all__ = ["Aggregate", "ClassSet", "Digest", "Filters", "QueryClass", "digest_range",
           "digest_slowlog", "load_digest", "merge_digests", "metric_scale", "save_digest"]
