"""Issue 13: a polars prototype of the slow-log hot path against the current engine.

    POLARS_MAX_THREADS=1 python benchmarks/slowlog_engines.py /tmp/gen100.log --runs 3
    python benchmarks/slowlog_engines.py /tmp/gen100.log --runs 3 --threads default
    python benchmarks/slowlog_engines.py fixtures/slowlogs/*.log --runs 1 --check

Needs ``pip install polars google-re2`` (not dependencies of dbtune: measured and not
kept, see docs/slowlog.md, "Issue 13: polars and google-re2").

Each run is a fresh process (so imports count), alternating the engines, on the same
files in the same minute; the figure is the CPU seconds of that process (user + system,
all threads: polars' worker threads included) and its wall time, with the load average.

- ``current``: ``dbtune.digest.digest_slowlog(path, jobs=1)`` and its ``classes`` (the
  whole digest: times, users, hosts, samples, DDSketch quantiles).
- ``polars``: the same 1 MB blocks (``iter_blocks``), each one a LazyFrame of lines;
  entry starts marked (a ``#`` line after a line ending in ``;``), each distinct
  attribute line parsed once by ``str.extract_all`` (Rust regex) and joined back into
  (entry, name, value) rows, the
  statement of each entry joined from its lines by ``group_by``, the prekey (digit runs
  -> ``0``, quoted strings -> ``''``) by ``str.replace_all``, one Python fingerprint per
  new prekey, and count/sum/min/max per (class, metric) and the DDSketch bucket counts by
  ``group_by``. It does LESS than the current engine (no times, users, hosts, dbs,
  samples, line numbers, fallbacks for banners or garbled entries): its time is a lower
  bound for a polars engine. ``--check`` compares its count/sum/min/max per class and
  metric with the current engine's.
- ``--re2``: the grammar's regexes timed alone, Python ``re`` against ``google-re2`` (its
  ``findall``) on the same blocks, where re2 can compile them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

STAGES = ("parse", "classes", "aggregate")
# attributes that are identifiers or stamps, not metrics (as the current engine)
IGNORED = ("Thread_id", "Id", "timestamp", "insert_id", "last_insert_id", "Schema",
           "Start", "End", "InnoDB_trx_id")
GAMMA = (1 + 0.01) / (1 - 0.01)  # DDSketch relative accuracy 0.01


def _blocks(path: str):
    from dbtune.ingest.slowlog_input import iter_blocks

    with open(path, "rb") as fh:
        for text, _ in iter_blocks(fh):
            yield text


def run_current(path: str) -> dict:
    """The whole current digest: {fingerprint: {"_count": n, metric: [sum, min, max]}}."""
    from dbtune.digest import digest_slowlog

    digest = digest_slowlog(path, jobs=1)
    out: dict = {}
    for c in digest.classes:
        out[c.fingerprint] = {"_count": c.count,
                              **{m: [s["sum"], s["min"], s["max"]] for m, s in c.metrics.items()}}
    return out


class PolarsProto:
    """The prototype: state across blocks is a list of small per-block aggregates."""

    def __init__(self) -> None:
        import polars as pl

        self.pl = pl
        self.fingerprints: dict[str, int] = {}  # prekey -> class number
        self.classes: list[str] = []
        self.parts: list = []
        self.buckets: list = []
        self.stage = dict.fromkeys(STAGES, 0.0)

    def _tick(self, name: str, t: float) -> float:
        now = time.process_time()
        self.stage[name] += now - t
        return now

    def block(self, text: str) -> None:
        from dbtune.fingerprint import fingerprint

        pl = self.pl
        col, line = pl.col, pl.col("line")
        t = time.process_time()
        lf = pl.LazyFrame({"line": text.split("\n")[:-1] if text.endswith("\n")
                           else text.split("\n")})
        # an entry starts at a '#' line after a line ending in ';' (pt-query-digest)
        admin = line.str.starts_with("# administrator command:")
        hashed = line.str.starts_with("#") & ~admin
        lf = lf.with_columns(
            entry=(hashed & line.str.ends_with(";").shift(1, fill_value=True)).cum_sum(),
            meta=hashed | line.str.starts_with("use ") | line.str.starts_with("SET timestamp="),
            attr=line.str.contains(r"^# +[A-Z][A-Za-z_]*: [^ ]")
            & ~line.str.starts_with("# Time:") & ~line.str.starts_with("# User@Host:"),
        )
        # attribute lines repeat (`# Full_scan: No ...`): each distinct one is parsed once
        heads = lf.filter(col("attr")).select("entry", "line")
        parsed = (heads.select("line").unique()
                  .with_columns(pair=line.str.extract_all(r"[A-Za-z_]+: \S+"))
                  .explode("pair")
                  .with_columns(split=col("pair").str.split_exact(": ", 1)).unnest("split")
                  .rename({"field_0": "name", "field_1": "raw"})
                  .filter(~col("name").is_in(IGNORED)))
        raw = col("raw")
        value = (pl.when(raw == "Yes").then(1.0).when(raw == "No").then(0.0)
                 .otherwise(raw.cast(pl.Float64, strict=False)))
        timed = col("name").str.ends_with("_time") | col("name").str.ends_with("_wait")
        parsed = parsed.select(
            "line", col("name").cast(pl.Categorical),
            value=pl.when(timed).then((value * 1e6).round(0)).otherwise(value).cast(pl.Int64),
        ).drop_nulls("value")
        pairs = heads.join(parsed, on="line").select("entry", "name", "value")
        # the statement: the entry's lines after its headers, prekey in Rust
        sqls = (lf.filter(~col("meta")).group_by("entry", maintain_order=True)
                .agg(sql=line.str.join("\n"))
                .with_columns(sql=col("sql").str.strip_suffix(";").str.strip_prefix("# "))
                .with_columns(prekey=col("sql").str.replace_all(r"[0-9]+", "0")
                              .str.replace_all(r"'[^'\n]*'", "''")))
        pairs, sqls = pl.collect_all([pairs, sqls])
        t = self._tick("parse", t)
        distinct = sqls.group_by("prekey").agg(col("sql").first())
        known = self.fingerprints
        new = distinct.filter(~col("prekey").is_in(list(known)))
        if new.height:
            seen = {fp: i for i, fp in enumerate(self.classes)}
            for key, sql in new.iter_rows():
                fp = fingerprint(sql)
                if fp not in seen:
                    seen[fp] = len(self.classes)
                    self.classes.append(fp)
                known[key] = seen[fp]
        sqls = sqls.select("entry", klass=col("prekey").replace_strict(known,
                                                                         return_dtype=pl.Int32))
        t = self._tick("classes", t)
        rows = pairs.join(sqls, on="entry")
        self.parts.append(rows.group_by("klass", "name").agg(
            n=pl.len(), sum=col("value").sum(), min=col("value").min(), max=col("value").max()))
        self.parts.append(sqls.group_by("klass").agg(n=pl.len()).with_columns(
            name=pl.lit("_count").cast(pl.Categorical), sum=pl.lit(0, pl.Int64),
            min=pl.lit(0, pl.Int64), max=pl.lit(0, pl.Int64),
        ).select("klass", "name", "n", "sum", "min", "max"))
        key = (pl.when(col("value") > 0)
               .then((col("value").cast(pl.Float64).log() / math.log(GAMMA)).ceil())
               .otherwise(0).cast(pl.Int32))
        self.buckets.append(rows.group_by("klass", "name", key.alias("key")).agg(n=pl.len()))
        if len(self.parts) > 64:  # bounded: fold the per-block parts
            self._fold()
        self._tick("aggregate", t)

    def _fold(self) -> None:
        pl, col = self.pl, self.pl.col
        self.parts = [pl.concat(self.parts).group_by("klass", "name").agg(
            n=col("n").sum(), sum=col("sum").sum(), min=col("min").min(), max=col("max").max())]
        self.buckets = [pl.concat(self.buckets).group_by("klass", "name", "key")
                        .agg(n=col("n").sum())]

    def result(self) -> dict:
        self._fold()
        out: dict = {}
        for klass, name, n, total, low, high in self.parts[0].iter_rows():
            fp = self.classes[klass]
            entry = out.setdefault(fp, {})
            if name == "_count":
                entry["_count"] = n
                continue
            metric = name.lower()
            scale = 1e6 if name.endswith(("_time", "_wait")) else 1
            entry[metric] = [total / scale, low / scale, high / scale]
        return out


def run_polars(path: str) -> tuple[dict, dict]:
    proto = PolarsProto()
    for text in _blocks(path):
        proto.block(text)
    return proto.result(), proto.stage


def run_re2(path: str) -> dict:
    """CPU seconds of Python ``re`` and ``google-re2`` ``findall`` on every block, for the
    grammar's entry/header regexes (those re2 can compile) and the Query_time line."""
    import re

    import re2

    from dbtune.ingest.slowlog_grammar import ATTRS, ENTRY, NUMBER, PAIRS

    texts = list(_blocks(path))
    query_time = re.compile(r"^# Query_time: (\S+) +Lock_time: (\S+) +Rows_sent: (\S+)"
                            r" +Rows_examined: (\S+)", re.M)
    out: dict = {}
    for name, pattern in (("ENTRY", ENTRY), ("ATTRS", ATTRS),
                          ("PAIRS", PAIRS), ("NUMBER", NUMBER), ("query_time line", query_time)):
        t = time.process_time()
        found = sum(len(pattern.findall(x)) for x in texts)
        row = {"re_s": round(time.process_time() - t, 3), "matches": found}
        try:
            other = re2.compile(("(?m)" if pattern.flags & re.M else "") + pattern.pattern)
        except Exception as exc:  # noqa: BLE001 -- re2 refuses lookarounds: say why
            row["re2"] = str(exc)[:60]
        else:
            t = time.process_time()
            same = sum(len(other.findall(x)) for x in texts)
            row.update(re2_s=round(time.process_time() - t, 3), re2_matches=same)
        out[name] = row
    return out


def _child(engine: str, path: str) -> None:
    t0, w0 = time.process_time(), time.perf_counter()
    extra: dict = {}
    if engine == "current":
        result = run_current(path)
    elif engine == "polars":
        result, extra = run_polars(path)
    else:
        result, extra = {}, run_re2(path)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    json.dump({"cpu": cpu.ru_utime + cpu.ru_stime, "in_main": time.process_time() - t0,
               "wall": time.perf_counter() - w0, "rss_mb": cpu.ru_maxrss / 1024,
               "extra": extra, "result": result}, sys.stdout)


def _spawn(engine: str, path: str, threads: str) -> dict:
    env = dict(os.environ)
    if threads != "default":
        env["POLARS_MAX_THREADS"] = threads
    t = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", engine, path],
                          capture_output=True, text=True, env=env, check=True)
    found = json.loads(done.stdout)
    found["proc_wall"] = time.perf_counter() - t
    return found


def _same(a: dict, b: dict) -> list[str]:
    """Differences between two {fingerprint: {metric: [sum, min, max]}} results."""
    diffs = []
    for fp in sorted(set(a) | set(b)):
        x, y = a.get(fp), b.get(fp)
        if x is None or y is None:
            diffs.append(f"class only in one: {fp[:60]}")
            continue
        for metric in sorted(set(x) | set(y)):
            u, v = x.get(metric), y.get(metric)
            if metric == "_count":
                if u != v:
                    diffs.append(f"{fp[:40]} count {u} != {v}")
            elif u is None or v is None or any(not math.isclose(p, q, rel_tol=1e-9, abs_tol=1e-9)
                                               for p, q in zip(u, v, strict=True)):
                diffs.append(f"{fp[:40]} {metric} {u} != {v}")
    return diffs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", default="1", help="POLARS_MAX_THREADS, or 'default'")
    parser.add_argument("--check", action="store_true", help="compare the results")
    parser.add_argument("--re2", action="store_true", help="time the entry regex in re2 too")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.paths[0])
        return
    for path in args.paths:
        size = os.path.getsize(path) / 1e6
        found: dict[str, list[dict]] = {"current": [], "polars": []}
        loads = [os.getloadavg()[0]]
        for _ in range(args.runs):
            for engine in found:
                found[engine].append(_spawn(engine, path, args.threads))
            loads.append(os.getloadavg()[0])
        print(f"\n{path}: {size:.1f} MB, {args.runs} runs each, POLARS_MAX_THREADS="
              f"{args.threads}, load average {' '.join(f'{x:.1f}' for x in loads)}")
        print(f"{'engine':<9}{'CPU s':>8}{'wall s':>8}{'MB/CPU s':>10}{'RSS MB':>8}"
              "  CPU s of each run")
        med = {}
        for engine, runs in found.items():
            cpu = statistics.median(r["cpu"] for r in runs)
            med[engine] = cpu
            print(f"{engine:<9}{cpu:>8.2f}{statistics.median(r['proc_wall'] for r in runs):>8.2f}"
                  f"{size / cpu:>10.1f}{max(r['rss_mb'] for r in runs):>8.0f}  "
                  + " ".join(f"{r['cpu']:.2f}" for r in runs))
        ratios = [c["cpu"] / p["cpu"]
                  for c, p in zip(found["current"], found["polars"], strict=True)]
        print(f"current / polars CPU: {med['current'] / med['polars']:.2f} (run by run "
              + " ".join(f"{r:.2f}" for r in ratios) + ")")
        stages = {s: statistics.median(r["extra"][s] for r in found["polars"]) for s in STAGES}
        print("polars stages CPU s (median): "
              + ", ".join(f"{s} {v:.2f}" for s, v in stages.items()))
        if args.check:
            diffs = _same(found["current"][0]["result"], found["polars"][0]["result"])
            print(f"results: {len(found['current'][0]['result'])} classes, "
                  f"{len(diffs)} differences" + "".join(f"\n  {d}" for d in diffs[:8]))
        if args.re2:
            print("entry regex:", _spawn("re2", path, args.threads)["extra"])


if __name__ == "__main__":
    main()
