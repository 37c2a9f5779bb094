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

Where the measured and the modelled ratio of every candidate measured for a class agree
within :data:`AGREEMENT`, the model's costs stay for that class (the measurement confirms
them, and the model still ranks a covering index over a narrower one whose
sub-millisecond times a busy machine cannot tell apart); where any disagrees (the optimizer
does not take the index, skew, a rare value), the measured ratios replace them all, so
that the class's candidates are never compared half on one scale, half on the other:

>>> disagrees(m, modelled=30.0, today=1000.0), disagrees(m, modelled=600.0, today=1000.0)
(False, True)
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
#: table) agree. Wide enough for what a model in rows cannot see on a small table (the
#: statement's fixed cost: 0.3 ms of a 1.5 ms scan, where the model says 0.1) and for a
#: busy machine's noise; narrow enough for what matters (an index the optimizer ignores,
#: a skewed or rare value: ratios off by 0.5 or more)
AGREEMENT = 1 / 3


def disagrees(measure: ReadMeasure, *, modelled: float, today: float) -> bool:
    """Does the measured time ratio differ from the modelled cost ratio by more than
    :data:`AGREEMENT`?"""
    return today > 0 and abs(measure.ratio - modelled / today) > AGREEMENT


@dataclass(frozen=True)
class MeasuredEstimate(Estimate):
    """An :class:`~dbtune.advise.estimate.Estimate` whose cost was measured, not modelled."""

    measured_cost: float = 0.0
    measure: ReadMeasure | None = None

    @property
    def cost(self) -> float:  # type: ignore[override]
        """The cost the search uses: measured where the class's measurements disagree with
        the model (:func:`disagrees`), else the model's."""
        return self.measured_cost
