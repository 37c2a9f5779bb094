"""Each findings rule on its own: what it reports, and what it must not."""

from __future__ import annotations

from datetime import date

from dbtune.nightly.findings import (
    RULES,
    Baseline,
    Context,
    Finding,
    Thresholds,
    advice_changes,
    exit_status,
    find,
    fixed_classes,
    gone_classes,
    new_classes,
    over_thresholds,
    p95_regressions,
    total_time_regressions,
)
from dbtune.nightly.history import ClassStats

DAY = date(2026, 11, 26)


def stats(class_id: str, count: int = 50, total: float = 1.0, p95: float | None = 0.05
          ) -> ClassStats:
    return ClassStats(class_id, f"select {class_id.lower()}", count, total, p95=p95)


def base(count: int = 350, total: float = 7.0, p95: float | None = 0.05, days: int = 7
         ) -> Baseline:
    return Baseline(days=days, count=count, total=total, p95=p95)


def ids(findings: list[Finding]) -> list[str | None]:
    return [f.class_id for f in findings]


def test_new_classes_only_against_a_history() -> None:
    today = {"A": stats("A"), "B": stats("B")}
    assert ids(new_classes(Context(DAY, today, baseline={"A": base()}, history_days=7))) == ["B"]
    assert new_classes(Context(DAY, today, history_days=0)) == []  # the first night


def test_gone_classes_compares_with_yesterday() -> None:
    ctx = Context(DAY, {"A": stats("A")}, yesterday={"A": stats("A"), "B": stats("B")})
    assert ids(gone_classes(ctx)) == ["B"]
    assert gone_classes(Context(DAY, {"A": stats("A")})) == []


def test_over_thresholds_at_the_limits_and_the_event_floor() -> None:
    today = {"at": stats("at", p95=0.2), "over": stats("over", p95=0.2001),
             "crit": stats("crit", p95=0.5001), "few": stats("few", count=9, p95=2.0),
             "none": stats("none", p95=None)}
    found = over_thresholds(Context(DAY, today))
    assert [(f.class_id, f.severity) for f in found] == [("over", "warning"), ("crit", "critical")]
    assert over_thresholds(Context(DAY, today, thresholds=Thresholds(min_events=1)))[-1].class_id \
        == "few"


def test_p95_regressions_need_the_ratio_and_enough_events() -> None:
    today = {"up": stats("up", p95=0.11), "same": stats("same", p95=0.09),
             "few": stats("few", count=5, p95=1.0), "thin": stats("thin", p95=1.0)}
    baseline = {"up": base(), "same": base(), "few": base(), "thin": base(count=3)}
    assert ids(p95_regressions(Context(DAY, today, baseline=baseline))) == ["up"]
    assert p95_regressions(Context(DAY, today, baseline=baseline,
                                   thresholds=Thresholds(ratio=3))) == []


def test_total_time_regressions_against_the_daily_mean() -> None:
    today = {"up": stats("up", total=2.5), "same": stats("same", total=1.9)}
    baseline = {"up": base(total=7.0), "same": base(total=7.0)}  # 1 s/day
    assert ids(total_time_regressions(Context(DAY, today, baseline=baseline))) == ["up"]
    assert total_time_regressions(Context(DAY, today)) == []  # no baseline, no regression


def test_fixed_classes_cross_the_warning_threshold_downwards() -> None:
    today = {"fixed": stats("fixed", p95=0.1), "still": stats("still", p95=0.3),
             "was_ok": stats("was_ok", p95=0.1)}
    yesterday = {"fixed": stats("fixed", p95=0.3), "still": stats("still", p95=0.6),
                 "was_ok": stats("was_ok", p95=0.15)}
    assert ids(fixed_classes(Context(DAY, today, yesterday=yesterday))) == ["fixed"]


def test_advice_changes_new_withdrawn_and_kept() -> None:
    def advice(ddl: str) -> dict:
        return {"kind": "add_index", "table": "t", "title": ddl, "ddl": [ddl]}

    ctx = Context(DAY, {}, advice=[advice("keep"), advice("new")],
                  previous_advice=[advice("keep"), advice("old")])
    assert [(f.figures["change"], f.figures["ddl"]) for f in advice_changes(ctx)] == \
        [("new", ["new"]), ("withdrawn", ["old"])]
    assert advice_changes(Context(DAY, {}, advice=[advice("new")])) == []  # no yesterday


def test_find_runs_every_rule_worst_first_and_sets_the_exit_status() -> None:
    ctx = Context(DAY, {"A": stats("A", p95=0.6), "B": stats("B", p95=0.3)},
                  yesterday={"C": stats("C")}, baseline={"C": base()}, history_days=1)
    found = find(ctx)
    assert [f.severity for f in found] == ["critical", "warning", "info", "info", "info"]
    assert exit_status(found) == 3
    assert exit_status(find(ctx, rules=[gone_classes])) == 0
    assert exit_status([f for f in found if f.severity != "critical"]) == 1
    assert len(RULES) == 7
