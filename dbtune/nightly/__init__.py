"""The nightly report: one day's classes against a history, findings, advice, charts.

``nightly_report(paths, history=FILE, schemas=[...])`` digests the day, compares it with
the history (:mod:`dbtune.nightly.history`, SQLite), applies the rules of
:mod:`dbtune.nightly.findings`, stores the day and returns a :class:`NightlyReport`
(``.render(fmt)``, ``.exit_status``).
"""

from dbtune.nightly.build import nightly_report
from dbtune.nightly.findings import RULES, Finding, Thresholds
from dbtune.nightly.history import History, HistoryError
from dbtune.nightly.report import NightlyReport

__all__ = ["RULES", "Finding", "History", "HistoryError", "NightlyReport", "Thresholds",
           "nightly_report"]
