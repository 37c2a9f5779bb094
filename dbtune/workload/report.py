"""A workload replay as a report: :class:`RunReport` gives :func:`dbtune.report.render` the
summary and per-template latencies of a :class:`~dbtune.workload.runner.WorkloadResult`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dbtune.report.document import Section
from dbtune.workload.runner import WorkloadResult


@dataclass
class RunReport:
    """What ``dbtune workload run`` measured, on which server."""

    result: WorkloadResult
    server: str | None = None

    def summary(self) -> dict[str, Any]:
        """Statements, mean latency, throughput, wall time and concurrency of the run."""
        result = self.result
        return {"statements": result.statements, "mean_ms": round(result.mean_ms, 3),
                "throughput_qps": round(result.throughput, 1),
                "elapsed_s": round(result.elapsed_s, 1), "concurrency": result.concurrency}

    def to_document(self) -> dict[str, Any]:
        return {**self.summary(), "server": self.server, "driver": self.result.driver,
                "templates": self.rows()}

    def rows(self) -> list[dict[str, Any]]:
        frame = self.result.to_frame()
        return [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
                for r in frame.to_dict("records")]

    def sections(self) -> list[Section]:
        shown = [{k: v for k, v in r.items() if k != "p99_ms"} for r in self.rows()]
        header = [f"server: {self.server}"] if self.server else []
        header.append(f"driver: {self.result.driver}")
        summary = ", ".join(f"{k} {v}" for k, v in self.summary().items())
        return [Section("dbtune workload run", lines=header),
                Section(rows=shown, lines=[summary])]
