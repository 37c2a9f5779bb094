"""One call for the whole night: digest the day, compare with the history, advise, store.

>>> # nightly_report(["/var/log/mysql/slow.log.1"], history="nightly.sqlite",
>>> #                schemas=["schema.sql"]).render("html")
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from dbtune.model import InputError
from dbtune.nightly.findings import Baseline, Context, Thresholds, find
from dbtune.nightly.history import ClassStats, History, HistoryError
from dbtune.nightly.report import NightlyReport

#: Classes whose daily p95 the trend chart draws.
TREND_CLASSES = 6


def read_day(paths: Sequence[str | Path] = (), *, perfschema: Sequence[str | Path] = (),
             day: date | None = None, since: datetime | None = None,
             until: datetime | None = None, jobs: int | None = None, progress: bool = False):
    """The day's classes: a slow-log digest of ``paths`` (``day`` restricts it to that
    calendar day of the log's clock), or the performance_schema window between two saved
    snapshots ``perfschema = (before, after)`` (``dbtune analyze perfschema --save``)."""
    if bool(paths) == bool(perfschema):
        raise InputError("give the day's slow logs or a performance_schema snapshot pair "
                         "(before, after), not both")
    if perfschema:
        from dbtune.ingest.perfschema import Snapshot
        from dbtune.ingest.perfschema_digest import PerfSchemaDigest

        if len(perfschema) != 2:
            raise InputError("performance_schema input is two saved snapshots: BEFORE AFTER")
        before, after = (Snapshot.load(p) for p in perfschema)
        return PerfSchemaDigest(after, before)
    from dbtune.digest import digest_slowlog

    if day is not None:
        start = datetime.combine(day, datetime.min.time())
        since = max(since, start) if since else start
        end = start + timedelta(days=1) - timedelta(microseconds=1)
        until = min(until, end) if until else end
    return digest_slowlog([str(p) for p in paths], since=since, until=until, jobs=jobs,
                          progress=progress)


def advise(classes: Any, catalog: Any, now: datetime | None = None) -> list[Any]:
    """The current advice (Advice objects): hygiene drops and new indexes, then the tables
    to RANGE-partition (``now``: the end of the reported day, for the partition bounds)."""
    from dbtune.advise.hygiene import find_hygiene
    from dbtune.advise.indexes import advise_indexes
    from dbtune.advise.partitioning import advise_partitions

    indexes = advise_indexes(classes, catalog, hygiene=find_hygiene(catalog)).to_advice()
    partitions = advise_partitions(classes, catalog, index_advice=indexes, now=now)
    return indexes + partitions.to_advice()


def write_proposal(advice: Sequence[Any], directory: str | Path, classes: Any, catalog: Any,
                   schemas: Sequence[str | Path]) -> str:
    """``dbtune propose`` for the night's advice into ``directory``; one line saying what."""
    from dbtune.migrate import Refused, propose

    schema_sql = "\n".join(Path(p).read_text(encoding="utf-8") for p in schemas)
    try:
        proposal = propose(advice, directory, classes=classes.ranked(), catalog=catalog,
                           schema_sql=schema_sql)
    except Refused as exc:
        return f"proposal: {exc}"
    return (f"proposal: {len(proposal.steps)} step(s) written to {proposal.directory}"
            + (f", {len(proposal.already)} already there" if proposal.already else ""))


def baselines(history: History, day: date, thresholds: Thresholds
              ) -> tuple[dict[str, Baseline], list[str]]:
    """Per class over the ``lookback_days`` before ``day``: counts, totals and the p95 of
    the merged sketches (or the count-weighted mean of daily p95s, said in the notes)."""
    first, last = day - timedelta(days=thresholds.lookback_days), day - timedelta(days=1)
    rows = history.class_days(first, last)
    if not rows:
        return {}, []
    notes: list[str] = []
    p95s: dict[str, float] = {}
    exact = True
    try:
        merged = history.digest(first, last)
        p95s = {c.id: c.metrics.get("query_time", {}).get("p95") for c in merged.classes}
    except HistoryError as exc:
        exact = False
        notes.append(f"baseline p95 is the mean of daily p95s, not a percentile: {exc}")
    out: dict[str, Baseline] = {}
    for r in rows:
        b = out.setdefault(r.class_id, Baseline(days=0, count=0, total=0.0, p95=None,
                                                exact=exact))
        b.days += 1
        b.count += r.count
        b.total += r.total
        if not exact and r.p95 is not None:
            b.p95 = (b.p95 or 0.0) + r.p95 * r.count  # weighted sum, divided below
    for class_id, b in out.items():
        b.p95 = p95s.get(class_id) if exact else (b.p95 / b.count if b.p95 else None)
    return out, notes


def nightly_report(
    paths: Sequence[str | Path] = (),
    *,
    history: str | Path,
    perfschema: Sequence[str | Path] = (),
    schemas: Sequence[str | Path] = (),
    dsn: str | None = None,
    database: str | None = None,
    defaults_file: str | None = None,
    day: date | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    thresholds: Thresholds | None = None,
    keep_days: int | None = 90,
    top: int = 20,
    propose: str | Path | None = None,
    jobs: int | None = None,
    progress: bool = False,
) -> NightlyReport:
    """The morning report of one day, stored into ``history`` (an SQLite file).

    Input: the day's slow logs ``paths`` or a performance_schema snapshot pair; the schema
    from DDL files ``schemas`` or the server at ``dsn`` (read-only) for the advice (left
    out without either). ``day``: the calendar day reported (default: the day of the
    last event). Re-running a day replaces it. ``keep_days``: days older than this before
    ``day`` are dropped from the history (None keeps all). ``propose``: a directory where
    ``dbtune propose`` writes the migrations of the night's advice (needs ``schemas``).
    """
    thresholds = thresholds or Thresholds()
    if propose is not None and not schemas:
        raise InputError("--propose writes tests that load the schema: give --schema FILE")
    with History(history) as store:  # opened first: a refused history costs no digest
        classes = read_day(paths, perfschema=perfschema, day=day, since=since, until=until,
                           jobs=jobs, progress=progress)
        summary = dict(classes.summary)
        if day is None:
            last = summary.get("last_seen")
            day = last.date() if last else date.today()
        notes = list(summary.get("warnings", []))[:10]
        advice, advice_note = [], ("no advice: give --schema FILE or --dsn for index, "
                                   "hygiene and partition advice")
        if schemas or dsn:
            from dbtune.catalog import load_catalog

            catalog = load_catalog(list(schemas), dsn=None if schemas else dsn,
                                   database=database, defaults_file=defaults_file)
            end = datetime.combine(day, datetime.max.time())
            objects = advise(classes, catalog, now=end)
            advice = [a.to_dict() for a in objects]
            advice_note = "no advice: the indexes and partitioning serve this workload"
            if propose is not None:
                notes.append(write_proposal(objects, propose, classes, catalog, schemas))
        today = [ClassStats.of(c, day) for c in classes.classes]
        earlier = [d for d in store.days() if d.day < day]
        previous = earlier[-1].day if earlier else None
        base, base_notes = baselines(store, day, thresholds)
        ctx = Context(
            day=day, today={s.class_id: s for s in today},
            yesterday={s.class_id: s for s in store.class_days(previous, previous)}
            if previous else {},
            baseline=base, thresholds=thresholds, advice=advice,
            previous_advice=store.advice(previous) if previous else None,
            history_days=len([d for d in earlier
                              if d.day >= day - timedelta(days=thresholds.lookback_days)]))
        if previous is not None and previous != day - timedelta(days=1):
            notes.append(f"'yesterday' is {previous}, the last day in the history before {day}")
        if not earlier:
            notes.append("first night in this history: nothing to compare with yet")
        findings = find(ctx)
        gone = {f.class_id: ctx.yesterday[f.class_id] for f in findings
                if f.class_id and f.class_id not in ctx.today}
        store.write_day(day, classes, advice=advice,
                        source="performance_schema" if perfschema else "slowlog")
        if keep_days is not None:
            dropped = store.prune(keep_days, day)
            if dropped:
                notes.append(f"retention: dropped {len(dropped)} day(s) older than "
                             f"{keep_days} days ({dropped[0]} .. {dropped[-1]})")
        days = [(d.day, d.total_query_time, d.events) for d in store.days()]
        trend_ids = [s.class_id for s in today[:TREND_CLASSES]]
        trends: dict[str, list[ClassStats]] = {i: [] for i in trend_ids}
        for r in store.class_days(class_ids=trend_ids):
            trends[r.class_id].append(r)
    return NightlyReport(
        day=day, summary=summary, classes=today,
        shares={c.id: c.share for c in classes.classes}, findings=findings,
        advice=advice, baseline=base, thresholds=thresholds, days=days, trends=trends,
        notes=notes + base_notes, history_path=str(history), top=top,
        advice_note="" if advice else advice_note, gone=gone)
