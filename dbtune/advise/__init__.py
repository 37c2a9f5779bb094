"""Advice: index hygiene (:mod:`dbtune.advise.hygiene`) and index advice
(:mod:`dbtune.advise.indexes`), each rule a small named function."""

from dbtune.advise.hygiene import HygieneFinding, find_hygiene, hygiene_frame
from dbtune.advise.indexes import IndexAdvice, IndexPlan, advice_frame, advise_indexes

__all__ = ["HygieneFinding", "IndexAdvice", "IndexPlan", "advice_frame", "advise_indexes",
           "find_hygiene", "hygiene_frame"]
