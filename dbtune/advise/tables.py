"""One table during the search: its statistics, the needs of the classes that read it, the
writes that change it, its candidates and the indexes chosen so far.

>>> from dbtune.advise.need import Need, TableInfo
>>> state = TableState(TableInfo("t", rows=1e6, ndv={"a": 1e5}), [Need("q", "t", eq=("a",))])
>>> state.best(state.needs[0], [("a",)])[1]
'a'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dbtune.advise.estimate import Estimate, estimate, flipped, full_scan
from dbtune.advise.need import Need, TableInfo
from dbtune.advise.whatif import MeasuredEstimate, ReadMeasure, disagrees
from dbtune.advise.writecost import Write, slowdown, write_basis, write_cost, write_share, writers

#: a new index whose measured maintenance would make a write class slower than its
#: table's ``max_slowdown`` costs this (the whole workload): the search never takes it
OVER_SLOWDOWN = 1.0


@dataclass
class TableState:
    """One table during the search: its statistics, needs, writes and indexes."""

    info: TableInfo
    needs: list[Need]
    #: (class id, share of workload time, columns an UPDATE sets - None for INSERT/DELETE,
    #: which maintain every index)
    writes: list[Write] = field(default_factory=list)
    candidates: list[tuple[str, ...]] = field(default_factory=list)
    chosen: list[tuple[str, ...]] = field(default_factory=list)
    #: (class id, candidate columns) -> the read measured on a disposable server
    #: (:mod:`dbtune.advise.measure`); the estimator's figure elsewhere
    measured: dict[tuple[str, tuple[str, ...]], ReadMeasure] = field(default_factory=dict)
    #: no measured write class may be made slower than this by the new indexes' upkeep
    #: (None: no cap); estimated write costs are never capped
    max_slowdown: float | None = None
    _baselines: dict[int, tuple[Need, tuple[Estimate, str]]] = field(default_factory=dict,
                                                                     repr=False)
    _estimates: dict[tuple[int, tuple[str, ...]], tuple[Need, Estimate]] = field(
        default_factory=dict, repr=False)

    def writers(self, columns: Sequence[str]) -> list[tuple[str, float]]:
        """(class id, share) of the writes that must maintain an index on ``columns``."""
        return writers(self.writes, columns)

    def write_share(self, columns: Sequence[str]) -> float:
        """Share of workload time in writes that must maintain an index on ``columns``."""
        return write_share(self.writes, columns)

    def write_cost(self, columns: Sequence[str]) -> float:
        """Share of workload time an index on ``columns`` adds to this table's writes
        (measured or estimated); :data:`OVER_SLOWDOWN` when its measured upkeep, with the
        chosen indexes it does not replace, would slow a write class past
        :attr:`max_slowdown`."""
        cost = write_cost(self.writes, columns)
        if self.max_slowdown is not None:
            kept = [c for c in self.chosen if tuple(columns[: len(c)]) != tuple(c)]
            if any(f > self.max_slowdown for f in self.slowdown([*kept, columns]).values()):
                return cost + OVER_SLOWDOWN
        return cost

    def slowdown(self, indexes: Sequence[tuple[str, ...]]) -> dict[str, float]:
        """Measured write class -> the factor the new ``indexes`` make it slower: its read
        part with the best of them, where that was measured (a DELETE whose WHERE one of
        them serves), plus their upkeep (:func:`~dbtune.advise.writecost.slowdown`)."""
        measured = {w.class_id for w in self.writes if w.per_index is not None}
        read = {}
        for need in self.needs:
            if need.kind != "select" and need.class_id in measured:
                found = self.best(need, list(indexes))[0]
                if isinstance(found, MeasuredEstimate):
                    read[need.class_id] = found.cost / self.baseline(need)[0].cost
        return slowdown(self.writes, indexes, read)

    def flip_risk(self, columns: tuple[str, ...]) -> float:
        """Share of workload time a new index on ``columns`` may cost the classes whose join
        order it could flip for the worse (:func:`~dbtune.advise.estimate.flipped`), against
        how each reads the table today."""
        risk = 0.0
        for need in self.needs:
            today = self.baseline(need)[0]
            path = flipped(need, columns, self.info, today)
            if path is not None:
                risk += need.weight * (path.cost / today.cost - 1)
        return risk

    def write_basis(self, columns: Sequence[str]) -> str:
        """"measured", "estimated", "partly measured" or "none" (:func:`write_basis`)."""
        return write_basis(self.writes, columns)

    def best(
        self, need: Need, chosen: Sequence[tuple[str, ...]] | None = None
    ) -> tuple[Estimate, str]:
        """The cheapest way to serve ``need`` with the existing indexes plus ``chosen``
        (default: :attr:`chosen`): (estimate, index name, "PRIMARY", "" for a full scan,
        or the joined columns of a chosen index). On a tie, what exists today wins."""
        chosen = self.chosen if chosen is None else chosen
        options = [self.baseline(need)]
        options += [(self.estimate(need, columns), ",".join(columns)) for columns in chosen]
        return min(options, key=lambda o: o[0].cost)

    def baseline(self, need: Need) -> tuple[Estimate, str]:
        """How ``need`` is served today: full scan, primary key or an existing index."""
        cached = self._baselines.get(id(need))
        if cached is None or cached[0] is not need:  # ids are reused once a need is freed
            options = [(full_scan(need, self.info), "")]
            if self.info.pk:
                options.append((estimate(need, self.info.pk, self.info, clustered=True),
                                "PRIMARY"))
            for name, columns, prefixes in self.info.existing:
                options.append((estimate(need, columns, self.info, prefixed=prefixes), name))
            cached = self._baselines[id(need)] = (need, min(options, key=lambda o: o[0].cost))
        return cached[1]

    def record(self, class_id: str, columns: tuple[str, ...], measure: ReadMeasure) -> None:
        """A read measured with ``columns``: it replaces the estimate for that class."""
        self.measured[(class_id, columns)] = measure
        self._estimates.clear()

    def measured_wrong(self, need: Need) -> bool:
        """Does any measurement of ``need``'s class on this table disagree with the model
        (:func:`~dbtune.advise.whatif.disagrees`)? Then its measured ratios are used."""
        today = self.baseline(need)[0].cost
        return any(disagrees(m, modelled=estimate(need, columns, self.info).cost, today=today)
                   for (class_id, columns), m in self.measured.items()
                   if class_id == need.class_id)

    def estimate(self, need: Need, columns: tuple[str, ...]) -> Estimate:
        """:func:`estimate` of a new index on ``columns`` (cached per need and columns); a
        :class:`MeasuredEstimate` where the class was measured with that index (today's
        estimated cost times the measured time ratio, where the class's measurements
        disagree with the model: :meth:`measured_wrong`)."""
        key = (id(need), columns)
        cached = self._estimates.get(key)
        if cached is None or cached[0] is not need:
            modelled = estimate(need, columns, self.info)
            measure = self.measured.get((need.class_id, columns))
            if measure is not None:
                today = self.baseline(need)[0].cost
                modelled = MeasuredEstimate(
                    rows=measure.rows_after if measure.rows_after is not None
                    else modelled.rows, sorted=modelled.sorted, covering=modelled.covering,
                    used=modelled.used, unsorted=modelled.unsorted,
                    measured_cost=today * measure.ratio if self.measured_wrong(need)
                    else modelled.cost, measure=measure)
            cached = self._estimates[key] = (need, modelled)
        return cached[1]

    def relative(self, costs: Iterable[float]) -> float:
        """Weighted read cost of all needs, relative to today, given each need's cost."""
        return sum(n.weight * c / self.baseline(n)[0].cost
                   for n, c in zip(self.needs, costs, strict=True))
