"""The nightly report's charts as inline SVG (matplotlib, Agg): nothing to fetch when opened.

Text stays text in the SVG (``svg.fonttype = none``) and the output carries no date, so
the same report renders the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from dbtune.nightly.history import ClassStats

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "dbtune", "font.size": 9})
    return plt


def _svg(figure, label: str, **margins: float) -> str:
    """The figure as an inline SVG element; fixed ``margins`` (figure fractions), as
    tight_layout measures every text twice and costs more than the drawing."""
    plt = _pyplot()
    figure.subplots_adjust(**margins)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    start = text.find("<svg")
    svg = text[start:].replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
    return f'<figure class="chart" data-chart="{label}">{svg}</figure>'


def _row_margins(figure) -> dict[str, float]:
    """Margins of a chart with one labelled row per class: room for the labels and axis."""
    height = figure.get_figheight()
    return {"left": 0.4, "right": 0.97, "bottom": 0.6 / height, "top": 1 - 0.3 / height}


def label(stats: ClassStats, width: int = 38) -> str:
    """A short label of a class: its id's first 8 digits and the fingerprint's start."""
    text = " ".join(stats.fingerprint.split())
    text = text if len(text) <= width else text[:width - 1] + "…"
    return f"{stats.class_id[:8]} {text}"


def top_classes_chart(classes: Sequence[ClassStats], top: int = 10) -> str:
    """Horizontal bars: total query time of the costliest classes today."""
    plt = _pyplot()
    chosen = list(classes)[:top][::-1]
    figure, axis = plt.subplots(figsize=(9, 0.35 * max(len(chosen), 3) + 1))
    axis.barh([label(s) for s in chosen], [s.total for s in chosen], color=_COLORS[0])
    axis.set_xlabel("total query time today (s)")
    axis.set_title("Top classes by total time")
    return _svg(figure, "top classes by total time", **_row_margins(figure))


def latency_chart(classes: Sequence[ClassStats], top: int = 10) -> str:
    """Per class: min-max line with p50, p95 and p99 marks (log scale, ms)."""
    plt = _pyplot()
    chosen = [s for s in list(classes)[:top] if s.p50 is not None][::-1]
    figure, axis = plt.subplots(figsize=(9, 0.35 * max(len(chosen), 3) + 1))
    for y, s in enumerate(chosen):
        low, high = max(s.min or s.p50, 1e-6) * 1000, max(s.max or s.p99, 1e-6) * 1000
        axis.plot([low, high], [y, y], color="#bbb", linewidth=2)
        for value, marker, color, name in ((s.p50, "o", _COLORS[0], "p50"),
                                           (s.p95, "D", _COLORS[1], "p95"),
                                           (s.p99, "s", _COLORS[3], "p99")):
            axis.plot([max(value, 1e-6) * 1000], [y], marker, color=color,
                      label=name if y == 0 else None)
    axis.set_yticks(range(len(chosen)), [label(s) for s in chosen])
    axis.set_xscale("log")
    axis.set_xlabel("query time (ms, log scale): min-max, p50, p95, p99")
    axis.set_title("Latency distribution of the top classes")
    if chosen:
        axis.legend(loc="lower right")
    return _svg(figure, "latency distribution", **_row_margins(figure))


def trend_chart(days: Sequence[date], series: dict[str, list[ClassStats]],
                totals: Sequence[float]) -> str:
    """Over the history: total query time per day, and the p95 of the top classes per day."""
    plt = _pyplot()
    figure, (total_axis, p95_axis) = plt.subplots(1, 2, figsize=(11, 3.6))
    position = {d: i for i, d in enumerate(days)}
    ticks = [d.isoformat()[5:] for d in days]
    total_axis.bar(range(len(days)), totals, color=_COLORS[0])
    total_axis.set_title("Total query time per day (s)")
    for i, (class_id, points) in enumerate(series.items()):
        p95_axis.plot([position[p.day] for p in points],
                      [(p.p95 or 0.0) * 1000 for p in points], marker=".",
                      color=_COLORS[i % len(_COLORS)], label=class_id[:8])
    p95_axis.set_title("p95 per day of the top classes (ms)")
    p95_axis.set_yscale("log")
    for axis in (total_axis, p95_axis):
        axis.set_xticks(range(len(days)), ticks, rotation=60)
    if series:
        p95_axis.legend(fontsize=7)
    return _svg(figure, "trends over the history", left=0.06, right=0.98, bottom=0.22,
                top=0.9, wspace=0.2)
