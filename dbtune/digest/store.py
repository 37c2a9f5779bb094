"""Saved digests: the mergeable state of a Digest in one Parquet file (format version 1).

One row per query class; the file's key-value metadata ``dbtune.digest`` holds a JSON
object with ``format`` ("dbtune-digest"), ``version`` (1), the scan statistics, the
inputs read and failed, and the filter flag. Columns:

- ``fingerprint`` (string), ``count`` (int64 events), ``first`` / ``last`` (int64
  microseconds since 1970-01-01 in the log's clock; int64 max / min when unknown)
- ``sample_query_time`` (int64 microseconds, -1 for none), ``sample``, ``sample_db``,
  ``sample_source`` (strings), ``sample_line`` (int64): the slowest event
- ``metrics``: list of structs (``name``, ``count``, ``sum``, ``min``, ``max`` as int64 in
  integer units: microseconds for ``*_time``/``*_wait``, else the value; ``keys`` and
  ``counts``: the DDSketch buckets, LogarithmicMapping with 1% relative accuracy, key
  offset by 2**23, key 0 for values <= 0)
- ``dims``: list of structs (``db``, ``user``, ``host``, ``events``)
- ``errors``: list of structs (``code``, ``events``); ``labels``: list of structs
  (``label``, ``events``): the host labels of the digests merged into this one

Loading and merging is exact: a merge of saved digests equals the digest of all inputs.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from dbtune.digest.aggregate import KEY_BITS, KEY_MASK, Aggregate
from dbtune.digest.result import Digest
from dbtune.ingest.slowlog import ScanStats
from dbtune.model import InputError

FORMAT = "dbtune-digest"
VERSION = 1
_META = b"dbtune.digest"


def save_digest(digest: Digest, path: str | os.PathLike) -> None:
    """Write the mergeable state of ``digest`` to a Parquet file at ``path``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    state = digest.aggregate
    n = len(state.fingerprints)
    metrics: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for name, metric in sorted(state.metrics.items()):
        keys, weights = metric.compact()
        bounds = np.searchsorted(keys >> KEY_BITS, np.arange(n + 1))
        for c in np.flatnonzero(metric.count).tolist():
            a, b = bounds[c], bounds[c + 1]
            metrics[c].append({
                "name": name, "count": int(metric.count[c]), "sum": int(metric.total[c]),
                "min": int(metric.low[c]), "max": int(metric.high[c]),
                "keys": (keys[a:b] & KEY_MASK).tolist(), "counts": weights[a:b].tolist()})
    dims: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for (c, db, user, host), k in state.dims.items():
        dims[c].append({"db": db, "user": user, "host": host, "events": k})
    errors: list[list[dict[str, int]]] = [[] for _ in range(n)]
    for (c, code), k in state.errors.items():
        errors[c].append({"code": code, "events": k})
    labels: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for (c, label), k in state.labels.items():
        labels[c].append({"label": label, "events": k})
    samples = state.samples
    table = pa.table({
        "fingerprint": pa.array(state.fingerprints, pa.string()),
        "count": pa.array(state.count, pa.int64()),
        "first": pa.array(state.first, pa.int64()),
        "last": pa.array(state.last, pa.int64()),
        "sample_query_time": pa.array([s[0] for s in samples], pa.int64()),
        "sample": pa.array([s[1] for s in samples], pa.string()),
        "sample_db": pa.array([s[2] for s in samples], pa.string()),
        "sample_source": pa.array([s[3] for s in samples], pa.string()),
        "sample_line": pa.array([s[4] for s in samples], pa.int64()),
        "metrics": pa.array(metrics, _metrics_type(pa)),
        "dims": pa.array(dims, pa.list_(pa.struct([("db", pa.string()), ("user", pa.string()),
                                                   ("host", pa.string()),
                                                   ("events", pa.int64())]))),
        "errors": pa.array(errors, pa.list_(pa.struct([("code", pa.int64()),
                                                       ("events", pa.int64())]))),
        "labels": pa.array(labels, pa.list_(pa.struct([("label", pa.string()),
                                                       ("events", pa.int64())]))),
    })
    meta = {"format": FORMAT, "version": VERSION, "stats": dataclasses.asdict(state.stats),
            "files": state.files, "failed": state.failed, "filtered": state.filtered,
            "read": state.read}
    table = table.replace_schema_metadata({_META: json.dumps(meta).encode()})
    pq.write_table(table, os.fspath(path))


def _metrics_type(pa: Any) -> Any:
    """The Arrow type of the ``metrics`` column (pyarrow is imported where it is used)."""
    return pa.list_(pa.struct([
        ("name", pa.string()), ("count", pa.int64()), ("sum", pa.int64()),
        ("min", pa.int64()), ("max", pa.int64()), ("keys", pa.list_(pa.int64())),
        ("counts", pa.list_(pa.int64()))]))


def load_digest(path: str | os.PathLike) -> Digest:
    """The Digest saved at ``path`` by :func:`save_digest` (InputError if it is not one)."""
    import pyarrow.parquet as pq

    name = os.fspath(path)
    try:
        table = pq.read_table(name)
    except (OSError, ValueError) as exc:
        raise InputError(f"{name}: not a saved digest ({exc})") from None
    meta = json.loads((table.schema.metadata or {}).get(_META, b"{}"))
    if meta.get("format") != FORMAT:
        raise InputError(f"{name}: not a saved digest (no {FORMAT} metadata)")
    if meta.get("version") != VERSION:
        raise InputError(f"{name}: saved digest version {meta.get('version')}, this dbtune "
                         f"reads version {VERSION}")
    columns = table.to_pydict()
    n = table.num_rows
    state = Aggregate(files=list(meta["files"]), failed=list(meta["failed"]),
                      filtered=bool(meta["filtered"]), read=int(meta["read"]))
    stats = dict(meta["stats"])
    stats["warnings"] = [tuple(w) for w in stats["warnings"]]
    state.stats = ScanStats(**stats)
    state.class_ids(columns["fingerprint"])
    state.count = np.array(columns["count"], np.int64)
    state.first = np.array(columns["first"], np.int64)
    state.last = np.array(columns["last"], np.int64)
    state.samples = [list(s) for s in zip(
        columns["sample_query_time"], columns["sample"], columns["sample_db"],
        columns["sample_source"], columns["sample_line"], strict=True)]
    parts: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for c, entries in enumerate(columns["metrics"]):
        for m in entries:
            metric = state.metric(m["name"])
            metric.count[c], metric.total[c] = m["count"], m["sum"]
            metric.low[c], metric.high[c] = m["min"], m["max"]
            keys, weights = parts.setdefault(m["name"], ([], []))
            keys.append((np.int64(c) << KEY_BITS) | np.array(m["keys"], np.int64))
            weights.append(np.array(m["counts"], np.int64))
    for name, (keys, weights) in parts.items():
        metric = state.metrics[name]
        metric.keys, metric.weights = [np.concatenate(keys)], [np.concatenate(weights)]
        metric.pending = 0
    state.dims = Counter({(c, d["db"], d["user"], d["host"]): d["events"]
                          for c in range(n) for d in columns["dims"][c]})
    state.errors = Counter({(c, e["code"]): e["events"]
                            for c in range(n) for e in columns["errors"][c]})
    state.labels = Counter({(c, e["label"]): e["events"]
                            for c in range(n) for e in columns["labels"][c]})
    return Digest(state)


def merge_digests(digests: list[Digest | str | Path]) -> Digest:
    """One digest of several, in order: Digest objects or paths of saved digests (exact)."""
    if not digests:
        raise InputError("no digest given")
    loaded = [d if isinstance(d, Digest) else load_digest(d) for d in digests]
    merged = copy.deepcopy(loaded[0].aggregate)
    for other in loaded[1:]:
        merged.merge(copy.deepcopy(other.aggregate))
    return Digest(merged)
