"""Advice: index hygiene (:mod:`dbtune.advise.hygiene`), index and partition advice."""
