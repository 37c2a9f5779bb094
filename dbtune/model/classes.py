"""Query classes: events with the same fingerprint, and a ranked set of them.

Slow-log digests (:class:`dbtune.digest.Digest`) and performance_schema snapshots
(:class:`dbtune.ingest.perfschema_digest.PerfSchemaDigest`) are both :class:`ClassSet`\\ s,
so they rank, tabulate and render the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dbtune.model.events import STATS


@dataclass
class QueryClass:
    """One query class: events with the same fingerprint, and their statistics."""

    id: str
    fingerprint: str
    count: int
    share: float
    metrics: dict[str, dict[str, float]]
    first_seen: datetime | None
    last_seen: datetime | None
    dbs: dict[str, int]
    users: dict[str, int]
    hosts: dict[str, int]
    db: str | None
    sample: str
    sample_db: str | None
    sample_source: str
    rows_examined_per_sent: float | None
    #: events per error code (str), most frequent first; events without error not counted
    errors: dict[str, int] = field(default_factory=dict)
    #: events per host label of the digests merged (``digest_slowlog(label=...)``)
    labels: dict[str, int] = field(default_factory=dict)
    _tables: list[str] | None = field(default=None, repr=False)

    @property
    def tables(self) -> list[str]:
        """Tables the sample touches (sqlglot, parsed once per class on first use)."""
        if self._tables is None:
            from dbtune.parsing import tables_in

            self._tables = tables_in(self.sample)
        return self._tables

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO strings)."""
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "count": self.count,
            "share": self.share,
            "db": self.db,
            "dbs": self.dbs,
            "users": self.users,
            "hosts": self.hosts,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "sample": self.sample,
            "sample_db": self.sample_db,
            "sample_source": self.sample_source,
            "tables": self.tables,
            "rows_examined_per_sent": self.rows_examined_per_sent,
            "errors": self.errors,
            "labels": self.labels,
            "metrics": self.metrics,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class ClassSet:
    """Ranked query classes and a summary: what every source of classes reports."""

    @property
    def classes(self) -> list[QueryClass]:
        raise NotImplementedError

    @property
    def summary(self) -> dict[str, Any]:
        raise NotImplementedError

    def ranked(self, order_by: str = "query_time:sum", top: int | None = None,
               min_count: int = 1) -> list[QueryClass]:
        """Classes sorted by ``metric:stat`` (or ``count``) descending, at least min_count."""
        if order_by == "count":
            def value(c: QueryClass) -> float:
                return c.count
        else:
            metric, _, stat = order_by.partition(":")
            stat = stat or "sum"
            if stat not in STATS:
                raise ValueError(f"unknown statistic {stat!r} in {order_by!r}")

            def value(c: QueryClass) -> float:
                found = c.metrics.get(metric, {}).get(stat)
                return -math.inf if found is None else found
        chosen = [c for c in self.classes if c.count >= min_count]
        chosen.sort(key=lambda c: (-value(c), -c.count, c.id))
        return chosen if top is None else chosen[:top]

    def to_frame(self):
        """One row per class ranked by query time: the columns documented in the module."""
        import pandas as pd

        rows = []
        for c in self.classes:
            row = {k: v for k, v in c.to_dict().items() if k != "metrics"}
            row["first_seen"], row["last_seen"] = c.first_seen, c.last_seen
            for metric, stats in c.metrics.items():
                for stat in STATS:
                    row[f"{metric}_{stat}"] = stats.get(stat)
            rows.append(row)
        return pd.DataFrame(rows)
