"""Saved digests: Parquet round trip, merges of parts equal the whole, host labels, Dask."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dbtune.digest import Digest, digest_slowlog, load_digest, merge_digests
from dbtune.fingerprint import fingerprint
from dbtune.ingest import slowlog_source
from dbtune.ingest.slowlog import read_events
from dbtune.model import InputError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "slowlogs"
EXAMPLE = FIXTURES / "example-marketplace.log"
FLAVOURS = ["percona-8.0-full.log", "mysql-8.0-log-slow-extra.log",
            "mariadb-10.11-captured.log", "mysql-ubuntu-5.5.53.log", "garbled.log"]


def _everything(d: Digest) -> tuple:
    return d.summary, [c.to_dict() for c in d.classes]


@pytest.mark.parametrize("name", ["example-marketplace.log", *FLAVOURS])
def test_a_saved_digest_loads_as_it_was(tmp_path: Path, name: str) -> None:
    digest = digest_slowlog(FIXTURES / name, label="db-1")
    digest.save(tmp_path / "d.parquet")
    assert _everything(load_digest(tmp_path / "d.parquet")) == _everything(digest)


def test_merged_saved_parts_equal_the_whole(tmp_path: Path) -> None:
    data = EXAMPLE.read_bytes()
    cuts = [0, data.index(b";\n# Time:", len(data) // 3) + 2,
            data.index(b";\n# Time:", 2 * len(data) // 3) + 2, len(data)]
    saved = []
    for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
        part = tmp_path / f"part{i}.log"
        part.write_bytes(data[a:b])
        saved.append(tmp_path / f"part{i}.parquet")
        digest_slowlog(part).save(saved[-1])
    merged = merge_digests(saved)
    whole = digest_slowlog(EXAMPLE)
    by_fp = {c.fingerprint: c for c in whole.classes}
    assert [c.fingerprint for c in merged.classes] == list(by_fp)
    for c in merged.classes:  # counts and sums exactly
        w = by_fp[c.fingerprint]
        assert c.count == w.count and c.first_seen == w.first_seen
        for name, stats in c.metrics.items():
            assert {k: stats[k] for k in ("sum", "min", "max")} == {
                k: w.metrics[name][k] for k in ("sum", "min", "max")}
    # quantiles within the sketch's 1% relative error of the exact nearest rank
    values: dict[str, list[float]] = defaultdict(list)
    for e in read_events(EXAMPLE):
        values[fingerprint(e.sql)].append(e.query_time)
    for c in merged.classes:
        ordered = sorted(values[c.fingerprint])
        for percent in (50, 95, 99):
            exact = ordered[math.ceil(percent * len(ordered) / 100) - 1]
            assert abs(c.metrics["query_time"][f"p{percent}"] - exact) <= 0.01 * exact + 1e-9
    assert merged.summary["events"] == whole.summary["events"] == 250
    assert merged.summary["files"] == [str(tmp_path / f"part{i}.log") for i in range(3)]


def test_host_labels_survive_saving_and_merging(tmp_path: Path) -> None:
    one = digest_slowlog(FIXTURES / FLAVOURS[0], label="db-1")
    two = digest_slowlog(FIXTURES / FLAVOURS[0], label="db-2")
    two.save(tmp_path / "two.parquet")
    merged = merge_digests([one, tmp_path / "two.parquet"])
    for c in merged.classes:
        assert c.labels == {"db-1": c.count // 2, "db-2": c.count // 2}
    assert digest_slowlog(FIXTURES / FLAVOURS[0]).classes[0].labels == {}


def test_the_file_is_versioned_parquet(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    digest_slowlog(EXAMPLE).save(path)
    table = pq.read_table(path)
    assert table.num_rows == 15 and "metrics" in table.column_names
    meta = table.schema.metadata[b"dbtune.digest"]
    assert b'"version": 1' in meta and b'"format": "dbtune-digest"' in meta
    pq.write_table(table.replace_schema_metadata(
        {b"dbtune.digest": meta.replace(b'"version": 1', b'"version": 99')}), path)
    with pytest.raises(InputError, match="version 99"):
        load_digest(path)
    with pytest.raises(InputError, match="not a saved digest"):
        load_digest(EXAMPLE)
    with pytest.raises(InputError, match="no digest given"):
        merge_digests([])


@pytest.mark.slow
def test_dask_byte_ranges_give_the_single_process_result(tmp_path: Path,
                                                          monkeypatch) -> None:
    """A LocalCluster of 2 thread workers (process workers start too slowly for CI here)."""
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setattr(slowlog_source, "MIN_PARALLEL_BYTES", 0)
    big = tmp_path / "many.log"
    big.write_bytes(b"".join((FIXTURES / n).read_bytes() for n in FLAVOURS[:3]) * 30)
    inputs = [big, EXAMPLE, FIXTURES / "mysql-ubuntu-5.5.53.log", tmp_path / "missing.log"]
    alone = digest_slowlog(inputs, jobs=1)
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        spread = digest_slowlog(inputs, scheduler=client)
        assert len(client.scheduler_info()["workers"]) == 2
    assert _everything(spread) == _everything(alone)
    assert spread.summary["inputs_failed"][0]["path"] == str(tmp_path / "missing.log")


@pytest.mark.slow
def test_a_local_process_cluster_gives_the_same_result() -> None:
    pytest.importorskip("dask.distributed")
    inputs = [EXAMPLE, FIXTURES / FLAVOURS[1]]
    assert _everything(digest_slowlog(inputs, scheduler="local")) == _everything(
        digest_slowlog(inputs))
