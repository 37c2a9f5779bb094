"""Which events a digest keeps: a time window and db/user/host matches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dbtune.ingest.slowlog import NO_TIME, Block


def values(given: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """A filter's values: one string, several, or None for no filter.

    >>> values("shop"), values(["shop", "blog"]), values(None)
    (('shop',), ('shop', 'blog'), None)
    """
    if given is None:
        return None
    return (given,) if isinstance(given, str) else tuple(given)


@dataclass(frozen=True)
class Filters:
    """Which events to keep: a time window and db/user/host matches (any of the values).

    Times are microseconds since the epoch (see :func:`dbtune.ingest.slowlog.time_us`).
    A host matches the client's host name or its IP (``@ web-3 [10.0.0.13]`` matches both).
    """

    since: int | None = None
    until: int | None = None
    database: tuple[str, ...] | None = None
    user: tuple[str, ...] | None = None
    host: tuple[str, ...] | None = None

    def active(self) -> bool:
        """Whether any filter is set."""
        return any(v is not None for v in (self.since, self.until, self.database, self.user,
                                           self.host))

    def mask(self, block: Block) -> np.ndarray:
        """Which entries of ``block`` to keep."""
        keep = np.ones(len(block), bool)
        times = block.times
        if self.since is not None:
            keep &= (times != NO_TIME) & (times >= self.since)
        if self.until is not None:
            keep &= (times != NO_TIME) & (times <= self.until)
        if self.database is not None:
            wanted = set(self.database)
            keep &= np.array([db in wanted for db in block.dbs], bool)
        if self.user is not None or self.host is not None:
            ok = {p for p, (user, host) in block.who.items()
                  if (self.user is None or user in self.user)
                  and (self.host is None or host in self.host
                       or block.ips.get(p) in self.host)}
            keep &= np.array([p in ok for p in block.people], bool)
        return keep
