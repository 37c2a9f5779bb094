"""What the measured what-if (:mod:`dbtune.advise.measure`) found, in the shapes the search
reads: :class:`ReadMeasure` per (class, candidate) and the :class:`MeasuredEstimate` the
search uses in place of the estimator's figure.

A measured read is a statement timed (ANALYZE) on a disposable server without any candidate
and with one candidate made visible. Its cost for the search is the estimator's cost of how
the class is served today scaled by the measured time ratio, so measured and estimated
candidates compare on one scale:

>>> m = ReadMeasure(ms_before=40.0, ms_after=0.4, rows_after=3.0, used=True)
>>> m.ratio, MeasuredEstimate(rows=3.0, measured_cost=1000.0 * m.ratio).cost
(0.01, 10.0)
>>> ReadMeasure(ms_before=40.0, ms_after=38.0, rows_after=None, used=False).ratio
1.0

Where the measured and the modelled ratio agree within :data:`AGREEMENT` the model's cost
stays (the measurement confirms it, and the model still ranks a covering index over a
narrower one whose sub-millisecond times a busy machine cannot tell apart):

>>> search_cost(m, modelled=30.0, today=1000.0), search_cost(m, modelled=600.0, today=1000.0)
(30.0, 10.0)
"""

from __future__ import annotations

from dataclasses import dataclass

from dbtune.advise.estimate import Estimate


@dataclass(frozen=True)
class ReadMeasure:
    """One read class timed on the sandbox without, then with, one candidate index."""

    ms_before: float
    ms_after: float
    #: rows the statement examined on the candidate's table with it (ANALYZE r_rows)
    rows_after: float | None
    #: did the optimizer use the candidate (its name in the ANALYZE plan)
    used: bool

    @property
    def ratio(self) -> float:
        """Time with the index / time without; 1.0 when the optimizer did not use it (the
        difference is then noise). Capped at 1: a slower plan the search cannot count
        (it assumes each class takes its cheapest index); verification judges that."""
        if not self.used or self.ms_before <= 0:
            return 1.0
        return min(1.0, self.ms_after / self.ms_before)


#: measured and modelled time ratios closer than this (a share of the class's time on the
#: table) agree: the model's finer figure is kept
AGREEMENT = 0.2


def search_cost(measure: ReadMeasure, *, modelled: float, today: float) -> float:
    """The cost the search uses for a measured (class, candidate): today's estimated cost
    times the measured ratio, unless the model's ratio agrees (:data:`AGREEMENT`)."""
    if today <= 0 or abs(measure.ratio - modelled / today) <= AGREEMENT:
        return modelled
    return today * measure.ratio


@dataclass(frozen=True)
class MeasuredEstimate(Estimate):
    """An :class:`~dbtune.advise.estimate.Estimate` whose cost was measured, not modelled."""

    measured_cost: float = 0.0
    measure: ReadMeasure | None = None

    @property
    def cost(self) -> float:  # type: ignore[override]
        """The measured cost (:func:`search_cost`)."""
        return self.measured_cost
