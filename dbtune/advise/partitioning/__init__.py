"""RANGE partitioning advice: where it pays (pruning, DROP PARTITION retention), proven on a
disposable server, and a plain "do not partition" with the reason where it does not.

>>> from dbtune.advise.partitioning import advise_partitions   # doctest: +SKIP
>>> plan = advise_partitions(digest, catalog, retention={"audit_log": 365})  # doctest: +SKIP
>>> plan.table("audit_log").verdict, plan.to_advice()[0].ddl[0][:30]          # doctest: +SKIP

Modules, one stage each: :mod:`.candidates` (size, workload per table, the column),
:mod:`.bounds` (the range a predicate gives), :mod:`.scheme` (function, granularity, bounds),
:mod:`.constraints` (the catalog checks), :mod:`.pruning` (per class), :mod:`.retention`
(maintenance procedure and EVENT), :mod:`.verify` (sandbox proof), :mod:`.plan` (the result),
:mod:`.advisor` (the pipeline).
"""

from dbtune.advise.partitioning.advisor import advise_partitions, column_bounds
from dbtune.advise.partitioning.candidates import Thresholds
from dbtune.advise.partitioning.constraints import CHECKS, Check
from dbtune.advise.partitioning.plan import DO_NOT, PARTITION, PartitionPlan, TableVerdict

__all__ = ["CHECKS", "DO_NOT", "PARTITION", "Check", "PartitionPlan", "TableVerdict",
           "Thresholds", "advise_partitions", "column_bounds"]
