"""Advice: index hygiene (:mod:`dbtune.advise.hygiene`) and index advice
(:mod:`dbtune.advise.indexes`), each rule a small named function."""

from dbtune.advise.hygiene import HygieneFinding, find_hygiene, hygiene_frame
from dbtune.advise.indexes import IndexAdvice, IndexPlan, advise_indexes
from dbtune.advise.plan import advice_frame

__all__ = ["HygieneFinding", "IndexAdvice", "IndexPlan", "advice_frame", "advise_indexes",
           "find_hygiene", "hygiene_frame"]
