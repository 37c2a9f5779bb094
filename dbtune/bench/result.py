"""What a bench measured: rounds, statistics per class and overall, equivalence, verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from dbtune.bench.equivalence import Equivalence
from dbtune.bench.stats import STATISTICS, Ratio, bootstrap_ratio, statistic, summary
from dbtune.bench.verdict import MAX_REGRESSION, Alert, Target, evaluate, guard_classes
from dbtune.workload.runner import WorkloadResult

if TYPE_CHECKING:
    from dbtune.bench.rounds import Migration, Replay
    from dbtune.bench.workloads import Workload

#: exit statuses of `dbtune bench` (CRITICAL: a class past the --fail-on critical level)
MET, NOT_MET, ERROR, CRITICAL, DIFFERENT = 0, 1, 2, 3, 4
BOOTSTRAP = "percentile bootstrap, 1000 resamples of before and after (seeded), 95% interval"


@dataclass
class Round:
    """One replay round: its phase, its measurements and its span of the slow log."""

    phase: str
    index: int
    result: WorkloadResult
    started: float
    slowlog_span: tuple[int, int] | None = None
    #: (statements, seconds) performance_schema timed in the database during the round
    #: (warm-up and connection set-up included), or None when it is off
    server_time: tuple[int, float] | None = None
    #: the same per class, for the classes whose statements a digest could be joined to
    server_classes: dict[str, tuple[int, float]] | None = None


@dataclass
class BenchResult:
    """Everything ``dbtune bench`` reports, as objects (``to_dict`` for JSON)."""

    workload: Workload
    database: str
    server: str
    rounds: list[Round]
    migration: Migration
    equivalence: Equivalence
    interleaved: bool
    replay: Replay
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seed: int = 0
    #: no class may get slower than this factor (:func:`~dbtune.bench.verdict.guard_classes`)
    max_regression: float = MAX_REGRESSION
    #: ``--fail-on``: the alert levels every class's latency after the change is judged by
    alert: Alert | None = None

    @property
    def driver(self) -> str | None:
        """The client library the rounds were timed with (pymysql, mysqlclient, connector)."""
        return next((r.result.driver for r in self.rounds if r.result.driver), None)

    def latencies(self, phase: str) -> dict[str, list[float]]:
        """Class name -> every latency (ms) measured in rounds of ``phase``."""
        out: dict[str, list[float]] = {}
        for r in self.rounds:
            if r.phase == phase:
                for name, values in r.result.latencies_ms.items():
                    out.setdefault(name, []).extend(values)
        return out

    def all_latencies(self, phase: str) -> list[float]:
        return [v for values in self.latencies(phase).values() for v in values]

    def errors(self, phase: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rounds:
            if r.phase == phase:
                for name, n in r.result.errors.items():
                    out[name] = out.get(name, 0) + n
        return out

    def overall(self, phase: str) -> dict[str, Any]:
        """count, errors, mean/p50/p95/p99 ms and throughput (statements/s) of a phase."""
        runs = [r.result for r in self.rounds if r.phase == phase]
        elapsed = sum(r.elapsed_s for r in runs)
        out = summary(self.all_latencies(phase))
        out["errors"] = sum(self.errors(phase).values())
        out["throughput_qps"] = sum(r.statements for r in runs) / elapsed if elapsed else 0.0
        out["rounds"] = len(runs)
        timed = [r.server_time for r in self.rounds if r.phase == phase]
        count = sum(t[0] for t in timed if t) if all(timed) else 0
        out["server_mean_ms"] = (sum(t[1] for t in timed if t) * 1000.0 / count
                                 if count else float("nan"))
        return out

    def server_means(self, phase: str) -> dict[str, float]:
        """Class name -> performance_schema's mean time (ms) per statement over the rounds
        of ``phase`` (warm-up included); classes no digest joined are absent."""
        totals: dict[str, tuple[int, float]] = {}
        for r in self.rounds:
            if r.phase == phase:
                for name, (count, seconds) in (r.server_classes or {}).items():
                    had = totals.get(name, (0, 0.0))
                    totals[name] = (had[0] + count, had[1] + seconds)
        return {name: seconds * 1000.0 / count for name, (count, seconds) in totals.items()
                if count}

    @cached_property
    def ratios(self) -> dict[str, Ratio]:
        """after/before of every statistic over all statements, with bootstrap CIs."""
        before, after = self.all_latencies("before"), self.all_latencies("after")
        return {name: bootstrap_ratio(before, after, name, seed=self.seed) for name in STATISTICS}

    @cached_property
    def per_class(self) -> pd.DataFrame:
        """One row per class: label, counts, errors, before/after mean/p95/p99 and the mean
        ratio with its CI, heaviest (before total time) first."""
        before, after = self.latencies("before"), self.latencies("after")
        errors_b, errors_a = self.errors("before"), self.errors("after")
        server_b, server_a = self.server_means("before"), self.server_means("after")
        records = []
        for name in sorted(set(before) | set(after) | set(errors_b) | set(errors_a)):
            b, a = summary(before.get(name, [])), summary(after.get(name, []))
            ratio = bootstrap_ratio(before.get(name, []), after.get(name, []), "mean",
                                    resamples=400, seed=self.seed, max_n=5000)
            records.append({
                "class": name, "label": self.workload.labels.get(name, name),
                "count_before": b["count"], "count_after": a["count"],
                "errors_before": errors_b.get(name, 0), "errors_after": errors_a.get(name, 0),
                "mean_before_ms": b["mean_ms"], "mean_after_ms": a["mean_ms"],
                "p95_before_ms": b["p95_ms"], "p95_after_ms": a["p95_ms"],
                "p99_before_ms": b["p99_ms"], "p99_after_ms": a["p99_ms"],
                "ratio": ratio.ratio, "ci95_low": ratio.low, "ci95_high": ratio.high,
                "server_mean_before_ms": server_b.get(name, float("nan")),
                "server_mean_after_ms": server_a.get(name, float("nan")),
                "total_before_ms": sum(before.get(name, [])),
            })
        frame = pd.DataFrame.from_records(records)
        if frame.empty:
            return frame
        return frame.sort_values("total_before_ms", ascending=False, ignore_index=True)

    def verdict(self) -> list[dict[str, Any]]:
        """One row per target (empty without targets)."""
        return evaluate(self.targets, self.overall("before"), self.overall("after"))

    def class_guard(self) -> list[dict[str, Any]]:
        """Every class slower than 1.25x, worst first; "REGRESSION" beyond max_regression."""
        if self.per_class.empty:
            return []
        return guard_classes(self.per_class.to_dict("records"), self.max_regression)

    @property
    def regressed(self) -> list[str]:
        """Labels of the classes that failed the guard."""
        return [r["label"] for r in self.class_guard() if r["status"] == "REGRESSION"]

    @property
    def met(self) -> bool | None:
        """All targets met (None without targets)."""
        rows = self.verdict()
        return all(r["met"] for r in rows) if rows else None

    def after_values(self) -> dict[str, float]:
        """Class label -> the ``alert``'s statistic (ms) of its latencies after the change
        (empty without ``alert``)."""
        if self.alert is None:
            return {}
        stat = self.alert.statistic
        return {self.workload.labels.get(name, name): float(statistic(values, stat))
                for name, values in self.latencies("after").items() if values}

    @property
    def alert_status(self) -> int:
        """0, 1 (a class's latency after reached the ``alert``'s warning) or 3 (critical)."""
        return self.alert.status(self.after_values()) if self.alert else MET

    @property
    def exit_status(self) -> int:
        """4 on result differences, else 3 when a class reached the ``--fail-on`` critical
        level, else 1 when a target is not met, a class regressed beyond ``max_regression``
        or reached the ``--fail-on`` warning level, else 0."""
        if not self.equivalence.ok:
            return DIFFERENT
        if self.alert_status == CRITICAL:
            return CRITICAL
        return NOT_MET if self.met is False or self.regressed or self.alert_status else MET

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (documented in docs/bench.md)."""
        before, after = self.overall("before"), self.overall("after")
        replay = self.replay
        classes = self.per_class
        return {
            "workload": self.workload.source,
            "database": self.database,
            "server": self.server,
            "order": "interleaved" if self.interleaved else "sequential",
            "phases": [r.phase for r in self.rounds],
            "replay": {"count": replay.count, "duration_s": replay.duration,
                       "concurrency": replay.concurrency, "warmup": replay.warmup,
                       "read_only": replay.read_only, "seed": replay.seed,
                       "driver": self.driver},
            "migration": {"source": self.migration.source, "up": self.migration.up,
                          "down": self.migration.down, "advice": self.migration.advice,
                          "measured": self.migration.measured},
            "before": _clean(before),
            "after": _clean(after),
            "ratios": {k: _clean(v.to_dict()) for k, v in self.ratios.items()},
            "ci_method": BOOTSTRAP,
            "target": ", ".join(str(t) for t in self.targets) or None,
            "verdict": [_clean(r) for r in self.verdict()],
            "met": self.met,
            "max_regression": self.max_regression,
            "class_guard": [_clean(r) for r in self.class_guard()],
            "regressed": self.regressed,
            "fail_on": str(self.alert) if self.alert else None,
            "alert": self.alert.message(self.after_values(), "after") if self.alert else None,
            "result_differences": [d.to_dict() for d in self.equivalence.differences],
            "equivalence": {"statements": self.equivalence.statements,
                            "classes": self.equivalence.classes},
            "classes": [_clean(r) for r in classes.to_dict("records")],
            "skipped": self.workload.skipped,
            "notes": self.notes,
            "exit_status": self.exit_status,
        }


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    """NaN -> None and numpy scalars -> Python numbers, for JSON."""
    out = {}
    for key, value in record.items():
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and math.isnan(value):
            value = None
        out[key] = value
    return out
