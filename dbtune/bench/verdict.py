"""The bench's verdict: the ``--target`` on the whole workload, and the guard on every class.

``--target``: what "better" must mean, e.g. ``mean<30ms``, ``p95<=200ms``, ``mean<=0.5x``.
Several targets are joined with commas and all must hold. Absolute targets compare the
after statistic (``us``, ``ms`` or ``s``); ratio targets (``x``) compare after/before.
The point estimates decide; the report also shows the bootstrap interval.

``--max-regression`` (:func:`guard_classes`): no class, however small its share, may get
slower by more than that factor (default 2x) with its interval above 1; every class slower
than 1.25x is named. A batch DELETE ten times slower must be heard about even when it is
0.02% of the time.

``--fail-on`` (:class:`Alert`): the design's alert levels, 200 ms (warning) and 500 ms
(critical), on one latency statistic of every class; `dbtune analyze` judges its classes
with the same object.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dbtune.bench.stats import STATISTICS

_TARGET = re.compile(r"^\s*(mean|p50|p95|p99)\s*(<=|<)\s*(\d+(?:\.\d+)?|\.\d+)\s*(us|ms|s|x)\s*$",
                     re.IGNORECASE)
_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


class TargetError(ValueError):
    """A --target that does not parse (the message is one line)."""


@dataclass(frozen=True)
class Target:
    """One condition on a statistic: ``after <op> limit_ms`` or ``after/before <op> ratio``."""

    statistic: str
    op: str
    value: float
    relative: bool

    def __str__(self) -> str:
        unit = "x" if self.relative else "ms"
        return f"{self.statistic}{self.op}{self.value:g}{unit}"

    def holds(self, before: float, after: float) -> bool:
        """Does the condition hold for these before/after values (milliseconds)?"""
        observed = after / before if self.relative else after
        return observed < self.value if self.op == "<" else observed <= self.value


def parse_targets(text: str) -> list[Target]:
    """``"mean<30ms, p95<=0.8x"`` -> targets; TargetError names what is wrong."""
    targets = []
    for part in text.split(","):
        match = _TARGET.match(part)
        if not match:
            raise TargetError(
                f"target {part.strip()!r}: expected STAT<VALUE or STAT<=VALUE with STAT one of "
                f"{', '.join(STATISTICS)} and VALUE like 30ms, 0.2s, 500us or 0.5x")
        stat, op, number, unit = match.groups()
        unit = unit.lower()
        relative = unit == "x"
        value = float(number) * (1.0 if relative else _TO_MS[unit])
        targets.append(Target(stat.lower(), op, value, relative))
    return targets


def evaluate(targets: list[Target], before: dict[str, float], after: dict[str, float]
             ) -> list[dict[str, object]]:
    """One row per target: the target, observed value and whether it holds.

    ``before``/``after`` map ``mean_ms``, ``p95_ms``, ... to the overall statistics.
    """
    rows = []
    for target in targets:
        b, a = before[f"{target.statistic}_ms"], after[f"{target.statistic}_ms"]
        observed = a / b if target.relative else a
        rows.append({"target": str(target), "observed": observed,
                     "unit": "x" if target.relative else "ms", "met": target.holds(b, a)})
    return rows


#: ``--max-regression``: a class this many times slower (its 95% interval above 1) fails
MAX_REGRESSION = 2.0
#: every class at least this many times slower is named as a warning
WARN_REGRESSION = 1.25
#: a class with fewer statements than this in a phase has no usable interval (a bootstrap
#: of a few latencies is far too narrow): its point estimate alone judges it, against the
#: same ``--max-regression``, and the report says so (``judged_on``). Measured here:
#: sub-millisecond classes of 3-12 statements per phase read 1.3x-2.2x slower between two
#: runs of the same change, so a rare class near the limit can fail on noise; the issue's
#: rule (a batch DELETE ten times slower must be heard about) wants that, not a looser limit.
MIN_CLASS_COUNT = 20


def guard_classes(classes: Iterable[dict[str, Any]], max_regression: float = MAX_REGRESSION,
                  warn: float = WARN_REGRESSION, min_count: int = MIN_CLASS_COUNT
                  ) -> list[dict[str, Any]]:
    """Every class slower after than ``warn`` times before, worst first, however small its
    share of the time: ``status`` "REGRESSION" when it is more than ``max_regression`` times
    slower with its 95% interval above 1 (a class with fewer than ``min_count`` statements
    in a phase, or without an interval: its point estimate alone, and ``judged_on`` says
    so), else "slower".

    ``classes``: per-class records with ``class``, ``label``, ``ratio``, ``ci95_low``,
    ``ci95_high``, ``count_before``, ``count_after`` (:attr:`BenchResult.per_class`).

    >>> rows = guard_classes([
    ...     {"class": "a", "label": "cleanup", "ratio": 2.9, "ci95_low": 0.5, "ci95_high": 30,
    ...      "count_before": 7, "count_after": 7},
    ...     {"class": "b", "label": "page", "ratio": 2.4, "ci95_low": 0.9, "ci95_high": 4,
    ...      "count_before": 500, "count_after": 500}])
    >>> [(r["label"], r["status"], r["judged_on"][:14]) for r in rows]
    [('cleanup', 'REGRESSION', 'point estimate'), ('page', 'slower', '95% interval')]
    """
    out = []
    for row in classes:
        ratio, low = row.get("ratio"), row.get("ci95_low")
        if ratio is None or math.isnan(ratio) or ratio <= warn:
            continue
        counts = (int(row.get("count_before") or 0), int(row.get("count_after") or 0))
        rare = min(counts) < min_count or low is None or math.isnan(low)
        failed = ratio > max_regression and (rare or low > 1.0)
        out.append({
            "class": row["class"], "label": row.get("label", row["class"]), "ratio": ratio,
            "ci95_low": low, "ci95_high": row.get("ci95_high"),
            "count_before": counts[0], "count_after": counts[1],
            "judged_on": (f"point estimate ({counts[0]} / {counts[1]} statements: too few "
                          "for an interval)" if rare else "95% interval"),
            "status": "REGRESSION" if failed else "slower",
        })
    return sorted(out, key=lambda r: (r["status"] != "REGRESSION", -r["ratio"]))


#: the alert levels of the design (ms): a warning at 200, critical at 500
ALERT_MS = (200.0, 500.0)


@dataclass(frozen=True)
class Alert:
    """``--fail-on STAT[:WARN_MS[:CRIT_MS]]``: a class whose ``statistic`` reaches
    ``warning_ms`` is a warning (exit 1), one reaching ``critical_ms`` is critical (exit 3).

    >>> alert = Alert("p95")
    >>> alert.status({"a": 120.0, "b": 230.0}), alert.status({"a": 510.0})
    (1, 3)
    >>> alert.message({"a": 120.0, "b": 230.0, "c": 260.0})
    'warning: 2 classes with p95 >= 200 ms (worst c: 260.0 ms)'
    """

    statistic: str
    warning_ms: float = ALERT_MS[0]
    critical_ms: float = ALERT_MS[1]

    @classmethod
    def parse(cls, text: str, statistics: Iterable[str]) -> Alert:
        """``p95`` -> Alert("p95", 200, 500); ``p99:100:300`` sets both levels. ValueError
        (one line) names what is wrong."""
        stat, *limits = text.split(":")
        known = tuple(statistics)
        try:
            levels = [float(x.removesuffix("ms")) for x in limits] + list(ALERT_MS)[len(limits):]
        except ValueError:
            levels = []
        if stat not in known or len(limits) > 2 or not levels or not 0 < levels[0] <= levels[1]:
            raise ValueError(f"{text!r}: expected STAT[:WARN_MS[:CRIT_MS]] with STAT in "
                             f"{', '.join(known)} and 0 < WARN_MS <= CRIT_MS, e.g. p95:200:500")
        return cls(stat, levels[0], levels[1])

    def over(self, values: Mapping[str, float]) -> list[tuple[str, float]]:
        """(class, ms) of every class at or above the warning level, worst first."""
        return sorted(((name, ms) for name, ms in values.items()
                       if ms is not None and not math.isnan(ms) and ms >= self.warning_ms),
                      key=lambda item: -item[1])

    def status(self, values: Mapping[str, float]) -> int:
        """0, 1 (a class reached the warning level) or 3 (one reached the critical)."""
        over = self.over(values)
        return 0 if not over else 3 if over[0][1] >= self.critical_ms else 1

    def message(self, values: Mapping[str, float], of: str = "") -> str | None:
        """The verdict in one line, ``of`` naming what the statistic is of (None when no
        class reached the warning level)."""
        over, status = self.over(values), self.status(values)
        if not over:
            return None
        level, limit = ("critical", self.critical_ms) if status == 3 else ("warning",
                                                                          self.warning_ms)
        count = sum(1 for _, ms in over if ms >= limit)
        measure = f"{self.statistic} {of}".rstrip()
        return (f"{level}: {count} class{'es' if count != 1 else ''} with {measure} >= "
                f"{limit:g} ms (worst {over[0][0]}: {over[0][1]:,.1f} ms)")

    def __str__(self) -> str:
        return f"{self.statistic}:{self.warning_ms:g}:{self.critical_ms:g}"
