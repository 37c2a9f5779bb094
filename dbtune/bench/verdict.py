"""``--target``: what "better" must mean, e.g. ``mean<30ms``, ``p95<=200ms``, ``mean<=0.5x``.

Several targets are joined with commas and all must hold. Absolute targets compare the
after statistic (``us``, ``ms`` or ``s``); ratio targets (``x``) compare after/before.
The point estimates decide; the report also shows the bootstrap interval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
