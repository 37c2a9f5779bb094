"""A BenchResult as a report: :class:`BenchReport` gives :func:`dbtune.report.render` its
document (JSON), rows (CSV, one per class) and sections (table, Markdown, HTML with the
latency chart of :mod:`dbtune.bench.html`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dbtune.bench.result import BOOTSTRAP, BenchResult
from dbtune.report.document import Section
from dbtune.report.formats import FORMATS

__all__ = ["FORMATS", "BenchReport", "class_rows", "summary_rows", "verdict_line"]

#: classes shown in the text table (the JSON and CSV hold all)
TOP = 15
_AB = {"before": "A", "after": "B"}


@dataclass
class BenchReport:
    """The report of one bench run."""

    result: BenchResult

    def to_document(self) -> dict[str, Any]:
        return self.result.to_dict()

    def rows(self) -> list[dict[str, Any]]:
        return self.result.per_class.to_dict("records")

    def sections(self) -> list[Section]:
        result = self.result
        parts = [Section("dbtune bench", lines=_intro(result)),
                 Section("Overall", rows=summary_rows(result), floatfmt=",.3f",
                         lines=[f"ratio CI: {BOOTSTRAP}"])]
        if result.targets:
            parts.append(Section("Verdict", rows=[{**r, "met": "yes" if r["met"] else "NO"}
                                                  for r in result.verdict()], floatfmt=",.3f"))
        guard = result.class_guard()
        if guard:
            parts.append(Section(
                f"Slower classes (fail beyond {result.max_regression:g}x, warn beyond 1.25x)",
                rows=[{k: r[k] for k in ("status", "label", "ratio", "ci95_low", "ci95_high",
                                         "judged_on")} for r in guard], floatfmt=",.2f"))
        parts.append(Section("Latency before and after", html=lambda: _chart(result)))
        parts += _equivalence(result)
        parts.append(Section(f"Classes (top {TOP} by time before)",
                             rows=class_rows(result)[:TOP], shrink="class"))
        if result.migration.advice:
            parts.append(Section("Applied advice", rows=[
                {"ddl": a["ddl"], "saved_share": a["saved_share"]}
                for a in result.migration.advice], floatfmt=".1%"))
        parts.append(Section(lines=[verdict_line(result)]))
        return parts


def _chart(result: BenchResult) -> str:
    from dbtune.bench.html import latency_chart

    return (f'<img alt="latency distribution before and after" '
            f'src="{latency_chart(result)}">')


def _intro(result: BenchResult) -> list[str]:
    replay = result.replay
    per_round = f"{replay.count} statements" if replay.count else f"{replay.duration:g} s"
    order = "interleaved" if result.interleaved else "sequential"
    before, after = result.overall("before"), result.overall("after")
    lines = [
        f"workload: {result.workload.source}; database {result.database} on {result.server}",
        f"rounds: {order} {' '.join(_AB[r.phase] for r in result.rounds)} (A before, B after), "
        f"{per_round} each after {replay.warmup} warm-up, concurrency {replay.concurrency}, "
        f"driver {result.driver}",
        f"measured: before {before['count']:,} statements ({before['errors']:,} errors), "
        f"after {after['count']:,} ({after['errors']:,} errors)",
        f"migration: {result.migration.source} (statements: {len(result.migration.up)})",
    ]
    lines += [f"note: {note}" for note in result.notes]
    lines += [f"skipped: {n} statements ({why})" for why, n in result.workload.skipped.items()]
    return lines


def summary_rows(result: BenchResult) -> list[dict[str, Any]]:
    """One row per statistic: before, after, ratio and its 95% CI."""
    before, after = result.overall("before"), result.overall("after")
    rows = []
    for name, ratio in result.ratios.items():
        rows.append({"statistic": f"{name} ms", "before": before[f"{name}_ms"],
                     "after": after[f"{name}_ms"], "ratio": ratio.ratio,
                     "ci95": f"{ratio.low:.3f} - {ratio.high:.3f}"})
    rows.append({"statistic": "throughput/s", "before": before["throughput_qps"],
                 "after": after["throughput_qps"],
                 "ratio": after["throughput_qps"] / before["throughput_qps"]
                 if before["throughput_qps"] else None, "ci95": ""})
    if not math.isnan(before["server_mean_ms"]) and not math.isnan(after["server_mean_ms"]):
        rows.append({"statistic": "server mean ms", "before": before["server_mean_ms"],
                     "after": after["server_mean_ms"],
                     "ratio": after["server_mean_ms"] / before["server_mean_ms"], "ci95": ""})
    return rows


def class_rows(result: BenchResult) -> list[dict[str, Any]]:
    """Per-class rows for the text tables (label shortened)."""
    frame = result.per_class
    rows = []
    for r in frame.to_dict("records"):
        label = str(r["label"])
        rows.append({
            "class": label if len(label) <= 48 else label[:45] + "...",
            "n": r["count_before"] + r["count_after"],
            "err": r["errors_before"] + r["errors_after"],
            "mean before": r["mean_before_ms"], "mean after": r["mean_after_ms"],
            "p95 before": r["p95_before_ms"], "p95 after": r["p95_after_ms"],
            "server before": r["server_mean_before_ms"],
            "server after": r["server_mean_after_ms"],
            "ratio": r["ratio"], "ci95": f"{r['ci95_low']:.2f} - {r['ci95_high']:.2f}",
        })
    return rows


def _equivalence(result: BenchResult) -> list[Section]:
    eq = result.equivalence
    head = (f"{eq.statements} read statements of {eq.classes} classes compared (sorted-row "
            f"checksums): {'no differences' if eq.ok else f'{len(eq.differences)} classes differ'}")
    parts = [Section("Result equivalence", lines=[head])]
    if not eq.ok:
        parts.append(Section(rows=[
            {"class": d.label[:48], "differing": f"{d.differing}/{d.statements}",
             "before": d.before, "after": d.after, "example": d.example_sql[:120]}
            for d in eq.differences]))
    return parts


def verdict_line(result: BenchResult) -> str:
    """The last line: differences, target met or not."""
    if not result.equivalence.ok:
        return (f"RESULT DIFFERENCES in {len(result.equivalence.differences)} classes "
                "(exit status 4)")
    guard = (f"; {len(result.regressed)} class(es) slower than {result.max_regression:g}x: "
             f"{', '.join(result.regressed)} (exit status 1)" if result.regressed else "")
    alert = result.alert.message(result.after_values(), "after") if result.alert else None
    if alert:
        guard += f"; --fail-on {result.alert}: {alert} (exit status {result.alert_status})"
    if result.met is None:
        return "no target given" + guard
    targets = ", ".join(str(t) for t in result.targets)
    return f"target {targets}: {'MET' if result.met else 'NOT MET'}" + guard
