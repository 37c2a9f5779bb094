"""A self-contained HTML page: summary, verdict, classes and a latency distribution chart.

The chart (matplotlib, Agg backend) is embedded as a PNG data URI; the page loads nothing
from anywhere else.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np

from dbtune.bench.report import class_rows, summary_rows, verdict_line
from dbtune.bench.result import BOOTSTRAP, BenchResult

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px}
td.n{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#b00;font-weight:bold}
.ok{color:#070;font-weight:bold}code{font-size:90%}"""


def latency_chart(result: BenchResult) -> str:
    """Before/after latency histograms (log-spaced bins) and CDFs, as a PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    before = np.asarray(result.all_latencies("before"))
    after = np.asarray(result.all_latencies("after"))
    figure, (hist, cdf) = plt.subplots(1, 2, figsize=(11, 3.8))
    both = np.concatenate([before, after])
    positive = both[both > 0]
    if positive.size:
        bins = np.geomspace(positive.min(), positive.max(), 60)
        for values, label, color in ((before, "before", "#888"), (after, "after", "#1f77b4")):
            hist.hist(values, bins=bins, alpha=0.6, label=label, color=color)
            ordered = np.sort(values)
            cdf.plot(ordered, np.arange(1, ordered.size + 1) / ordered.size, label=label,
                     color=color)
    for axis, title in ((hist, "latency distribution"), (cdf, "cumulative share")):
        axis.set_xscale("log")
        axis.set_xlabel("latency (ms, log scale)")
        axis.set_title(title)
        axis.legend()
    hist.set_ylabel("statements")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(rows: list[dict]) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = []
    for row in rows:
        cells = []
        for value in row.values():
            if isinstance(value, float):
                cells.append(f'<td class="n">{value:,.3f}</td>')
            elif isinstance(value, int):
                cells.append(f'<td class="n">{value:,}</td>')
            else:
                cells.append(f"<td>{html.escape('' if value is None else str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_html(result: BenchResult) -> str:
    """The whole page as one string."""
    verdict = verdict_line(result)
    good = result.equivalence.ok and result.met is not False
    eq = result.equivalence
    differences = [{"class": d.label, "differing": f"{d.differing}/{d.statements}",
                    "before": d.before, "after": d.after, "example": d.example_sql}
                   for d in eq.differences]
    advice = [{"ddl": a["ddl"], "rollback": a["rollback_ddl"]} for a in result.migration.advice]
    order = " ".join(r.phase for r in result.rounds)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>dbtune bench</title>
<style>{_STYLE}</style></head><body>
<h1>dbtune bench</h1>
<p class="{'ok' if good else 'bad'}">{html.escape(verdict)}</p>
<p>Workload: {html.escape(result.workload.source)}; database
<code>{html.escape(result.database)}</code> on {html.escape(result.server)}.<br>
Rounds ({'interleaved' if result.interleaved else 'sequential'}): {html.escape(order)};
concurrency {result.replay.concurrency}.<br>
Migration: {html.escape(result.migration.source)}.</p>
<h2>Overall</h2>{_table(summary_rows(result))}<p>CI: {html.escape(BOOTSTRAP)}.</p>
{'<h2>Verdict</h2>' + _table(result.verdict()) if result.targets else ''}
<h2>Latency before and after</h2>
<img alt="latency distribution before and after" src="{latency_chart(result)}">
<h2>Result equivalence</h2>
<p>{eq.statements} read statements of {eq.classes} classes compared.</p>
{_table(differences) if differences else '<p class="ok">No differences.</p>'}
<h2>Classes</h2>{_table(class_rows(result))}
{'<h2>Applied advice</h2>' + _table(advice) if advice else ''}
</body></html>
"""
