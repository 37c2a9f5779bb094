"""The digest of slow logs: a ClassSet over one mergeable aggregate."""

from __future__ import annotations

import copy
import os
from typing import Any

from dbtune.digest.aggregate import Aggregate
from dbtune.model import ClassSet, QueryClass


class Digest(ClassSet):
    """The digest of one or more slow logs: summary, classes, merge, DataFrame."""

    def __init__(self, aggregate: Aggregate) -> None:
        self.aggregate = aggregate
        self._classes: list[QueryClass] | None = None

    @property
    def classes(self) -> list[QueryClass]:
        """All classes, ranked by total query time (then count, then id)."""
        if self._classes is None:
            self._classes = self.aggregate.build()
        return self._classes

    @property
    def summary(self) -> dict[str, Any]:
        return self.aggregate.summary()

    def save(self, path: str | os.PathLike) -> None:
        """Write the mergeable state to a Parquet file (:mod:`dbtune.digest.store`)."""
        from dbtune.digest.store import save_digest

        save_digest(self, path)

    def merge(self, other: Digest) -> Digest:
        """A new digest of this log followed by ``other``'s (exact)."""
        aggregate = copy.deepcopy(self.aggregate)
        aggregate.merge(copy.deepcopy(other.aggregate))
        return Digest(aggregate)
