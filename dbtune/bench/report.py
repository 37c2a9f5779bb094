"""Text renderings of a BenchResult: table, Markdown and JSON (HTML is in html.py)."""

from __future__ import annotations

import math
from typing import Any

from dbtune.bench.result import BOOTSTRAP, BenchResult
from dbtune.report.formats import render_rows, to_json

FORMATS = ("table", "markdown", "json", "html")
#: classes shown in the text table (the JSON holds all)
TOP = 15
_AB = {"before": "A", "after": "B"}


def render(result: BenchResult, fmt: str) -> str:
    """The report in ``fmt`` (table, markdown, json or html)."""
    if fmt == "json":
        return to_json(result.to_dict())
    if fmt == "html":
        from dbtune.bench.html import render_html

        return render_html(result)
    if fmt not in ("table", "markdown"):
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    md = fmt == "markdown"
    parts = [_heading("dbtune bench", md), *_intro(result), ""]
    parts += [_heading("Overall", md), render_rows(summary_rows(result), fmt, floatfmt=",.3f")]
    parts.append(f"ratio CI: {BOOTSTRAP}\n")
    if result.targets:
        parts += [_heading("Verdict", md), render_rows(
            [{**r, "met": "yes" if r["met"] else "NO"} for r in result.verdict()], fmt,
            floatfmt=",.3f")]
    guard = result.class_guard()
    if guard:
        parts += [_heading(f"Slower classes (fail beyond {result.max_regression:g}x, warn "
                           "beyond 1.25x)", md),
                  render_rows([{k: r[k] for k in ("status", "label", "ratio", "ci95_low",
                                                  "ci95_high", "judged_on")} for r in guard],
                              fmt, floatfmt=",.2f")]
    parts += [_heading("Result equivalence", md), *_equivalence(result, fmt)]
    parts += [_heading(f"Classes (top {TOP} by time before)", md),
              render_rows(class_rows(result)[:TOP], fmt)]
    if result.migration.advice:
        parts += [_heading("Applied advice", md), render_rows(
            [{"ddl": a["ddl"], "saved_share": a["saved_share"]}
             for a in result.migration.advice], fmt, floatfmt=".1%")]
    parts.append(verdict_line(result) + "\n")
    return "\n".join(parts)


def _heading(text: str, md: bool) -> str:
    return f"## {text}\n" if md else f"{text}\n{'-' * len(text)}"


def _intro(result: BenchResult) -> list[str]:
    replay = result.replay
    per_round = f"{replay.count} statements" if replay.count else f"{replay.duration:g} s"
    order = "interleaved" if result.interleaved else "sequential"
    before, after = result.overall("before"), result.overall("after")
    lines = [
        f"workload: {result.workload.source}; database {result.database} on {result.server}",
        f"rounds: {order} {' '.join(_AB[r.phase] for r in result.rounds)} (A before, B after), "
        f"{per_round} each after {replay.warmup} warm-up, concurrency {replay.concurrency}",
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


def _equivalence(result: BenchResult, fmt: str) -> list[str]:
    eq = result.equivalence
    head = (f"{eq.statements} read statements of {eq.classes} classes compared (sorted-row "
            f"checksums): {'no differences' if eq.ok else f'{len(eq.differences)} classes differ'}")
    if eq.ok:
        return [head + "\n"]
    rows = [{"class": d.label[:48], "differing": f"{d.differing}/{d.statements}",
             "before": d.before, "after": d.after, "example": d.example_sql[:120]}
            for d in eq.differences]
    return [head, render_rows(rows, fmt)]


def verdict_line(result: BenchResult) -> str:
    """The last line: differences, target met or not."""
    if not result.equivalence.ok:
        return (f"RESULT DIFFERENCES in {len(result.equivalence.differences)} classes "
                "(exit status 4)")
    guard = (f"; {len(result.regressed)} class(es) slower than {result.max_regression:g}x: "
             f"{', '.join(result.regressed)} (exit status 1)" if result.regressed else "")
    if result.met is None:
        return "no target given" + guard
    targets = ", ".join(str(t) for t in result.targets)
    return f"target {targets}: {'MET' if result.met else 'NOT MET'}" + guard
