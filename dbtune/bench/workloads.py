"""Where bench statements come from: a fixture's workload spec, a slow log or a SQL file.

Every source becomes a :class:`Workload`: a stream of (class name, SQL) pairs for
:func:`dbtune.workload.runner.run_workload`, plus the deterministic read statements the
result-equivalence check runs. Spec statements are named by template; slow-log and SQL
file statements by their pt-query-digest class id (labelled with the fingerprint).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import cycle, islice
from pathlib import Path

from dbtune.bench.equivalence import is_repeatable
from dbtune.catalog import split_statements
from dbtune.fingerprint import class_id, fingerprint_many
from dbtune.model import InputError
from dbtune.workload.runner import is_write
from dbtune.workload.spec import WorkloadSpec

#: statements replayed from logs and files: plain reads and DML (SET, USE, DDL,
#: transaction control and administrator commands are skipped)
_DML = re.compile(r"^\s*(?:/\*.*?\*/\s*)*(INSERT|UPDATE|DELETE|REPLACE)\b",
                  re.IGNORECASE | re.DOTALL)
#: statements drawn from a spec while looking for check statements of its rarer templates
MAX_SPEC_DRAWS = 50_000


@dataclass
class Workload:
    """A replayable workload: a spec, or a fixed list of (class name, SQL) statements."""

    source: str
    spec: WorkloadSpec | None = None
    items: list[tuple[str, str]] = field(default_factory=list)
    #: class name -> what a reader should see (template name or fingerprint)
    labels: dict[str, str] = field(default_factory=dict)
    #: the database the statements ran in (slow logs), or None
    database: str | None = None
    #: why statements of the source were left out, and how many
    skipped: dict[str, int] = field(default_factory=dict)

    def stream(self, round_number: int, seed: int, read_only: bool) -> Iterator[tuple[str, str]]:
        """The statements of one round: rounds with the same number replay the same stream
        (a spec with seed ``seed + round_number``; a list from a round-dependent offset)."""
        if self.spec is not None:
            return self.spec.statements(None, seed + round_number, read_only=read_only)
        if not self.items:
            return iter(())
        start = (round_number * 7919) % len(self.items)
        return islice(cycle(self.items), start, None)

    def check_statements(self, per_class: int, seed: int) -> list[tuple[str, str]]:
        """Up to ``per_class`` distinct read statements of each class, always the same ones
        for the same seed: what the result-equivalence check runs before and after
        (statements calling NOW(), RAND() and the like are left out)."""
        if per_class <= 0:
            return []
        source = (self.spec.statements(MAX_SPEC_DRAWS, seed, read_only=True)
                  if self.spec is not None else iter(self.items))
        chosen: dict[str, list[str]] = {}
        for name, sql in source:
            if is_write(sql) or not is_repeatable(sql):
                continue
            picked = chosen.setdefault(name, [])
            if len(picked) < per_class and sql not in picked:
                picked.append(sql)
        return [(name, sql) for name in sorted(chosen) for sql in chosen[name]]


def spec_workload(spec: WorkloadSpec) -> Workload:
    """A fixture's weighted template mix (see dbtune.workload.spec)."""
    labels = {t.name: t.name for t in spec.templates}
    return Workload(source=f"fixture {spec.name} (scale {spec.scale:g})", spec=spec,
                    labels=labels)


def slowlog_workload(path: str | Path, database: str | None = None) -> Workload:
    """The reads and DML of a slow log, in log order, with the log's database.

    Statements logged in another database than ``database`` (default: the log's most
    frequent one) are skipped and counted, as are SET/USE/DDL/administrator commands.
    """
    from dbtune.ingest.slowlog import read_events

    events = [(event.db, event.sql.strip().rstrip(";")) for event in read_events(path)]
    dbs = Counter(db for db, _ in events if db)
    if database is None and dbs:
        database = dbs.most_common(1)[0][0]
    skipped: Counter[str] = Counter()
    kept = []
    for db, sql in events:
        if db and database and db != database:
            skipped[f"logged in database {db}"] += 1
        elif not _replayable(sql):
            skipped["not a read or DML statement"] += 1
        else:
            kept.append(sql)
    if not kept:
        raise InputError(f"{path}: no replayable statement (SELECT or DML) in the slow log")
    return _statement_workload(f"slow log {path}", kept, database, dict(skipped))


def sql_file_workload(path: str | Path) -> Workload:
    """The statements of a SQL file (``;``-separated, comments and quotes respected)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the workload file ({exc})") from None
    statements = [sql for _, sql in split_statements(text)]
    kept = [sql.rstrip(";").strip() for sql in statements if _replayable(sql)]
    if not kept:
        raise InputError(f"{path}: no replayable statement (SELECT or DML) in the file")
    skipped = {"not a read or DML statement": len(statements) - len(kept)}
    return _statement_workload(f"SQL file {path}", kept, None,
                               {k: v for k, v in skipped.items() if v})


def _replayable(sql: str) -> bool:
    return not is_write(sql) or bool(_DML.match(sql))


def _statement_workload(source: str, statements: list[str], database: str | None,
                        skipped: dict[str, int]) -> Workload:
    fingerprints = fingerprint_many(statements)
    ids = {fp: class_id(fp) for fp in set(fingerprints)}
    items = [(ids[fp], sql) for fp, sql in zip(fingerprints, statements, strict=True)]
    labels = {cid: fp for fp, cid in ids.items()}
    return Workload(source=source, items=items, labels=labels, database=database,
                    skipped=skipped)
