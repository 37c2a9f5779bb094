"""dbtune.advise.guard: the measured per-class guard on a real sandbox. An index chosen for
one class that makes another much slower (a walk in index order EXPLAIN prices wrong) is dropped,
with the class and the measured times; a plan that slows no class keeps every index."""

from __future__ import annotations

import pytest
from test_advise_indexes import Klass

from dbtune.advise.guard import (
    describe,
    explain_kept,
    guard_plan,
    near_bound,
    read_classes,
    with_bound,
)
from dbtune.advise.indexes import STAGES, advise_indexes
from dbtune.catalog import Catalog

ROWS = 60_000
#: a selective lookup: wants f(k)
LOOKUP = "SELECT v, pad FROM f WHERE k = 777"
#: a selective lookup on another column: wants f(w)
BY_W = "SELECT k, pad FROM f WHERE w = 4242"
#: the rare v = 3 rows hold the largest k: through f(k) the optimizer expects ten of them
#: within the first few entries of the walk in k order (it knows nothing of v) and reads
#: the whole table by clustered lookups instead of scanning it once and sorting 60 rows
REPORT = "SELECT id, pad FROM f WHERE v = 3 ORDER BY k LIMIT 10"
#: a class the indexes leave alone
COUNT = "SELECT COUNT(*) FROM f WHERE v = 3"


@pytest.fixture
def skewed(dbtune_server, dbtune_database) -> Catalog:
    """f (60,000 rows of 200 bytes): k grows with id (1,000 values), w distinct, v = 3
    only on the last 60 rows; and the live catalog."""
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE f (id INT PRIMARY KEY, k INT NOT NULL, w INT NOT NULL, "
                       "v INT NOT NULL, pad CHAR(200) NOT NULL) ENGINE=InnoDB")
        cursor.execute(f"INSERT INTO f SELECT seq, seq DIV 60 + 1, (seq * 7919) % {ROWS}, "
                       f"IF(seq > {ROWS - 60}, 3, 10 + seq % 997), REPEAT('p', 200) "
                       f"FROM seq_1_to_{ROWS}")
        cursor.execute("ANALYZE TABLE f")
        cursor.fetchall()
        return Catalog.from_server(connection, dbtune_database)


def workload(database: str, report: str) -> list[Klass]:
    return [Klass("lookup", LOOKUP, 0.45, sample_db=database),
            Klass("by_w", BY_W, 0.45, sample_db=database),
            Klass("report", report, 0.0004, sample_db=database)]


def secondary(server, database: str) -> set[str]:
    with server.connect(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT index_name FROM information_schema.statistics WHERE "
                       "table_schema = %s AND index_name <> 'PRIMARY'", (database,))
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.server
def test_an_index_that_makes_a_join_several_times_slower_is_dropped_and_said(
        dbtune_server, dbtune_database, skewed) -> None:
    """Without the guard f(k) is advised (EXPLAIN shows the report's walk in k order
    stopping after ten rows, and verification keeps it); with it the report runs many times
    slower through f(k) than without the plan, f(k) is found as the culprit among f's two
    new indexes and dropped, f(w) stays."""
    classes = workload(dbtune_database, REPORT)
    unguarded = advise_indexes(classes, skewed, verify_on=dbtune_server,
                               stages=[s for s in STAGES if s.__name__ != "guard"])
    assert {a.columns[0] for a in unguarded.advice} >= {"k", "w"}
    timed = guard_plan(unguarded, dbtune_server)
    (report,) = [t for t in timed.timings if t.effect.class_id == "report"]
    assert report.regressed(2.0), (report.without, report.with_set)
    assert [a.columns[0] for a, _ in timed.culprits] == ["k"]

    plan = advise_indexes(classes, skewed, verify_on=dbtune_server)
    assert "k" not in {a.columns[0] for a in plan.advice}
    assert "w" in {a.columns[0] for a in plan.advice}
    (why,) = [why for a, why in plan.rejected if a.columns[0] == "k"]
    assert why.startswith("per-class guard:") and "report" in why and " ms" in why
    assert any(n.startswith("guard round 1") and "dropped: f (k" in n for n in plan.measured)
    assert secondary(dbtune_server, dbtune_database) == set()


@pytest.mark.server
def test_a_plan_that_slows_no_class_keeps_every_index(
        dbtune_server, dbtune_database, skewed) -> None:
    """The same indexes, with a report they leave alone: every class is timed, nothing is
    dropped, and each kept index's reason carries its measured times."""
    plan = advise_indexes(workload(dbtune_database, COUNT), skewed, verify_on=dbtune_server)
    assert {a.columns[0] for a in plan.advice} >= {"k", "w"}
    assert not [why for _, why in plan.rejected if why.startswith("per-class guard")]
    (note,) = [n for n in plan.measured if n.startswith("guard round")]
    assert "3 read classes timed" in note and "no class more than 2x slower" in note
    assert all("(guard)" in a.reason for a in plan.advice)
    assert secondary(dbtune_server, dbtune_database) == set()


@pytest.mark.server
def test_only_read_classes_of_indexed_tables_are_guarded(
        dbtune_server, dbtune_database, skewed) -> None:
    """A write class of an indexed table is left to the measured what-if (never run by
    the guard)."""
    classes = [*workload(dbtune_database, COUNT),
               Klass("purge", "DELETE FROM f WHERE v = 999 LIMIT 5", 0.01,
                     sample_db=dbtune_database)]
    plan = advise_indexes(classes, skewed,
                          stages=[s for s in STAGES if s.__name__ != "guard"])
    assert {e.class_id for e in read_classes(plan)} == {"lookup", "by_w", "report"}


@pytest.mark.server
def test_the_bound_is_the_callers(dbtune_server, dbtune_database, skewed) -> None:
    """``--max-regression`` (:func:`with_bound`): under a bound the report's slowdown does
    not reach, f(k) stays, and the note names that bound."""
    plan = advise_indexes(workload(dbtune_database, REPORT), skewed, verify_on=dbtune_server,
                          stages=with_bound(STAGES, 1000.0))
    assert "k" in {a.columns[0] for a in plan.advice}
    (note,) = [n for n in plan.measured if n.startswith("guard round")]
    assert "no class more than 1000x slower" in note


@pytest.fixture
def three_lookups(dbtune_server, dbtune_database) -> Catalog:
    """w (20,000 rows of 100 bytes): a, b and c each in its own random order (2,000 values
    each), so that an index on any of them is maintained at a random place per row."""
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE w (id INT PRIMARY KEY, a INT NOT NULL, b INT NOT NULL, "
                       "c INT NOT NULL, pad CHAR(100) NOT NULL) ENGINE=InnoDB")
        cursor.execute("INSERT INTO w SELECT seq, (seq * 7919) % 2000, (seq * 6007) % 2000, "
                       "(seq * 4001) % 2000, REPEAT('p', 100) FROM seq_1_to_20000")
        cursor.execute("ANALYZE TABLE w")
        cursor.fetchall()
        return Catalog.from_server(connection, dbtune_database)


def lookups_and_purge(database: str) -> list[Klass]:
    """Three lookups that each want an index of their own, and a rare batch DELETE of the
    oldest 2,000 rows (a primary-key range: bare, it touches no secondary index)."""
    return [*(Klass(f"by_{c}", f"SELECT pad FROM w WHERE {c} = 77", 0.33, sample_db=database)
              for c in "abc"),
            Klass("purge", "DELETE FROM w WHERE id <= 2000", 0.0005, sample_db=database)]


@pytest.mark.server
def test_a_write_class_the_plan_makes_over_2x_slower_is_guarded_and_named(
        dbtune_server, dbtune_database, three_lookups) -> None:
    """The three lookup indexes pay for themselves many times over on the workload's time,
    but together they make the rare purge (2,000 rows delete-marked in each) several times
    slower than bare: the write guard times it with the set and without (rolled back), drops
    indexes until it is back within 2x, and names the class and the times; under a bound
    it does not reach, all three stay and the note says the write was timed."""
    classes = lookups_and_purge(dbtune_database)
    unguarded = advise_indexes(classes, three_lookups,
                               stages=[s for s in STAGES if s.__name__ != "guard"])
    assert sorted(a.columns[0] for a in unguarded.advice) == ["a", "b", "c"]
    plan = advise_indexes(classes, three_lookups, verify_on=dbtune_server)
    why = [w for _, w in plan.rejected if w.startswith("per-class guard: with the plan's "
                                                       "indexes the write purge")]
    assert why and "over the 2x bound" in why[0] and "with this one dropped" in why[0], (
        plan.rejected, plan.measured)
    assert len(plan.advice) < 3
    assert any("write classes timed (rolled back), the slowest purge" in n
               for n in plan.measured), plan.measured
    kept = advise_indexes(classes, three_lookups, verify_on=dbtune_server,
                          stages=with_bound(STAGES, 1000.0))
    assert sorted(a.columns[0] for a in kept.advice) == ["a", "b", "c"]
    assert secondary(dbtune_server, dbtune_database) == set()
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM w")
        assert cursor.fetchone()[0] == 20_000


@pytest.mark.server
def test_two_indexes_that_each_make_a_class_slower_are_found_together(
        dbtune_server, dbtune_database, skewed) -> None:
    """f(k) and its twin (a second index on k, as two classes' advice may coincide on
    another server): either one alone makes the report walk f in k order, so ignoring one
    at a time changes nothing. With both ignored the report is back; made visible again one
    at a time, the first is kept only if the report stays within the bound - it does not:
    both are the culprits, found together."""
    from dataclasses import replace

    plan = advise_indexes(workload(dbtune_database, REPORT), skewed,
                          stages=[s for s in STAGES if s.__name__ != "guard"])
    (by_k,) = [a for a in plan.advice if a.columns[0] == "k"]
    plan.advice.append(replace(by_k, classes=list(by_k.classes), others=list(by_k.others)))
    timed = guard_plan(plan, dbtune_server)
    assert [a.columns for a, _ in timed.culprits].count(("k",)) == 2, (
        [(a.columns, why) for a, why in timed.culprits], timed.unresolved)
    assert not timed.unresolved
    assert secondary(dbtune_server, dbtune_database) == set()


#: the rare u = 1 rows hold the largest v: walking an index on v from its start reads
#: nearly the whole table by random clustered lookups before ten of them are found
BY_U = "SELECT id, pad FROM f WHERE u = 1 ORDER BY v LIMIT 10"


@pytest.fixture
def flipping(dbtune_server, dbtune_database) -> Catalog:
    """f as in :func:`skewed`, with u = 1 on the 60 rows of the largest v (10 + 996)."""
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE f (id INT PRIMARY KEY, k INT NOT NULL, w INT NOT NULL, "
                       "v INT NOT NULL, u INT NOT NULL, pad CHAR(200) NOT NULL) ENGINE=InnoDB")
        cursor.execute(f"INSERT INTO f SELECT seq, seq DIV 60 + 1, (seq * 7919) % {ROWS}, "
                       f"IF(seq > {ROWS - 60}, 3, 10 + seq % 997), "
                       f"IF(seq % 997 = 996 AND seq <= {ROWS - 60}, 1, 0), REPEAT('p', 200) "
                       f"FROM seq_1_to_{ROWS}")
        cursor.execute("ANALYZE TABLE f")
        cursor.fetchall()
        return Catalog.from_server(connection, dbtune_database)


@pytest.mark.server
def test_what_the_last_drops_leave_is_timed_again(
        dbtune_server, dbtune_database, flipping, monkeypatch) -> None:
    """The report's index (on v) makes the rare by_u walk f in v order, 10x slower: the
    last round (one here) drops it; without it the report falls to the lookup's f(k) and
    walks f in k order, 4x slower than bare. That is found only by timing what the drop
    left: the check round drops f(k) too (or names the report), and the final plan, guarded
    afresh, slows no class."""
    from dbtune.advise import guard as module

    monkeypatch.setattr(module, "ROUNDS", 1)
    classes = [Klass("lookup", LOOKUP, 0.45, sample_db=dbtune_database),
               Klass("report", REPORT, 0.3, sample_db=dbtune_database),
               Klass("by_u", BY_U, 0.0004, sample_db=dbtune_database)]
    unguarded = advise_indexes(classes, flipping, verify_on=dbtune_server,
                               stages=[s for s in STAGES if s.__name__ != "guard"])
    assert {a.columns[0] for a in unguarded.advice} >= {"k", "v"}, unguarded.advice
    plan = advise_indexes(classes, flipping, verify_on=dbtune_server)
    assert "v" not in {a.columns[0] for a in plan.advice}, plan.measured
    warned = [w for a in plan.advice for w in a.warnings if "report" in w]
    assert "k" not in {a.columns[0] for a in plan.advice} or warned, plan.measured
    assert any(n.startswith("guard round 2") for n in plan.measured), plan.measured
    again = guard_plan(plan, dbtune_server)
    assert not again.culprits, ([(a.columns, why) for a, why in again.culprits],
                                plan.measured)
    assert secondary(dbtune_server, dbtune_database) == set()


@pytest.mark.server
def test_a_class_kept_near_the_bound_is_named_on_its_indexes(
        dbtune_server, dbtune_database, skewed) -> None:
    """The report, several times slower through f(k), under a bound a little above what
    was measured: nothing is dropped, but the round's note and f(k)'s warnings say the
    report is near the bound (a replay timed client-side may read it over); under twice
    the measured ratio it is not near."""
    plan = advise_indexes(workload(dbtune_database, REPORT), skewed,
                          stages=[s for s in STAGES if s.__name__ != "guard"])
    timed = guard_plan(plan, dbtune_server, 1000.0)
    (report,) = [t for t in timed.timings if t.effect.class_id == "report"]
    bound = report.ratio * 1.2
    assert near_bound(report, bound) and not near_bound(report, report.ratio * 2)
    assert "near the bound: report" in describe(timed, 1, len(plan.advice), bound)
    explain_kept(plan, timed, (), bound)
    (by_k,) = [a for a in plan.advice if a.columns[0] == "k"]
    assert any("report" in w and "near it" in w for w in by_k.warnings), by_k.warnings
    assert secondary(dbtune_server, dbtune_database) == set()


@pytest.mark.server
def test_a_class_is_judged_on_its_fastest_time_without_the_plan_of_every_round(
        dbtune_server, dbtune_database, skewed) -> None:
    """``floors``: the guard's rounds time the same bare schema; each class's time without
    the plan is the fastest of all rounds (kept in ``floors``), so one slow bare sample
    cannot hide a regression."""
    plan = advise_indexes(workload(dbtune_database, COUNT), skewed,
                          stages=[s for s in STAGES if s.__name__ != "guard"])
    floors: dict[str, float] = {}
    first = guard_plan(plan, dbtune_server, 1000.0, floors=floors)
    assert floors == {t.effect.class_id: t.without for t in first.timings} != {}
    floors["lookup"] = 1e-4
    second = guard_plan(plan, dbtune_server, 1000.0, floors=floors)
    (lookup,) = [t for t in second.timings if t.effect.class_id == "lookup"]
    assert lookup.without == 1e-4 and floors["lookup"] == 1e-4
    assert secondary(dbtune_server, dbtune_database) == set()
