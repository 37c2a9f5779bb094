"""The latency distribution chart of a bench's HTML report (:mod:`dbtune.bench.report`).

The chart (matplotlib, Agg backend) is embedded as a PNG data URI; the page loads nothing
from anywhere else.
"""

from __future__ import annotations

import base64
import io

import numpy as np

from dbtune.bench.result import BenchResult


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
