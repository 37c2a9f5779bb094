"""Latency statistics: mean and percentiles, and after/before ratios with bootstrap CIs.

Method: the percentile bootstrap. Before and after latencies are resampled independently
with replacement (``resamples`` times, a seeded numpy Generator); the statistic's ratio
after/before is computed for each pair of resamples and the 2.5th and 97.5th percentiles
of those ratios are the 95% interval. Samples above ``max_n`` are first thinned to a seeded
random subset of ``max_n`` (which only widens the interval) to bound the cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

STATISTICS = ("mean", "p50", "p95", "p99")
_QUANTILE = {"p50": 50.0, "p95": 95.0, "p99": 99.0}


def statistic(values: np.ndarray, name: str, axis: int | None = None) -> np.ndarray | float:
    """``mean``, ``p50``, ``p95`` or ``p99`` of ``values`` (along ``axis``)."""
    if name == "mean":
        return np.mean(values, axis=axis)
    if name not in _QUANTILE:
        raise ValueError(f"unknown statistic {name!r}; choose one of {', '.join(STATISTICS)}")
    return np.percentile(values, _QUANTILE[name], axis=axis)


def summary(values: Sequence[float]) -> dict[str, float | int]:
    """count, mean, p50, p95, p99 (milliseconds; NaN when there are no values)."""
    array = np.asarray(values, dtype=float)
    out: dict[str, float | int] = {"count": int(array.size)}
    for name in STATISTICS:
        out[f"{name}_ms"] = float(statistic(array, name)) if array.size else float("nan")
    return out


@dataclass(frozen=True)
class Ratio:
    """after/before of one statistic, with its bootstrap 95% confidence interval."""

    statistic: str
    ratio: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"ratio": self.ratio, "ci95_low": self.low, "ci95_high": self.high}


def bootstrap_ratio(before: Sequence[float], after: Sequence[float], name: str = "mean", *,
                    resamples: int = 1000, seed: int = 0, max_n: int = 20_000) -> Ratio:
    """after/before of statistic ``name`` with a percentile-bootstrap 95% interval."""
    a, b = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if a.size == 0 or b.size == 0:
        nan = float("nan")
        return Ratio(name, nan, nan, nan)
    point = float(statistic(b, name)) / float(statistic(a, name))
    rng = np.random.default_rng(seed)
    a, b = _thin(a, max_n, rng), _thin(b, max_n, rng)
    ratios = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(a.size, b.size))
    for lo in range(0, resamples, chunk):
        k = min(chunk, resamples - lo)
        sa = statistic(a[rng.integers(0, a.size, (k, a.size))], name, axis=1)
        sb = statistic(b[rng.integers(0, b.size, (k, b.size))], name, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[lo:lo + k] = sb / sa
    low, high = np.nanpercentile(ratios, [2.5, 97.5])
    return Ratio(name, point, float(low), float(high))


def _thin(array: np.ndarray, max_n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(array, max_n, replace=False) if array.size > max_n else array
