"""dbtune's one model: events and query classes (ingest -> digest) and the Advice shape
every advisor returns (advise -> propose/bench -> report). See docs/design.md."""

from dbtune.model.advice import KINDS, Advice, ClassEffect
from dbtune.model.classes import ClassSet, QueryClass
from dbtune.model.events import CORE_METRICS, STATS, InputError, QueryEvent

__all__ = ["CORE_METRICS", "KINDS", "STATS", "Advice", "ClassEffect", "ClassSet", "InputError",
           "QueryClass", "QueryEvent"]
