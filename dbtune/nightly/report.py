"""The morning report object: findings, top classes, advice, trends; in every format.

:class:`NightlyReport` exposes ``to_document()``, ``rows()`` and ``sections()`` for
:func:`dbtune.report.document.render`; :meth:`NightlyReport.render` adds, for HTML, links
from every class to its sample and its advice (tables written as inline HTML).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dbtune.nightly.findings import Baseline, Finding, Thresholds, exit_status
from dbtune.nightly.history import ClassStats, stats_dict
from dbtune.report.document import Section, render

SCHEMA_VERSION = 1
_STYLE = ("<style>a{color:#1f5fa8}td.l,th.l{text-align:left}.critical{color:#b00;"
          "font-weight:bold}.warning{color:#b60}.chart svg{max-width:100%;height:auto}"
          "figure.chart{margin:1em 0}</style>")


@dataclass
class NightlyReport:
    """One night: the day's classes against the history, and what to do about them."""

    day: date
    summary: dict[str, Any]
    classes: list[ClassStats]
    shares: dict[str, float]
    findings: list[Finding]
    advice: list[dict[str, Any]]
    baseline: dict[str, Baseline]
    thresholds: Thresholds
    #: every stored day (oldest first) with its total query time, today included
    days: list[tuple[date, float, int]] = field(default_factory=list)
    #: class id -> its stats per day, for the top classes
    trends: dict[str, list[ClassStats]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    history_path: str | None = None
    top: int = 20
    #: why there is no advice, when there is none
    advice_note: str = ""
    #: yesterday's stats of the classes a finding names that did not run today (gone)
    gone: dict[str, ClassStats] = field(default_factory=dict)
    _charts: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def exit_status(self) -> int:
        """0 clean, 1 warnings, 3 critical."""
        return exit_status(self.findings)

    @property
    def verdict(self) -> str:
        return {0: "clean", 1: "warnings", 3: "critical"}[self.exit_status]

    def shown(self) -> list[ClassStats]:
        """The classes the report details: the top ones and every class a finding names."""
        named = {f.class_id for f in self.findings if f.class_id}
        return [c for i, c in enumerate(self.classes) if i < self.top or c.class_id in named]

    def advice_of(self, class_id: str) -> list[int]:
        """Numbers (1-based) of the advice that touches ``class_id``."""
        return [n for n, a in enumerate(self.advice, 1)
                if any(e["class_id"] == class_id for e in a.get("effects", []))]

    # ------------------------------------------------------------------ the three views
    def to_document(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": "dbtune",
            "report": "nightly",
            "day": self.day.isoformat(),
            "exit_status": self.exit_status,
            "verdict": self.verdict,
            "summary": self.summary,
            "thresholds": self.thresholds.__dict__,
            "findings": [f.to_dict() for f in self.findings],
            "classes": [{**stats_dict(c), "rank": i, "share": self.shares.get(c.class_id, 0.0),
                         "advice": self.advice_of(c.class_id),
                         "baseline": self.baseline[c.class_id].__dict__
                         if c.class_id in self.baseline else None}
                        for i, c in enumerate(self.shown(), 1)],
            "gone_classes": [stats_dict(c) for c in self.gone.values()],
            "advice": [{"number": n, **a} for n, a in enumerate(self.advice, 1)],
            "history": {"path": self.history_path,
                        "days": [{"day": d.isoformat(), "total_query_time": t, "events": e}
                                 for d, t, e in self.days]},
            "trends": {cid: [{"day": p.day.isoformat(), "count": p.count, "total": p.total,
                              "p95": p.p95} for p in points]
                       for cid, points in self.trends.items()},
            "notes": self.notes,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One row per finding (the CSV view): what a ticket system would take in."""
        return [{"day": self.day.isoformat(), **f.to_dict(), "figures": None}
                for f in self.findings] or [{"day": self.day.isoformat(), "rule": None,
                                             "severity": "clean", "class_id": None,
                                             "message": "no findings", "figures": None}]

    def sections(self) -> list[Section]:
        return self._sections(links=False)

    def render(self, fmt: str, width: int | None = None) -> str:
        """The report in ``fmt`` (a table fitting ``width`` columns); HTML with links from
        classes to samples and advice."""
        title = f"dbtune nightly report {self.day.isoformat()}"
        return render(_Linked(self) if fmt == "html" else self, fmt, title=title, width=width)

    def chart(self, name: str) -> str:
        """One chart as inline SVG: ``top``, ``latency`` or ``trends`` (drawn once)."""
        if name not in self._charts:
            from dbtune.nightly import charts

            days = [d for d, _, _ in self.days]
            self._charts[name] = {
                "top": lambda: charts.top_classes_chart(self.classes),
                "latency": lambda: charts.latency_chart(self.classes),
                "trends": lambda: charts.trend_chart(days, self.trends,
                                                     [t for _, t, _ in self.days]),
            }[name]()
        return self._charts[name]

    # ------------------------------------------------------------------ sections
    def _sections(self, links: bool) -> list[Section]:
        table = _html_table if links else None
        out = [Section("Summary", rows=self._summary_rows(),
                       html=_STYLE if links else None)]
        findings = [{"severity": f.severity, "rule": f.rule,
                     "class": f.class_id[:12] if f.class_id else "", "message": f.message}
                    for f in self.findings]
        out.append(_section("Findings", findings or [{"severity": "clean", "rule": "",
                                                      "class": "", "message": "no findings"}],
                            table, link_class="class", severity=True))
        top = [self._class_row(i, c) for i, c in enumerate(self.shown(), 1)]
        out.append(_section("Top classes by total time", top, table, link_class="class",
                            link_advice="advice",
                            charts=self.chart("top") + self.chart("latency") if links else ""))
        out.append(_section("Trends over the history",
                            [{"day": d.isoformat(), "events": e, "total query time (s)": t}
                             for d, t, e in self.days], table,
                            charts=self.chart("trends") if links else ""))
        if self.advice:
            advice = [{"#": n, "kind": a["kind"], "table": a["table"], "title": a["title"],
                       "classes": ", ".join(e["class_id"][:12] for e in a.get("effects", [])),
                       "basis": a.get("basis", "")} for n, a in enumerate(self.advice, 1)]
            out.append(_section("Advice", advice, table, link_class="classes", anchor="#"))
            out.append(Section("Advice DDL", text=_ddl(self.advice), language="sql"))
        else:
            out.append(Section("Advice", text=self.advice_note or "no advice"))
        for c in self.shown():
            out.append(self._class_section(c, links))
        for c in self.gone.values():
            out.append(self._class_section(c, links, gone=True))
        if self.notes:
            out.append(Section("Notes", text="\n".join(self.notes)))
        return out

    def _summary_rows(self) -> list[dict[str, Any]]:
        s = self.summary
        items = [("day", self.day.isoformat()), ("verdict", f"{self.verdict} (exit "
                                                            f"{self.exit_status})"),
                 ("source", ", ".join(s.get("files", [])) or "-"),
                 ("events", f"{s.get('events', 0):,}"), ("classes", f"{s.get('classes', 0):,}"),
                 ("total query time", f"{s.get('total_query_time', 0.0):,.2f}s"),
                 ("history", f"{len(self.days)} days in {self.history_path or '-'}"),
                 ("thresholds", f"p95 > {self.thresholds.warning_ms:g} ms warning, > "
                                f"{self.thresholds.critical_ms:g} ms critical; regression > "
                                f"{self.thresholds.ratio:g}x with >= "
                                f"{self.thresholds.min_events} events")]
        return [{"item": k, "value": v} for k, v in items]

    def _class_row(self, rank: int, c: ClassStats) -> dict[str, Any]:
        base = self.baseline.get(c.class_id)
        ms = (lambda v: None if v is None else round(v * 1000, 3))  # noqa: E731
        return {"rank": rank, "class": c.class_id[:12], "count": c.count,
                "total (s)": round(c.total, 3),
                "share": f"{self.shares.get(c.class_id, 0.0):.1%}",
                "p50 ms": ms(c.p50), "p95 ms": ms(c.p95), "p99 ms": ms(c.p99),
                "baseline p95 ms": ms(base.p95) if base else None,
                "advice": ", ".join(f"#{n}" for n in self.advice_of(c.class_id)),
                "fingerprint": " ".join(c.fingerprint.split())[:70]}

    def _class_section(self, c: ClassStats, links: bool, gone: bool = False) -> Section:
        advice = self.advice_of(c.class_id)
        when = f"gone today; on {c.day}: " if gone else ""
        lines = [f"-- class {c.class_id}  ({when}{c.count:,} events, {c.total:,.3f}s, "
                 f"sample from {c.sample_source or '-'}, db {c.sample_db or '-'})",
                 f"-- advice: {', '.join(f'#{n}' for n in advice) or 'none'}", c.sample]
        anchor = None
        if links:
            refs = " ".join(f'<a href="#advice-{n}">advice #{n}</a>' for n in advice)
            anchor = (f'<p id="class-{html.escape(c.class_id[:12])}"><a href="#findings">'
                      f'back to the findings</a> {refs}</p>')
        return Section(f"Class {c.class_id[:12]}{' (gone)' if gone else ''}",
                       text="\n".join(lines), language="sql", html=anchor)


class _Linked:
    """The report's HTML view: tables as inline HTML with links (same data, same order)."""

    def __init__(self, report: NightlyReport) -> None:
        self._report = report

    def to_document(self) -> dict[str, Any]:
        return self._report.to_document()

    def rows(self) -> list[dict[str, Any]]:
        return self._report.rows()

    def sections(self) -> list[Section]:
        return self._report._sections(links=True)


def _section(title: str, rows: list[dict[str, Any]], table, *, link_class: str | None = None,
             link_advice: str | None = None, anchor: str | None = None,
             severity: bool = False, charts: str = "") -> Section:
    """A table section; for HTML (``table`` given) the table is inline HTML with links."""
    if table is None:
        return Section(title, rows=rows)
    svg = charts
    slug = title.split()[0].lower()
    body = table(rows, link_class=link_class, link_advice=link_advice, anchor=anchor,
                 severity=severity)
    return Section(title, html=f'<div id="{slug}">{svg}{body}</div>')


def _html_table(rows: list[dict[str, Any]], *, link_class: str | None,
                link_advice: str | None, anchor: str | None, severity: bool) -> str:
    """Rows as an HTML table: class ids link to their section, advice numbers to theirs."""
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f'<th class="l">{html.escape(str(k))}</th>' for k in rows[0])
    body = []
    for row in rows:
        cells = []
        for key, value in row.items():
            text = "-" if value is None else str(value)
            cell = html.escape(text)
            if key == link_class and text:
                cell = ", ".join(f'<a href="#class-{html.escape(v)}">'
                                 f"{html.escape(v)}</a>" for v in text.split(", "))
            elif key == link_advice and text:
                cell = ", ".join(f'<a href="#advice-{v[1:]}">{v}</a>' for v in text.split(", "))
            elif key == anchor:
                cell = f'<span id="advice-{html.escape(text)}">{cell}</span>'
            css = f' class="{html.escape(text)}"' if severity and key == "severity" else ""
            cells.append(f"<td{css}>{cell}</td>" if isinstance(value, int | float)
                         else f'<td class="l"{css}>{cell}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _ddl(advice: list[dict[str, Any]]) -> str:
    lines = []
    for n, a in enumerate(advice, 1):
        lines.append(f"-- #{n} {a['kind']} {a['title']}: {'; '.join(a.get('reasons', []))}")
        lines += [f"{s};" for s in a["ddl"]]
        lines += [f"-- rollback: {s};" for s in a.get("rollback", [])]
    return "\n".join(lines)
