"""What the morning report says: small named rules over today's classes and the history.

Each rule is a function ``rule(context) -> list[Finding]`` with a docstring example and a
test of its own; :data:`RULES` composes them in order (as sqlglot's optimizer composes its
rules). Severities: ``info``, ``warning``, ``critical``; the worst one sets the exit status
(:func:`exit_status`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dbtune.nightly.history import ClassStats

SEVERITIES = ("info", "warning", "critical")
#: Exit status for cron and CI: worst finding -> status (2 is an error, set by the CLI).
EXIT_STATUS = {"clean": 0, "warning": 1, "critical": 3, "error": 2}


@dataclass(frozen=True)
class Thresholds:
    """The platform's limits and how sure a regression must be.

    ``ratio``: p95 or total time up by more than this factor against the baseline;
    ``min_events``: a class needs at least this many events today (and in the baseline)
    for a regression or a threshold to count; ``lookback_days``: the baseline's days.
    """

    warning_ms: float = 200.0
    critical_ms: float = 500.0
    ratio: float = 2.0
    min_events: int = 10
    lookback_days: int = 7


@dataclass
class Baseline:
    """One class over the baseline days (the ``lookback_days`` before today)."""

    days: int
    count: int
    total: float
    #: p95 of all the baseline's events (merged sketches) or, when ``exact`` is False, the
    #: count-weighted mean of the daily p95s (the history held no mergeable state)
    p95: float | None
    exact: bool = True

    @property
    def daily_total(self) -> float:
        return self.total / self.days if self.days else 0.0


@dataclass
class Context:
    """What the rules read. ``today``/``yesterday``: class id -> stats; ``baseline``: class
    id -> Baseline over the days before today; ``advice``/``previous_advice``: dicts of the
    Advice shape (``previous_advice`` None when yesterday has no report)."""

    day: date
    today: dict[str, ClassStats]
    yesterday: dict[str, ClassStats] = field(default_factory=dict)
    baseline: dict[str, Baseline] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    advice: list[dict[str, Any]] = field(default_factory=list)
    previous_advice: list[dict[str, Any]] | None = None
    history_days: int = 0


@dataclass
class Finding:
    """One thing the report tells: which rule, how bad, which class, in words, figures."""

    rule: str
    severity: str
    message: str
    class_id: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "class_id": self.class_id,
                "message": self.message, "figures": self.figures}


Rule = Callable[[Context], list[Finding]]


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:,.1f} ms"


def _short(stats: ClassStats, width: int = 60) -> str:
    text = " ".join(stats.fingerprint.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def new_classes(ctx: Context) -> list[Finding]:
    """Classes today that no day of the baseline had (nothing on the first night).

    >>> day = date(2026, 11, 26)
    >>> ctx = Context(day, today={"B": ClassStats("B", "select b", 5, 1.0)},
    ...               baseline={"A": Baseline(days=3, count=9, total=1.0, p95=0.1)},
    ...               history_days=3)
    >>> [f.class_id for f in new_classes(ctx)]
    ['B']
    """
    if not ctx.history_days:
        return []
    return [Finding("new_classes", "info", f"new class: {_short(s)} ({s.count:,} events, "
                    f"{s.total:,.2f}s)", s.class_id, {"count": s.count, "total": s.total})
            for s in ctx.today.values() if s.class_id not in ctx.baseline]


def gone_classes(ctx: Context) -> list[Finding]:
    """Classes yesterday had and today has not.

    >>> ctx = Context(date(2026, 11, 26), today={},
    ...               yesterday={"A": ClassStats("A", "select a", 40, 2.0)})
    >>> [f.message for f in gone_classes(ctx)]
    ['class gone since yesterday: select a (40 events yesterday)']
    """
    return [Finding("gone_classes", "info", f"class gone since yesterday: {_short(s)} "
                    f"({s.count:,} events yesterday)", s.class_id, {"yesterday_count": s.count})
            for s in ctx.yesterday.values() if s.class_id not in ctx.today]


def over_thresholds(ctx: Context) -> list[Finding]:
    """Classes whose p95 is above the platform's limits (warning, critical), with enough events.

    >>> ctx = Context(date(2026, 11, 26), today={
    ...     "A": ClassStats("A", "select a", 50, 20.0, p95=0.6),
    ...     "B": ClassStats("B", "select b", 50, 5.0, p95=0.25),
    ...     "C": ClassStats("C", "select c", 2, 5.0, p95=0.9)})
    >>> [(f.class_id, f.severity) for f in over_thresholds(ctx)]
    [('A', 'critical'), ('B', 'warning')]
    """
    t = ctx.thresholds
    out = []
    for s in ctx.today.values():
        if s.p95 is None or s.count < t.min_events:
            continue
        p95_ms = s.p95 * 1000
        for severity, limit in (("critical", t.critical_ms), ("warning", t.warning_ms)):
            if p95_ms > limit:
                out.append(Finding("over_thresholds", severity,
                                   f"p95 {_ms(s.p95)} above the {severity} threshold "
                                   f"{limit:,.0f} ms: {_short(s)}", s.class_id,
                                   {"p95": s.p95, "threshold_ms": limit, "count": s.count}))
                break
    return out


def p95_regressions(ctx: Context) -> list[Finding]:
    """Classes whose p95 rose by more than ``ratio`` over the baseline, both with enough events.

    >>> ctx = Context(date(2026, 11, 26),
    ...               today={"A": ClassStats("A", "select a", 50, 9.0, p95=0.3)},
    ...               baseline={"A": Baseline(days=7, count=350, total=7.0, p95=0.05)})
    >>> [f.message for f in p95_regressions(ctx)]
    ['p95 up 6.0x: 50.0 ms -> 300.0 ms (select a)']
    """
    return [Finding("p95_regressions", "warning",
                    f"p95 up {ratio:.1f}x: {_ms(base.p95)} -> {_ms(s.p95)} ({_short(s)})",
                    s.class_id, {"ratio": ratio, "p95": s.p95, "baseline_p95": base.p95,
                                 "baseline_exact": base.exact})
            for s, base, ratio in _rises(ctx, lambda s: s.p95, lambda b: b.p95)]


def total_time_regressions(ctx: Context) -> list[Finding]:
    """Classes whose total time rose by more than ``ratio`` over the baseline's daily mean.

    >>> ctx = Context(date(2026, 11, 26),
    ...               today={"A": ClassStats("A", "select a", 500, 30.0, p95=0.1)},
    ...               baseline={"A": Baseline(days=7, count=3500, total=70.0, p95=0.1)})
    >>> [f.message for f in total_time_regressions(ctx)]
    ['total time up 3.0x: 10.00s/day -> 30.00s (select a)']
    """
    return [Finding("total_time_regressions", "warning",
                    f"total time up {ratio:.1f}x: {base.daily_total:,.2f}s/day -> "
                    f"{s.total:,.2f}s ({_short(s)})", s.class_id,
                    {"ratio": ratio, "total": s.total, "baseline_daily_total": base.daily_total})
            for s, base, ratio in _rises(ctx, lambda s: s.total, lambda b: b.daily_total)]


def _rises(ctx: Context, now: Callable[[ClassStats], float | None],
           before: Callable[[Baseline], float | None]
           ) -> list[tuple[ClassStats, Baseline, float]]:
    """(today, baseline, ratio) of the classes whose figure rose by more than ``ratio``,
    with at least ``min_events`` events today and in the baseline."""
    t = ctx.thresholds
    out = []
    for s in ctx.today.values():
        base = ctx.baseline.get(s.class_id)
        if base is None or s.count < t.min_events or base.count < t.min_events:
            continue
        value, reference = now(s), before(base)
        if value is not None and reference and value / reference > t.ratio:
            out.append((s, base, value / reference))
    return out


def fixed_classes(ctx: Context) -> list[Finding]:
    """Classes over the warning threshold yesterday and under it today.

    >>> ctx = Context(date(2026, 11, 26),
    ...               today={"A": ClassStats("A", "select a", 50, 1.0, p95=0.02)},
    ...               yesterday={"A": ClassStats("A", "select a", 50, 20.0, p95=0.4)})
    >>> [f.message for f in fixed_classes(ctx)]
    ['fixed: p95 400.0 ms yesterday -> 20.0 ms today (select a)']
    """
    limit = ctx.thresholds.warning_ms / 1000
    out = []
    for s in ctx.today.values():
        before = ctx.yesterday.get(s.class_id)
        if (before is None or before.p95 is None or s.p95 is None
                or before.count < ctx.thresholds.min_events):
            continue
        if before.p95 > limit >= s.p95:
            out.append(Finding("fixed_classes", "info",
                               f"fixed: p95 {_ms(before.p95)} yesterday -> {_ms(s.p95)} today "
                               f"({_short(s)})", s.class_id,
                               {"p95": s.p95, "yesterday_p95": before.p95}))
    return out


def advice_key(advice: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    """What identifies one piece of advice from night to night: kind, table and DDL."""
    return advice["kind"], advice["table"], tuple(advice["ddl"])


def advice_changes(ctx: Context) -> list[Finding]:
    """Advice that is new since yesterday's report, and advice withdrawn since.

    >>> add = {"kind": "add_index", "table": "orders", "title": "orders (status)",
    ...        "ddl": ["ALTER TABLE `orders` ADD INDEX `ix` (`status`)"]}
    >>> ctx = Context(date(2026, 11, 26), today={}, advice=[add], previous_advice=[])
    >>> [f.message for f in advice_changes(ctx)]
    ['new advice: add_index orders (status)']
    """
    if ctx.previous_advice is None:
        return []
    now = {advice_key(a): a for a in ctx.advice}
    before = {advice_key(a): a for a in ctx.previous_advice}
    return ([Finding("advice_changes", "info", f"new advice: {a['kind']} {a['title']}",
                     figures={"change": "new", "ddl": a["ddl"]})
             for k, a in now.items() if k not in before]
            + [Finding("advice_changes", "info", f"advice withdrawn: {a['kind']} {a['title']}",
                       figures={"change": "withdrawn", "ddl": a["ddl"]})
               for k, a in before.items() if k not in now])


RULES: list[Rule] = [over_thresholds, p95_regressions, total_time_regressions, new_classes,
                     gone_classes, fixed_classes, advice_changes]


def find(ctx: Context, rules: list[Rule] | None = None) -> list[Finding]:
    """Every rule's findings, worst severity first (rule order kept within a severity)."""
    found = [f for rule in rules or RULES for f in rule(ctx)]
    return sorted(found, key=lambda f: -SEVERITIES.index(f.severity))


def exit_status(findings: list[Finding]) -> int:
    """0 clean, 1 warnings, 3 critical (2 is an error, which no finding sets).

    >>> exit_status([Finding("r", "info", "x"), Finding("r", "warning", "y")])
    1
    """
    worst = max((SEVERITIES.index(f.severity) for f in findings), default=0)
    return EXIT_STATUS[("clean", "warning", "critical")[worst]]
