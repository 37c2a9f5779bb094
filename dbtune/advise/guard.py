"""The measured per-class guard of the advice (with a disposable server): no class may run
more than ``max_regression`` times slower with the plan's indexes than without them.

Verification (:mod:`dbtune.advise.verify`) judges a plan on EXPLAIN's rows and the
advisor's own cost model; what a join order flipped by a new index costs, EXPLAIN cannot
say. On TPC-DS ``date_dim(d_date, d_week_seq)``, advised for other classes, turns Q32 and
Q92 into date-first plans 20x slower than the bare schema; on TPC-H
``lineitem(l_partkey, l_quantity)`` makes Q14 6.9x slower. The guard runs after repair,
on real execution time:

1. every index of the plan is built on the server, IGNORED (MariaDB 10.6+) or INVISIBLE
   (MySQL 8), so the optimizer cannot use them until they are made visible (instant);
2. every read class (one SELECT) of a table the plan indexes is ANALYZEd
   (:func:`dbtune.advise.measure.analyze`: the server's own time) with the set ignored,
   then visible, under a statement time cap (:data:`STATEMENT_CAP`; with the set, at most
   ``max_regression`` x the time without, and a little more: past it the class has
   regressed, whatever it would have taken);
3. a class more than ``max_regression`` times slower with the set (and by at least
   :data:`MIN_LOSS_MS`) is timed again both ways (a busy machine's spike is not a
   regression); still slower, its culprit is found by ignoring the plan's indexes on its
   tables one at a time (:func:`find_culprits`): the one whose absence helps most goes,
   until the class is back within the bound;
4. the culprits leave the plan for ``plan.rejected``, with the class and the measured
   figures; the selection then runs again without them (the next-best alternatives for
   their classes), the new plan is verified, and guarded again (at most
   :data:`ROUNDS` rounds; the last one only drops);
5. what the last round's drops leave is timed again (at most :data:`CHECKS` rounds that
   only drop): without an index, a class it served may fall to another that is bad for it
   (a read 4x slower through ``f(k)`` once ``f(v)``, bad for another class, is gone); a
   class still slower with no culprit is a warning on its tables' indexes, and a plan the
   bound left untimed is said so in ``plan.measured``;
6. the indexes are dropped; the plan's "Measured on the server" section says what was
   timed, what it found and what it cost (``plan.measured``).

The same bound holds for the **write classes** (INSERT, UPDATE, DELETE, REPLACE) of the
tables the plan indexes: each one's statement is timed in a rolled-back transaction
(:func:`dbtune.advise.measure.time_write`) before the set is built and with it built and
visible (the upkeep of every new index it maintains, and the read part the set may save
it), in server time; one more than
``max_regression`` times slower is timed again, and its culprits are found by dropping the
plan's indexes on its table (an ignored index is still maintained) and building them back,
the most valuable for the reads first, while it stays within the bound
(:func:`find_write_culprits`). The what-if prices each index's upkeep alone; this times the
set together, as the workload will run.

Reads on big tables are timed on the tables themselves (a sample of another size would not
show the join order the optimizer picks on the real one); the caps and :data:`TIME_BUDGET`
bound the cost, and the classes not reached by then are named as not guarded.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pymysql
from sqlglot import exp

from dbtune.advise.assemble import build_plan
from dbtune.advise.ddl import ONLINE_INDEX, add_index, alter_table
from dbtune.advise.measure import analyze, is_write, statement_cap, supports_ignored, time_write
from dbtune.advise.plan import ClassEffect, IndexAdvice, IndexPlan
from dbtune.advise.prune import check_plan
from dbtune.advise.run import Advising
from dbtune.advise.selection import select_indexes
from dbtune.advise.session import lost, one_line, open_session, revive
from dbtune.advise.verify import verify_plan
from dbtune.parsing import parse_statement
from dbtune.sandbox import Server, require_disposable

#: a class more than this many times slower with the plan than without fails the guard
#: (the default of ``dbtune bench --max-regression``, :data:`dbtune.bench.verdict.MAX_REGRESSION`)
MAX_REGRESSION = 2.0
#: a class kept at more than this fraction of the bound is named near it (a replay's
#: client-side timing may read it over: the marketplace's batch DELETE, within 2x in the
#: guard's rolled-back server time, read 2.0-2.6x in the bench's committed runs)
NEAR = 0.75
#: ...and slower by at least this (ms of server time): below it, a busy machine's noise
MIN_LOSS_MS = 1.0
#: seconds one statement may run without the plan's indexes (a class slower is not guarded)
STATEMENT_CAP = 10.0
#: with the set, a statement is stopped at max_regression x its time without, times this
#: (it has regressed by then), and never below :data:`MIN_CAP` (s: the first run after a
#: visibility change may reopen the table, and a busy machine stalls short statements)
CAP_MARGIN = 1.25
MIN_CAP = 0.5
#: an index is a culprit only if the class runs at most this fraction of its time without
#: it (ignoring one that the class does not use changes nothing but noise)
HELPS = 0.8
#: runs each way of a statement faster than :data:`SLOW_MS` (the fastest counts)
REPEATS = 3
SLOW_MS = 250.0
#: seconds the guard may spend per round; the classes not reached are named as not guarded
TIME_BUDGET = 300.0
#: guard rounds: each but the last lets the selection replace what it dropped
ROUNDS = 2
#: rounds after the last that only time what the drops left and drop again (a drop can
#: flip another class's plan to an index that is bad for it); none starts once the guard
#: has spent ``ROUNDS`` x :data:`TIME_BUDGET`
CHECKS = 2
#: the what-if indexes' names: this prefix and a number
PREFIX = "dbtune_guard_"


@dataclass
class Timing:
    """One class timed without and with the plan's indexes (server ms; inf: capped)."""

    effect: ClassEffect
    without: float
    with_set: float

    @property
    def ratio(self) -> float:
        """Time with the set / time without.

        >>> Timing(ClassEffect("q", 0.1, 1, 1), 4.0, 10.0).ratio
        2.5
        """
        return self.with_set / max(self.without, 1e-3)

    def regressed(self, max_regression: float) -> bool:
        """More than ``max_regression`` times slower, and by at least :data:`MIN_LOSS_MS`.

        >>> t = Timing(ClassEffect("q", 0.1, 1, 1), 0.2, 0.9)
        >>> t.regressed(2.0), Timing(t.effect, 20.0, 45.0).regressed(2.0)
        (False, True)
        """
        return (self.with_set > max_regression * self.without
                and self.with_set - self.without >= MIN_LOSS_MS)


@dataclass
class Verdict:
    """What one guard round found."""

    #: read classes timed both ways
    timings: list[Timing] = field(default_factory=list)
    #: write classes timed both ways (rolled back)
    write_timings: list[Timing] = field(default_factory=list)
    #: (index, why) for every index the guard drops
    culprits: list[tuple[IndexAdvice, str]] = field(default_factory=list)
    #: (class id, in words): classes still slower than the bound with every culprit dropped
    unresolved: list[tuple[str, str]] = field(default_factory=list)
    #: classes not timed (the statement fails, is capped without the set, the budget ran out)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def guard(run: Advising, max_regression: float = MAX_REGRESSION) -> None:
    """Stage (with a disposable server, after repair): time every read class of a table the
    plan indexes with the plan and without; drop the index that makes a class more than
    ``max_regression`` times slower, let the selection take the next best, and guard again
    (:data:`ROUNDS`); then time what the last drops left, dropping again (:data:`CHECKS`).
    Raises NotDisposableError on a server not marked disposable
    (:func:`with_bound` for another bound)."""
    if run.server is None or run.plan is None or not run.plan.advice:
        return
    require_disposable(run.server, "build the plan's indexes to guard it")
    if not supports_ignored(run.server):
        run.plan.measured.append(f"guard: not run: {run.server.flavour} {run.server.version} "
                                 "has no IGNORED / INVISIBLE indexes (MariaDB 10.6+, MySQL 8)")
        return
    dropped: list[tuple[IndexAdvice, str]] = []
    notes: list[str] = []
    verdict = Verdict()
    started = time.monotonic()
    floors: dict[str, float] = {}
    for number in range(1, ROUNDS + CHECKS + 1):
        try:
            verdict = guard_plan(run.plan, run.server, max_regression, write_classes(run),
                                 floors)
        except pymysql.MySQLError as exc:  # the server stopped answering: say so, keep the plan
            notes.append(f"guard round {number}: stopped, the server did not answer "
                         f"({one_line(exc)})")
            break
        notes.append(describe(verdict, number, len(run.plan.advice), max_regression))
        for advice, _ in verdict.culprits:
            chosen = run.tables[run.key_of(advice.table, advice.schema)].chosen
            if advice.columns in chosen:
                chosen.remove(advice.columns)
        dropped += verdict.culprits
        if not verdict.culprits:
            break
        if number < ROUNDS:
            _reselect(run, {(run.key_of(a.table, a.schema), a.columns) for a, _ in dropped})
            continue
        for advice, _ in verdict.culprits:
            run.plan.advice.remove(advice)
        if not run.plan.advice:
            break
        if number == ROUNDS + CHECKS or time.monotonic() - started > ROUNDS * TIME_BUDGET:
            notes.append(f"guard: the plan left by round {number}'s drops was not timed "
                         f"again ({number} rounds, {time.monotonic() - started:,.0f} s spent): "
                         "a class those drops slow is not guarded")
            break
    run.plan.rejected += [(a, f"per-class guard: {why}") for a, why in dropped]
    run.plan.measured += notes
    explain_kept(run.plan, verdict, dropped, max_regression)


def near_bound(timing: Timing, max_regression: float) -> bool:
    """Within ``max_regression`` but past :data:`NEAR` of it (and slower by at least
    :data:`MIN_LOSS_MS`).

    >>> t = Timing(ClassEffect("q", 0.1, 1, 1), 2.0, 3.6)
    >>> near_bound(t, 2.0), near_bound(replace(t, with_set=2.5), 2.0)
    (True, False)
    """
    return (not timing.regressed(max_regression)
            and timing.with_set >= NEAR * max_regression * timing.without
            and timing.with_set - timing.without >= MIN_LOSS_MS)


def explain_kept(plan: IndexPlan, verdict: Verdict,
                 dropped: Sequence[tuple[IndexAdvice, str]] = (),
                 max_regression: float = MAX_REGRESSION) -> None:
    """Each kept index's reason gets its own classes' measured times with the plan and
    without, and names the dropped index it now serves classes of; a class still over the
    bound, or near it (:func:`near_bound`), is a warning on every index of its tables (a
    write's: on those it maintains)."""
    timings = {t.effect.class_id: t for t in verdict.timings}
    near = {t.effect.class_id: (f"{t.effect.class_id} {_abbreviate(t.effect.sql)} measured "
                                f"{_times(t.ratio)} slower with the plan ({_ms(t.without)} -> "
                                f"{_ms(t.with_set)}, server time), within the "
                                f"{max_regression:g}x bound but near it: a replay may read "
                                "it over")
            for t in [*verdict.timings, *verdict.write_timings]
            if near_bound(t, max_regression)}
    for advice in plan.advice:
        mine = {c.class_id for c in advice.classes}
        replaced = [f"{a.table} ({', '.join(a.columns)})" for a, _ in dropped
                    if a.table == advice.table and mine & {c.class_id for c in a.classes}]
        if replaced:
            advice.reason += (f"; serves classes of {', '.join(replaced)} in its place "
                              "(dropped by the per-class guard)")
        own = [timings[c.class_id] for c in advice.classes if c.class_id in timings]
        if own:
            advice.reason += ("; measured with the plan's indexes vs without (guard): "
                              + ", ".join(f"{t.effect.class_id} {_ms(t.without)} -> "
                                          f"{_ms(t.with_set)}" for t in own[:4])
                              + (f" and {len(own) - 4} more" if len(own) > 4 else ""))
        readers = {e.class_id for e in [*advice.classes, *advice.others]}
        advice.warnings += [f"per-class guard: {why}" for cid, why in verdict.unresolved
                            if cid in readers]
        advice.warnings += [f"per-class guard: {why}" for cid, why in near.items()
                            if cid in readers or cid in advice.write_classes]


def with_bound(stages: Sequence[Callable[[Advising], None]], max_regression: float
               ) -> list[Callable[[Advising], None]]:
    """``stages`` with :func:`guard` bound to ``max_regression`` (what ``dbtune advise
    indexes --max-regression`` runs).

    >>> [s.__name__ for s in with_bound([guard], 3.0)]
    ['guard']
    """
    bound = functools.wraps(guard)(functools.partial(guard, max_regression=max_regression))
    return [bound if stage is guard else stage for stage in stages]


def _reselect(run: Advising, forbidden: set[tuple[str, tuple[str, ...]]]) -> None:
    """The selection again without the ``forbidden`` (table key, columns) (the next best
    for their classes), the plan rebuilt, checked and verified; what it rejected before
    stays."""
    assert run.plan is not None and run.server is not None
    for key, state in run.tables.items():
        state.candidates = [c for c in state.candidates if (key, c) not in forbidden]
    before, notes = run.plan.rejected, list(run.limit_notes)
    select_indexes(run)
    run.limit_notes = notes
    build_plan(run)
    check_plan(run)
    known = {(a.table, a.columns) for a, _ in run.plan.rejected}
    run.plan.rejected += [(a, w) for a, w in before if (a.table, a.columns) not in known]
    verify_plan(run.plan, run.server)


def guard_plan(plan: IndexPlan, server: Server, max_regression: float = MAX_REGRESSION,
               writes: Sequence[tuple[ClassEffect, str]] = (),
               floors: dict[str, float] | None = None) -> Verdict:
    """Build ``plan``'s indexes ignored, time its read classes with and without them (and
    ``writes``, write classes of the tables it indexes: :func:`write_classes`), find the
    culprits of every class more than ``max_regression`` slower; drop the indexes. The
    plan itself is not changed: the verdict says what to drop. ``floors``: each class's
    fastest time without the plan in earlier rounds (the same bare schema and data), kept
    up to date; a class's time without is never above it (one slow bare sample - the
    marketplace DELETE read 1.8 ms against 1.2 ms in the round before - would hide a 3x
    regression as 2x)."""
    floors = {} if floors is None else floors
    require_disposable(server, "build the plan's indexes to guard it")
    mysql = server.flavour == "mysql"
    started = time.monotonic()
    verdict = Verdict()
    names = {id(a): f"{PREFIX}{i}" for i, a in enumerate(plan.advice)}
    with open_session(server) as connection:
        bare = {w.class_id: _floor(floors, w.class_id, timed_write(connection, w, mysql))
                for w, _ in writes}
        built: list[IndexAdvice] = []
        try:
            for advice in plan.advice:
                try:
                    _execute(connection, alter_table(advice.table_sql, [add_index(
                        names[id(advice)], advice.columns, invisible=mysql)
                        + ("" if mysql else " IGNORED")], **ONLINE_INDEX))
                except pymysql.MySQLError as exc:
                    if lost(exc):
                        revive(connection)
                    verdict.skipped.append(f"{advice.table} ({', '.join(advice.columns)}) "
                                           f"not built: {one_line(exc)}")
                    continue
                built.append(advice)
            session = _Session(connection, mysql, built, names)
            _judge(session, plan, verdict, max_regression, started, floors)
            _judge_writes(session, writes, bare, verdict, max_regression, started)
        finally:
            for advice in built:
                _execute(connection, alter_table(advice.table_sql, [
                    f"DROP INDEX `{names[id(advice)]}`"], **ONLINE_INDEX))
    verdict.seconds = time.monotonic() - started
    return verdict


class _Session:
    """The plan's indexes built ignored on one connection: which are visible, and timing."""

    def __init__(self, connection: Any, mysql: bool, built: list[IndexAdvice],
                 names: dict[int, str]) -> None:
        self.connection, self.mysql, self.built, self.names = connection, mysql, built, names
        self.visible: set[int] = set()

    def without(self, advice: IndexAdvice) -> None:
        """Drop one built index (writes maintain an ignored one: only its absence shows its
        upkeep); :meth:`rebuild` puts it back."""
        _execute(self.connection, alter_table(advice.table_sql, [
            f"DROP INDEX `{self.names[id(advice)]}`"], **ONLINE_INDEX))

    def rebuild(self, advice: IndexAdvice) -> None:
        """Build a dropped index again, visible or ignored as it was."""
        state = ("" if id(advice) in self.visible else " INVISIBLE") if self.mysql else (
            "" if id(advice) in self.visible else " IGNORED")
        _execute(self.connection, alter_table(advice.table_sql, [add_index(
            self.names[id(advice)], advice.columns) + state], **ONLINE_INDEX))

    def show(self, advice: Sequence[IndexAdvice]) -> None:
        """Make exactly ``advice`` visible (the rest of the plan ignored)."""
        wanted = {id(a) for a in advice}
        tables: dict[str, list[str]] = {}
        for a in self.built:
            if (id(a) in wanted) != (id(a) in self.visible):
                state = ("VISIBLE" if id(a) in wanted else "INVISIBLE") if self.mysql else (
                    "NOT IGNORED" if id(a) in wanted else "IGNORED")
                tables.setdefault(a.table_sql, []).append(
                    f"ALTER INDEX `{self.names[id(a)]}` {state}")
        for table, clauses in tables.items():
            _execute(self.connection, alter_table(table, clauses))
        self.visible = wanted & {id(a) for a in self.built}

    def time(self, effect: ClassEffect, cap_s: float) -> float | None:
        """Server ms of ``effect``'s statement (fastest of :data:`REPEATS` when fast; inf
        when stopped at ``cap_s``); None when it fails."""
        limit = (f"SET SESSION max_execution_time = {max(int(cap_s * 1000), 1)}" if self.mysql
                 else f"SET SESSION max_statement_time = {cap_s:.3f}")
        _execute(self.connection, limit)
        best: float | None = None
        try:
            for _ in range(REPEATS):
                started = time.monotonic()
                try:
                    found = analyze(self.connection, effect.sql, effect.db, self.mysql,
                                    repeats=1)
                except pymysql.MySQLError as exc:
                    if not lost(exc):
                        raise
                    revive(self.connection)
                    return None
                if found is None:
                    return math.inf if time.monotonic() - started >= 0.8 * cap_s else best
                best = found[0] if best is None else min(best, found[0])
                if best > SLOW_MS:
                    break
        finally:
            _execute(self.connection, "SET SESSION max_execution_time = 0" if self.mysql
                     else "SET SESSION max_statement_time = 0")
        return best


def _cap(without: float, max_regression: float) -> float:
    """Seconds a statement may run with the set: past it, it has regressed.

    >>> _cap(400.0, 2.0), _cap(1.0, 2.0)
    (1.0, 0.5)
    """
    return max(without * max_regression * CAP_MARGIN / 1000.0, MIN_CAP)


def _floor(floors: dict[str, float], class_id: str, took: float | None) -> float | None:
    """``took`` (ms without the plan), or the class's fastest such time of earlier rounds
    when lower (kept in ``floors``).

    >>> floors = {"d": 1.2}
    >>> _floor(floors, "d", 1.8), _floor(floors, "d", 0.9), _floor(floors, "d", None)
    (1.2, 0.9, None)
    """
    if took is None or math.isinf(took):
        return took
    floors[class_id] = min(took, floors.get(class_id, took))
    return floors[class_id]


def _judge(session: _Session, plan: IndexPlan, verdict: Verdict, max_regression: float,
           started: float, floors: dict[str, float]) -> None:
    """Time every read class both ways; find the culprits of those that regress."""
    watched = read_classes(plan)
    without: dict[str, float] = {}
    session.show([])
    for effect in watched:
        if time.monotonic() - started > TIME_BUDGET:
            verdict.skipped.append(f"{effect.class_id} (the guard's {TIME_BUDGET:.0f} s "
                                   "budget was spent)")
            continue
        took = session.time(effect, STATEMENT_CAP)
        if took is None or math.isinf(took):
            verdict.skipped.append(f"{effect.class_id} ({'fails' if took is None else 'over '}"
                                   f"{'' if took is None else f'{STATEMENT_CAP:g} s'} without "
                                   "the plan's indexes)")
            continue
        floored = _floor(floors, effect.class_id, took)
        without[effect.class_id] = took if floored is None else floored
    session.show(session.built)
    for effect in watched:
        if effect.class_id not in without:
            continue
        took = session.time(effect, _cap(without[effect.class_id], max_regression))
        if took is not None:
            verdict.timings.append(Timing(effect, without[effect.class_id], took))
    for timing in sorted(verdict.timings, key=lambda t: -(t.with_set - t.without) * t.effect.share):
        if not timing.regressed(max_regression):
            continue
        _confirm(session, timing, max_regression)
        if timing.regressed(max_regression):
            _blame(session, plan, timing, verdict, max_regression)
    session.show([])


def _judge_writes(session: _Session, writes: Sequence[tuple[ClassEffect, str]],
                  bare: dict[str, float | None], verdict: Verdict, max_regression: float,
                  started: float) -> None:
    """Time every write class with the set built and visible against its time before the
    set was built (``bare``); a regressed one is timed again, then its culprits found by
    dropping the plan's indexes on its table (``writes``: (class, table)) and building them
    back (:func:`find_write_culprits`). Judged in server time, alone: on a quiet machine
    the bench read the marketplace's batch DELETE 3.3x slower where this read 3.1x."""
    session.show(session.built)
    for effect, table in writes:
        if bare.get(effect.class_id) is None:
            verdict.skipped.append(f"{effect.class_id} (the write fails or changes no row)")
            continue
        if time.monotonic() - started > TIME_BUDGET:
            verdict.skipped.append(f"{effect.class_id} (the guard's {TIME_BUDGET:.0f} s "
                                   "budget was spent)")
            continue
        took = timed_write(session.connection, effect, session.mysql)
        if took is None:
            continue
        timing = Timing(effect, bare[effect.class_id], took)
        verdict.write_timings.append(timing)
        if timing.regressed(max_regression):
            again = timed_write(session.connection, effect, session.mysql)
            timing.with_set = min(timing.with_set, again if again is not None else math.inf)
        if not timing.regressed(max_regression):
            continue
        dropped = {id(a) for a, _ in verdict.culprits}
        suspects = [a for a in session.built if a.table_sql == table and id(a) not in dropped]
        found, left = find_write_culprits(session, timing, suspects, max_regression)
        _record(verdict, timing, found, left, max_regression, write=True)
    session.show([])


def find_write_culprits(session: _Session, timing: Timing,
                        suspects: Sequence[IndexAdvice],
                        max_regression: float) -> tuple[list[tuple[IndexAdvice, float]],
                                                        float | None]:
    """Upkeep adds up, so the write's culprits are found as a group: every suspect dropped,
    the write timed (still over the bound: none of them is to blame); then they are built
    back one at a time, the most valuable for the reads first (``saved_share``: the read
    gains are what the plan is for), each kept if the write stays within
    ``max_regression``, else a culprit (dropped again). Returns ([(culprit, the write's ms
    with the indexes kept before it)], None), or ([], the write's ms with none of them)."""
    for advice in suspects:
        session.without(advice)
    kept: set[int] = set()
    try:
        took = timed_write(session.connection, timing.effect, session.mysql)
        if took is None or replace(timing, with_set=took).regressed(max_regression):
            return [], took if took is not None else timing.with_set
        out: list[tuple[IndexAdvice, float]] = []
        for advice in sorted(suspects, key=lambda a: -a.saved_share):
            session.rebuild(advice)
            again = timed_write(session.connection, timing.effect, session.mysql)
            if again is not None and not replace(timing, with_set=again).regressed(
                    max_regression):
                kept.add(id(advice))
                took = again
            else:
                session.without(advice)
                out.append((advice, took))
        return out, None
    finally:
        for advice in suspects:
            if id(advice) not in kept:
                session.rebuild(advice)


def timed_write(connection: Any, effect: ClassEffect, mysql: bool) -> float | None:
    """:func:`~dbtune.advise.measure.time_write` of ``effect``'s statement, each run stopped
    after :data:`STATEMENT_CAP` (MariaDB; MySQL's cap is for SELECTs only): None then, as
    for a write that fails (not guarded)."""
    _execute(connection, statement_cap(STATEMENT_CAP, mysql))
    try:
        return time_write(connection, effect.sql, effect.db)
    finally:
        _execute(connection, statement_cap(0, mysql))


def write_classes(run: Advising) -> list[tuple[ClassEffect, str]]:
    """The write classes (one INSERT / UPDATE / DELETE / REPLACE each) of the tables the
    plan indexes, largest share first, each with its table (as ``IndexAdvice.table_sql``)."""
    assert run.plan is not None
    about, shares = run.about(), run.share_of()
    out: dict[str, tuple[ClassEffect, str]] = {}
    for advice in run.plan.advice:
        state = run.tables[run.key_of(advice.table, advice.schema)]
        for write in state.writes:
            sql, db, _ = about[write.class_id]
            if write.class_id in out or not is_write(sql):
                continue
            out[write.class_id] = (ClassEffect(write.class_id, shares[write.class_id], 0.0, 0.0,
                                               sql=sql, db=db or advice.schema),
                                   advice.table_sql)
    return sorted(out.values(), key=lambda w: -w[0].share)


def _confirm(session: _Session, timing: Timing, max_regression: float) -> None:
    """Time a suspected regression once more each way (the current set, then without it);
    the fastest of each side counts."""
    shown = [a for a in session.built if id(a) in session.visible]
    again = session.time(timing.effect, _cap(timing.without, max_regression))
    if again is not None:
        timing.with_set = min(timing.with_set, again)
    session.show([])
    base = session.time(timing.effect, STATEMENT_CAP)
    if base is not None and not math.isinf(base):
        timing.without = min(timing.without, base)
    session.show(shown)


def _blame(session: _Session, plan: IndexPlan, timing: Timing, verdict: Verdict,
           max_regression: float) -> None:
    """Find and record the culprits of one regressed class (:func:`find_culprits`)."""
    dropped = {id(a) for a, _ in verdict.culprits}
    suspects = [a for a in session.built if id(a) not in dropped
                and timing.effect.class_id in {e.class_id for e in [*a.classes, *a.others]}]
    found, left = find_culprits(session, timing, suspects, max_regression)
    _record(verdict, timing, found, left, max_regression, write=False)


def _record(verdict: Verdict, timing: Timing, found: Sequence[tuple[IndexAdvice, float]],
            left: float | None, max_regression: float, *, write: bool) -> None:
    """The reasons of one regressed class's culprits (``found``: each with the class's ms
    once it was gone) and, when ``left`` is a time, why the class stays slower."""
    label = f"{timing.effect.class_id} {_abbreviate(timing.effect.sql)}"
    subject, how, gone, tables = (("the write ", "rolled back: ", "dropped", "table") if write
                                  else ("", "", "ignored", "tables"))
    for advice, ms in found:
        verdict.culprits.append((advice, (
            f"with the plan's indexes {subject}{label} ran {_ms(timing.with_set)} against "
            f"{_ms(timing.without)} without them ({how}{_times(timing.ratio)}, over the "
            f"{max_regression:g}x bound); with this one {gone}, {_ms(ms)}")))
    if left is not None:
        verdict.unresolved.append((timing.effect.class_id, (
            f"{subject}{label}: {_ms(left)} with the plan against {_ms(timing.without)} "
            f"without, no index of its {tables} alone to blame")))


def find_culprits(session: _Session, timing: Timing, suspects: Sequence[IndexAdvice],
                  max_regression: float) -> tuple[list[tuple[IndexAdvice, float]],
                                                  float | None]:
    """Ignore each of ``suspects`` in turn (the rest of the set visible); drop the one whose
    absence makes the class fastest (by at least 1 - :data:`HELPS` of its time), until it
    is within ``max_regression`` of its time without the set. When no index alone helps
    (two of them each lead the optimizer to the same bad plan), :func:`find_together`
    looks for the culprits as a group. Returns ([(culprit, class ms without it)], None),
    or with the class's ms at the end when that does not bring it back either."""
    visible = [a for a in session.built if id(a) in session.visible]
    out: list[tuple[IndexAdvice, float]] = []
    current = timing.with_set
    remaining = list(suspects)
    while remaining:
        trials = []
        for advice in remaining:
            session.show([a for a in visible if a is not advice])
            cap = (_cap(timing.without, max_regression) if math.isinf(current)
                   else max(current * CAP_MARGIN / 1000.0, MIN_CAP))
            took = session.time(timing.effect, cap)
            if took is not None:
                trials.append((took, advice))
        session.show(visible)
        if not trials:
            break
        took, advice = min(trials, key=lambda t: t[0])
        if math.isinf(took) or took > current * HELPS:
            break  # no index alone helps beyond a busy machine's noise
        out.append((advice, took))
        visible.remove(advice)
        remaining.remove(advice)
        current = took
        if not Timing(timing.effect, timing.without, took).regressed(max_regression):
            session.show(visible)
            return out, None
    if len(remaining) > 1:
        group = find_together(session, timing, visible, remaining, max_regression)
        if group:
            return out + group, None
    session.show(visible)
    return out, current


def find_together(session: _Session, timing: Timing, visible: list[IndexAdvice],
                  suspects: Sequence[IndexAdvice], max_regression: float
                  ) -> list[tuple[IndexAdvice, float]]:
    """Culprits no single drop reveals: with every suspect ignored the class must be back
    within ``max_regression`` (else []); then the suspects are made visible again one at a
    time, the most valuable (``saved_share``) first, and each that brings the regression
    back is a culprit (ignored again). ``visible`` loses the culprits. Returns [(culprit,
    class ms without the culprits)]."""
    ids = {id(a) for a in suspects}
    rest = [a for a in visible if id(a) not in ids]
    session.show(rest)
    took = session.time(timing.effect, max(timing.without * max_regression * CAP_MARGIN
                                           / 1000.0, MIN_CAP))
    if took is None or Timing(timing.effect, timing.without, took).regressed(max_regression):
        session.show(visible)
        return []
    kept, culprits = list(rest), []
    for advice in sorted(suspects, key=lambda a: -a.saved_share):
        session.show([*kept, advice])
        again = session.time(timing.effect, max(timing.without * max_regression * CAP_MARGIN
                                                / 1000.0, MIN_CAP))
        if again is not None and not Timing(timing.effect, timing.without,
                                            again).regressed(max_regression):
            kept.append(advice)
        else:
            culprits.append(advice)
    session.show(kept)
    visible[:] = kept
    return [(a, took) for a in culprits]


def read_classes(plan: IndexPlan) -> list[ClassEffect]:
    """The read classes (one SELECT each) of the tables the plan indexes, largest share
    first."""
    seen: dict[str, ClassEffect] = {}
    for advice in plan.advice:
        for effect in [*advice.classes, *advice.others]:
            if effect.class_id not in seen and isinstance(parse_statement(effect.sql),
                                                          exp.Query):
                seen[effect.class_id] = effect
    return sorted(seen.values(), key=lambda e: -e.share)


def describe(verdict: Verdict, number: int, indexes: int, max_regression: float) -> str:
    """One round of the guard in words (a line of ``plan.measured``)."""
    worst = max(verdict.timings, key=lambda t: t.ratio, default=None)
    faster = sum(1 for t in verdict.timings if t.with_set < t.without)
    text = (f"guard round {number}: {len(verdict.timings)} read classes timed with the "
            f"plan's {indexes} indexes and without them ({verdict.seconds:,.0f} s); "
            f"{faster} faster with them")
    if worst is not None:
        text += (f", the worst {worst.effect.class_id} {_times(worst.ratio)} "
                 f"({_ms(worst.without)} -> {_ms(worst.with_set)})")
    if verdict.write_timings:
        slowest = max(verdict.write_timings, key=lambda t: t.ratio)
        text += (f"; {len(verdict.write_timings)} write classes timed (rolled back), the "
                 f"slowest {slowest.effect.class_id} {_times(slowest.ratio)} "
                 f"({_ms(slowest.without)} -> {_ms(slowest.with_set)})")
    if verdict.culprits:
        text += "; dropped: " + ", ".join(
            f"{a.table} ({', '.join(a.columns)})" for a, _ in verdict.culprits)
    else:
        text += f"; no class more than {max_regression:g}x slower"
    if verdict.unresolved:
        text += "; still slower: " + "; ".join(w for _, w in verdict.unresolved)
    close = [t for t in [*verdict.timings, *verdict.write_timings]
             if near_bound(t, max_regression)]
    if close:
        text += "; near the bound: " + ", ".join(f"{t.effect.class_id} {_times(t.ratio)}"
                                                  for t in close)
    if verdict.skipped:
        text += "; not guarded: " + ", ".join(verdict.skipped)
    return text


def _ms(value: float) -> str:
    return "over the cap" if math.isinf(value) else f"{value:,.1f} ms"


def _times(ratio: float) -> str:
    return "stopped at the cap" if math.isinf(ratio) else f"{ratio:.1f}x"


def _abbreviate(sql: str, width: int = 48) -> str:
    text = " ".join(sql.split())
    return f"[{text if len(text) <= width else text[:width - 3] + '...'}]"


def _execute(connection: Any, sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)
