"""How well the offline estimates rank index candidates against the measured what-if.

    python benchmarks/estimate_rank.py [--workload marketplace|sysbench|all] [--runs 3]
                                       [--scale 0.1] [--statements 1500]

Per workload, on one disposable local sandbox (never the server on port 3306): the workload
is loaded and replayed into the slow log, digested, and the advisor's stages run up to and
including the measured what-if (:func:`~dbtune.advise.measure.measure_whatif`, as
``advise_indexes(..., verify_on=server)`` runs them). For every (class, candidate) the
stage measured, the estimator's time ratio (the model's cost with the candidate / the cost
of how the class is served today, capped at 1, what the offline ``--schema`` path chooses
on) is set against the measured one (:attr:`~dbtune.advise.whatif.ReadMeasure.ratio`).

Reported, per workload and run:

- per class: Spearman's rho between the two rankings of its candidates (ties share their
  average rank; undefined - nan - with fewer than two candidates or a constant side); the
  same over only the candidates either side says help (``rho_helping``: a candidate on
  columns the class does not read is 1.0 on both sides, a tie that flatters ``rho``); the
  pairs whose two ratios differ by more than
  :data:`~dbtune.advise.whatif.AGREEMENT` (where the search swaps in the measured ratios);
  and whether the best candidate by estimate is also the best by measurement (within
  :data:`TIED`; a class no candidate measurably helps has no best and is left out);
- per table: the same over its candidates ranked by their gain on the whole table (the
  sum over classes of the class's share x (1 - ratio)), as the search ranks them;
- a summary: the median rho over classes and over tables, the share of classes (and
  tables) whose estimated best is the measured best.

The what-if is measured again in each of ``--runs`` runs on the same data (a busy
machine's noise moves the measured side); the summary gives each run and the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dbtune.advise.estimate import estimate  # noqa: E402
from dbtune.advise.indexes import STAGES  # noqa: E402
from dbtune.advise.measure import measure_whatif  # noqa: E402
from dbtune.advise.needs import class_shares  # noqa: E402
from dbtune.advise.run import Advising  # noqa: E402
from dbtune.advise.whatif import AGREEMENT  # noqa: E402
from dbtune.catalog import Catalog, quote  # noqa: E402
from dbtune.report.formats import render_rows  # noqa: E402
from dbtune.sandbox import Server, start_server  # noqa: E402

#: a candidate within this share of the best measured gain counts as a best
TIED = 0.05
COLUMNS = ["table", "class", "candidate", "weight", "estimated", "measured", "ms_before",
           "ms_after", "used"]


def measured_run(classes: Sequence[Any], catalog: Catalog, server: Server) -> Advising:
    """The advisor's stages up to and including the measured what-if, on ``server`` (a
    disposable server holding the schema and data), as ``advise_indexes`` runs them."""
    run = Advising(classes=list(classes), shares=class_shares(classes), catalog=catalog,
                   server=server)
    for stage in STAGES[: STAGES.index(measure_whatif) + 1]:
        stage(run)
    return run


def pairs(run: Advising) -> pd.DataFrame:
    """One row per measured (class, candidate): its table, the class's share of the time on
    that table (``weight``), the estimated time ratio (the model's alone, capped at 1, never
    the measured figure the search may have swapped in) and the measured one, the measured
    times and whether the optimizer used the candidate."""
    rows = []
    for key, state in run.tables.items():
        needs = {}
        for need in state.needs:
            needs.setdefault(need.class_id, need)  # a class reading the table twice: its first
        for (class_id, columns), measure in state.measured.items():
            need = needs.get(class_id)
            if need is None:
                continue
            today = state.baseline(need)[0].cost
            modelled = estimate(need, columns, state.info).cost
            rows.append({"table": key, "class": class_id, "candidate": ",".join(columns),
                         "weight": need.weight,
                         "estimated": min(1.0, modelled / today) if today > 0 else 1.0,
                         "measured": measure.ratio, "ms_before": measure.ms_before,
                         "ms_after": measure.ms_after, "used": measure.used})
    return pd.DataFrame(rows, columns=COLUMNS)


def spearman(x: pd.Series, y: pd.Series) -> float:
    """Spearman's rho (Pearson's r of the average ranks); NaN with fewer than two values or
    a constant side.

    >>> spearman(pd.Series([0.1, 0.5, 0.9]), pd.Series([0.2, 0.3, 1.0]))
    1.0
    >>> spearman(pd.Series([0.1, 0.5]), pd.Series([1.0, 1.0]))
    nan
    """
    if len(x) < 2 or x.nunique() < 2 or y.nunique() < 2:
        return float("nan")
    return round(float(x.rank().corr(y.rank())), 6)


def agrees(estimated: pd.Series, measured: pd.Series) -> bool | None:
    """Is the best candidate by estimated gain among the best by measured gain (within
    :data:`TIED` of it)? Estimated ties count against (the measured worst of them is
    taken), and so does an estimate that sees no gain where one was measured. None when
    nothing measurably helps (no measured gain) or there is only one candidate.

    >>> agrees(pd.Series([0.9, 0.5]), pd.Series([0.98, 0.7])), agrees(pd.Series([0.9, 0.5]),
    ...                                                               pd.Series([0.0, 0.0]))
    (True, None)
    >>> agrees(pd.Series([0.9, 0.9]), pd.Series([0.98, 0.7])), agrees(pd.Series([0.0, 0.0]),
    ...                                                               pd.Series([0.5, 0.7]))
    (False, False)
    """
    if len(measured) < 2 or measured.max() <= 0:
        return None
    if estimated.max() <= 0:
        return False
    picked = measured[estimated == estimated.max()].min()
    return bool(picked >= measured.max() * (1 - TIED))


def best(gains: pd.Series, candidates: pd.Series) -> str:
    """The candidate of the largest gain ("-" when none gains; ties joined by " | ")."""
    if gains.max() <= 0:
        return "-"
    return " | ".join(candidates[gains == gains.max()])


def compare(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """(per class, per table, summary) of one run's :func:`pairs`."""
    classes = []
    for (table, class_id), group in frame.groupby(["table", "class"], sort=True):
        group = group.reset_index(drop=True)
        helping = group[(group["estimated"] < 1.0) | (group["measured"] < 1.0)]
        classes.append({"table": table, "class": class_id, "candidates": len(group),
                        "rho": spearman(group["estimated"], group["measured"]),
                        "rho_helping": spearman(helping["estimated"], helping["measured"]),
                        "disagree": int(((group["estimated"] - group["measured"]).abs()
                                         > AGREEMENT).sum()),
                        "best_estimated": best(1 - group["estimated"], group["candidate"]),
                        "best_measured": best(1 - group["measured"], group["candidate"]),
                        "agrees": agrees(1 - group["estimated"], 1 - group["measured"])})
    tables = []
    for table, group in frame.groupby("table", sort=True):
        gains = group.assign(est=group["weight"] * (1 - group["estimated"]),
                             meas=group["weight"] * (1 - group["measured"]))
        total = gains.groupby("candidate")[["est", "meas"]].sum().reset_index()
        tables.append({"table": table, "candidates": len(total),
                       "classes": group["class"].nunique(),
                       "rho": spearman(total["est"], total["meas"]),
                       "agrees": agrees(total["est"], total["meas"])})
    per_class = pd.DataFrame(classes, columns=["table", "class", "candidates", "rho",
                                               "rho_helping", "disagree", "best_estimated",
                                               "best_measured", "agrees"])
    per_table = pd.DataFrame(tables, columns=["table", "candidates", "classes", "rho",
                                              "agrees"])
    return per_class, per_table, summary(frame, per_class, per_table)


def summary(frame: pd.DataFrame, per_class: pd.DataFrame, per_table: pd.DataFrame
            ) -> dict[str, Any]:
    """Counts, median rho and top-1 agreement of one run."""
    def share(column: pd.Series) -> float:
        judged = column.dropna()
        return float(judged.astype(bool).mean()) if len(judged) else float("nan")

    def median(column: pd.Series) -> float:
        values = column.dropna()
        return float(values.median()) if len(values) else float("nan")

    return {"pairs": len(frame), "classes": len(per_class),
            "classes_ranked": int(per_class["rho"].notna().sum()),
            "class_rho_median": median(per_class["rho"]),
            "helping_ranked": int(per_class["rho_helping"].notna().sum()),
            "helping_rho_median": median(per_class["rho_helping"]),
            "pairs_disagree": int(per_class["disagree"].sum()),
            "class_best_agrees": share(per_class["agrees"]),
            "classes_judged": int(per_class["agrees"].notna().sum()),
            "tables": len(per_table), "table_rho_median": median(per_table["rho"]),
            "table_best_agrees": share(per_table["agrees"])}


# ----------------------------------------------------------------------------- workloads


def marketplace(server: Server, scale: float, statements: int) -> tuple[list[Any], Catalog]:
    """The marketplace fixture at ``scale``, replayed (as test_marketplace_proof does) and
    digested from the sandbox's slow log: (classes, live catalog)."""
    from dbtune.digest import digest_slowlog
    from dbtune.workload.marketplace import load_marketplace
    from dbtune.workload.runner import run_workload
    from dbtune.workload.spec import marketplace_spec

    database = "shop"
    load_marketplace(server, database, scale=scale)
    catalog = live_catalog(server, database)
    run_workload(server, marketplace_spec(scale), count=statements, concurrency=2, seed=5,
                 database=database)
    digest = digest_slowlog(server.slow_log_path, database=database)
    return list(digest.ranked()), catalog


def sysbench(server: Server, scale: float, work: Path) -> tuple[list[Any], Catalog]:
    """sysbench's oltp scripts with primary keys only (benchmarks/advice_quality.py's
    harness), captured into a slow log of their own: (classes, live catalog)."""
    import advice_quality_workloads
    from advice_quality import capture

    from dbtune.advise.workload import workload_from

    workload = advice_quality_workloads.sysbench_workload()
    workload.load(server, workload.database, scale)
    log = work / "capture-sysbench.log"
    capture(server, workload, log)
    classes = workload_from(slowlogs=[str(log)], database=workload.database)
    return list(classes), live_catalog(server, workload.database)


def live_catalog(server: Server, database: str) -> Catalog:
    """``database``'s catalog read from ``server`` after ``ANALYZE TABLE ... PERSISTENT FOR
    ALL`` on each of its tables (column statistics, as the marketplace proof test has)."""
    with server.connect(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE "
                       "table_schema = %s AND table_type = 'BASE TABLE'", (database,))
        for table in [row[0] for row in cursor.fetchall()]:
            cursor.execute(f"ANALYZE TABLE {quote(table)} PERSISTENT FOR ALL")
            cursor.fetchall()
        return Catalog.from_server(connection, database)


def machine() -> str:
    """The date, the load average and the core count, for the record."""
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load {load} on "
            f"{os.cpu_count()} cores")


def report(name: str, runs: list[tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]],
           labels: dict[str, str]) -> None:
    """Print the last run's per-class and per-table tables and every run's summary."""
    per_class, per_table, _ = runs[-1]
    print(f"\n== {name}: per class (last run)")
    shown = per_class.assign(**{"class": per_class["class"].map(lambda c: labels.get(c, c))})
    print(render_rows(shown.to_dict("records"), "table", floatfmt=".2f"))
    print(f"\n== {name}: per table (last run)")
    print(render_rows(per_table.to_dict("records"), "table", floatfmt=".2f"))
    rows = [{"run": i + 1, **s} for i, (_, _, s) in enumerate(runs)]
    keys = [k for k in rows[0] if k != "run"]
    rows.append({"run": "median", **{k: statistics.median(r[k] for r in rows) for k in keys}})
    print(f"\n== {name}: summary")
    print(render_rows(rows, "table", floatfmt=".2f"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("marketplace", "sysbench", "all"),
                        default="marketplace")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=0.1, help="marketplace scale")
    parser.add_argument("--sysbench-scale", type=float, default=0.1)
    parser.add_argument("--statements", type=int, default=1500)
    args = parser.parse_args(argv)
    names = ("marketplace", "sysbench") if args.workload == "all" else (args.workload,)
    print(f"estimate_rank: {machine()}")
    for name in names:
        with start_server("local", disposable=True) as server, \
                tempfile.TemporaryDirectory() as work:
            started = time.perf_counter()
            if name == "marketplace":
                classes, catalog = marketplace(server, args.scale, args.statements)
            else:
                classes, catalog = sysbench(server, args.sysbench_scale, Path(work))
            print(f"[{name}] loaded and replayed in {time.perf_counter() - started:.0f} s: "
                  f"{len(classes)} classes")
            labels = {c.id: (getattr(c, "fingerprint", None) or c.sample or c.id)[:48]
                      for c in classes}
            runs = []
            for number in range(args.runs):
                started = time.perf_counter()
                run = measured_run(classes, catalog, server)
                runs.append(compare(pairs(run)))
                print(f"[{name}] run {number + 1}/{args.runs}: measured in "
                      f"{time.perf_counter() - started:.0f} s; {machine()}")
            report(name, runs, labels)


if __name__ == "__main__":
    main()
