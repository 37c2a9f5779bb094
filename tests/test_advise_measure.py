"""dbtune.advise.measure: the measured what-if on a real sandbox (writes timed with candidate
indexes built IGNORED, reads ANALYZEd), the measured / estimated labels, and the guard that
keeps it off a server not marked disposable."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from test_advise_indexes import Klass

from dbtune.advise.indexes import STAGES, advise_indexes
from dbtune.advise.measure import is_write, measure_whatif
from dbtune.advise.need import Need, TableInfo
from dbtune.advise.needs import class_shares
from dbtune.advise.run import Advising
from dbtune.advise.tables import OVER_SLOWDOWN, TableState
from dbtune.advise.whatif import ReadMeasure
from dbtune.advise.writecost import WRITE_FACTOR, Write
from dbtune.catalog import Catalog
from dbtune.report.document import render
from dbtune.sandbox import NotDisposableError

ROWS = 20_000
#: the batch purge: the oldest sessions have expired (ids and expiry times grow together)
PURGE = "DELETE FROM s WHERE expires_at < '2026-01-05' LIMIT 1000"
LOOKUP = "SELECT id, expires_at FROM s WHERE user_id = 77"


@pytest.fixture
def sessions(dbtune_server, dbtune_database) -> Catalog:
    """Table s (20,000 sessions, user_id random over 2,000 users, the first ~8,000 expired)
    and its live catalog."""
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE s (id INT AUTO_INCREMENT PRIMARY KEY, token CHAR(32) NOT "
                       "NULL, user_id INT NOT NULL, expires_at DATETIME NOT NULL, "
                       "pad VARCHAR(100) NOT NULL DEFAULT '') ENGINE=InnoDB")
        cursor.execute("INSERT INTO s (token, user_id, expires_at, pad) SELECT MD5(seq), "
                       "(seq * 7919) % 2000, '2026-01-01' + INTERVAL seq * 43 SECOND, "
                       f"REPEAT('x', 80) FROM seq_1_to_{ROWS}")
        cursor.execute("ANALYZE TABLE s PERSISTENT FOR ALL")
        cursor.fetchall()
        return Catalog.from_server(connection, dbtune_database)


def workload(database: str | None, lookup_share: float, purge_share: float = 0.3
             ) -> list[Klass]:
    return [Klass("lookup", LOOKUP, lookup_share, sample_db=database),
            Klass("purge", PURGE, purge_share, sample_db=database)]


def state_of(server, database: str) -> tuple[set, int]:
    """(secondary indexes on s, rows of s): what a measurement must leave as it was."""
    with server.connect(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT index_name FROM information_schema.statistics WHERE "
                       "table_schema = %s AND index_name <> 'PRIMARY'", (database,))
        indexes = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT COUNT(*) FROM s")
        return indexes, cursor.fetchone()[0]


@pytest.mark.server
def test_a_batch_delete_measured_dearer_than_the_read_gain_is_not_chosen(
        dbtune_server, dbtune_database, sessions) -> None:
    """Offline, the constant prices the purge's upkeep of (user_id) at 10% of its writing
    time and the index is advised; measured (a 1,000-row DELETE maintaining one more
    index), it costs more than the 3% lookup gains, and is left out."""
    classes = workload(dbtune_database, lookup_share=0.03)
    offline = advise_indexes(classes, sessions)
    (estimated,) = offline.advice
    assert estimated.columns[0] == "user_id" and estimated.write_basis == "estimated"
    measured = advise_indexes(classes, sessions, verify_on=dbtune_server)
    assert [a.columns for a in measured.advice] == []
    note = next(n for n in measured.measured if n.startswith("s:"))
    assert "purge" in note and "upkeep" in note
    assert state_of(dbtune_server, dbtune_database) == (set(), ROWS)


@pytest.mark.server
def test_an_index_on_a_write_heavy_table_gets_a_measured_cost_and_both_sides_shown(
        dbtune_server, dbtune_database, sessions) -> None:
    """A lookup worth 85% of the time pays for the purge's upkeep (10% of the time; about
    +100% per index measured, +200% on a busy machine): the index is advised,
    its write cost measured (> 0, the purge named with its measured slowdown per
    statement), its benefit measured by ANALYZE, and the report shows both sides."""
    classes = workload(dbtune_database, lookup_share=0.85, purge_share=0.1)
    plan = advise_indexes(classes, sessions, verify_on=dbtune_server)
    (advice,) = plan.advice
    assert advice.columns[0] == "user_id" and advice.verified
    assert advice.write_basis == "measured" and advice.write_cost > 0
    assert advice.write_slowdown["purge"] > 0
    assert advice.benefit_basis == "measured"
    (effect,) = advice.classes
    before, after = effect.measured_ms
    assert after < before and effect.measured()["ms_after"] == after
    assert "read gain" in advice.reason and "(measured)" in advice.reason
    assert "write cost" in advice.reason and "purge +" in advice.reason
    text = render(plan, "markdown")
    assert "Measured on the server (what-if)" in text and " measured |" in text
    document = plan.to_document()
    assert document["advice"][0]["write_basis"] == "measured" and document["measured"]
    details = plan.to_advice()[0].details
    assert details["benefit_basis"] == "measured" and details["write_slowdown"]["purge"] > 0
    # the measured slowdown caps the plan when asked: no write class past 1.05x
    assert advise_indexes(classes, sessions, verify_on=dbtune_server,
                          max_slowdown=1.05).advice == []
    assert state_of(dbtune_server, dbtune_database) == (set(), ROWS)


@pytest.mark.server
def test_a_large_table_is_measured_on_a_sampled_copy(dbtune_server, dbtune_database, sessions,
                                                     monkeypatch) -> None:
    """Over SAMPLE_ROWS rows (5,000 here), the writes are timed on a copy of the newest rows:
    the INSERT is measured there; the purge of the oldest sessions meets none of the copy's
    rows, so it stays estimated (a write that changes nothing measures no upkeep); the reads
    keep their estimates; the copy is dropped."""
    from dbtune.advise import measure

    monkeypatch.setattr(measure, "SAMPLE_ROWS", 5_000)
    insert = Klass("insert", "INSERT INTO s (token, user_id, expires_at) VALUES "
                   "('t', 1, '2027-01-01')", 0.05, sample_db=dbtune_database)
    classes = [*workload(dbtune_database, lookup_share=0.85, purge_share=0.05), insert]
    plan = advise_indexes(classes, sessions, verify_on=dbtune_server)
    (advice,) = plan.advice
    assert advice.write_basis == "partly measured" and list(advice.write_slowdown) == ["insert"]
    assert advice.benefit_basis == "estimated"
    note = next(n for n in plan.measured if n.startswith("s:"))
    assert "on a copy of 5,000 of its" in note and "insert" in note and "purge" not in note
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW TABLES")
        assert [row[0] for row in cursor.fetchall()] == ["s"]
    assert state_of(dbtune_server, dbtune_database) == (set(), ROWS)


def test_offline_advice_is_labelled_estimated() -> None:
    catalog = Catalog.from_ddl("CREATE TABLE s (id INT PRIMARY KEY, token CHAR(32), "
                               "user_id INT, expires_at DATETIME)", rows={"s": 500_000})
    plan = advise_indexes(workload(None, lookup_share=0.6), catalog)
    (advice,) = plan.advice
    assert advice.benefit_basis == "estimated" and advice.write_basis == "estimated"
    assert advice.write_slowdown == {} and plan.measured == []
    assert "(estimated)" in advice.reason and "write cost" in advice.reason
    note = next(n for n in plan.assumptions if n.startswith("writes: estimated"))
    assert f"{WRITE_FACTOR:.0%}" in note and "offline estimate" in note
    assert " estimated |" in render(plan, "markdown")
    assert plan.rows()[0]["benefit_basis"] == "estimated"


@pytest.mark.server
def test_nothing_is_written_to_a_server_not_marked_disposable(
        dbtune_server, dbtune_database, sessions) -> None:
    kept = replace(dbtune_server, disposable=False)
    classes = workload(dbtune_database, lookup_share=0.6)
    with pytest.raises(NotDisposableError):
        advise_indexes(classes, sessions, verify_on=kept)
    # the measuring stage itself refuses, before any index is built or write replayed
    run = Advising(classes=classes, shares=class_shares(classes), catalog=sessions)
    for stage in STAGES[:STAGES.index(measure_whatif)]:
        stage(run)
    assert run.tables and any(s.candidates for s in run.tables.values())
    run.server = kept
    with pytest.raises(NotDisposableError, match="what-if"):
        measure_whatif(run)
    assert all(not s.measured and all(w.per_index is None for w in s.writes)
               for s in run.tables.values())
    assert state_of(dbtune_server, dbtune_database) == (set(), ROWS)


def test_a_write_class_past_the_slowdown_cap_makes_the_index_unaffordable() -> None:
    info = TableInfo("t", rows=1e5, ndv={"a": 1e4, "b": 1e4}, pk=("id",))
    state = TableState(info, [Need("q", "t", eq=("a",), weight=0.5)],
                       writes=[Write("purge", 0.001, None, per_index=0.8, class_share=0.002)])
    assert state.write_cost(("a",)) == pytest.approx(0.0016)
    state.max_slowdown = 2.0
    assert state.write_cost(("a",)) == pytest.approx(0.0016)  # 1.8x: under the cap
    state.chosen.append(("b",))
    assert state.write_cost(("a",)) > OVER_SLOWDOWN  # 2.6x with (b): over it
    assert state.write_cost(("b", "c")) < OVER_SLOWDOWN  # widening (b) adds no index
    assert state.write_basis(("a",)) == "measured"


def test_a_measured_read_replaces_the_estimate_where_they_disagree() -> None:
    info = TableInfo("t", rows=1e5, ndv={"a": 1e4}, pk=("id",))
    need = Need("q", "t", eq=("a",), weight=0.5)
    state = TableState(info, [need])
    modelled = state.estimate(need, ("a",)).cost
    today = state.baseline(need)[0].cost
    # the optimizer did not take it: measured, no gain, whatever the model says
    state.record("q", ("a",), ReadMeasure(50.0, 49.0, None, used=False))
    assert state.estimate(need, ("a",)).cost == pytest.approx(today)
    # taken and about as good as modelled: the model's finer figure stays
    state.record("q", ("a",), ReadMeasure(50.0, 0.5, 10.0, used=True))
    assert state.estimate(need, ("a",)).cost == pytest.approx(modelled)
    assert state.estimate(need, ("a",)).rows == 10.0
    # another candidate for the class measured far from its model: the class's candidates
    # are all compared on their measured ratios, never half on each scale
    state.record("q", ("a", "b"), ReadMeasure(50.0, 45.0, None, used=True))
    assert state.estimate(need, ("a", "b")).cost == pytest.approx(today * 0.9)
    assert state.estimate(need, ("a",)).cost == pytest.approx(today * 0.01)


def test_only_single_write_statements_are_replayed() -> None:
    assert is_write(PURGE) and is_write("INSERT INTO s (a) VALUES (1) ON DUPLICATE KEY "
                                        "UPDATE a = 2")
    assert not is_write(LOOKUP) and not is_write("DROP TABLE s")


@pytest.mark.server
def test_each_candidate_gets_its_own_measured_upkeep(dbtune_server, dbtune_database,
                                                     sessions) -> None:
    """The purge maintains every candidate: each is built alone and gets its own figure,
    which prices it (not one average per table); an UPDATE that sets none of a candidate's
    columns is not charged for it."""
    touch = Klass("touch", "UPDATE s SET pad = 'y' WHERE id = 5", 0.05,
                  sample_db=dbtune_database)
    classes = [*workload(dbtune_database, lookup_share=0.6, purge_share=0.05), touch]
    run = Advising(classes=classes, shares=class_shares(classes), catalog=sessions,
                   server=dbtune_server)
    for stage in STAGES[:STAGES.index(measure_whatif) + 1]:
        stage(run)
    (state,) = run.tables.values()
    purge = next(w for w in state.writes if w.class_id == "purge")
    touch_write = next(w for w in state.writes if w.class_id == "touch")
    built = [c for c, _ in purge.upkeep]
    assert len(built) >= 2 and len(set(built)) == len(built)
    assert all(u >= 0 for _, u in purge.upkeep)
    for columns, upkeep in purge.upkeep:
        assert purge.upkeep_of(columns) == upkeep
        assert purge.cost_of(columns) == pytest.approx(purge.class_share * upkeep)
    assert touch_write.upkeep == ()  # it sets pad, which no candidate holds
    assert touch_write.cost_of(built[0]) == pytest.approx(touch_write.share * WRITE_FACTOR)
    note = next(n for n in run.measure_notes if n.startswith("s:"))
    assert all("+".join(c) in note for c in built)
    assert state_of(dbtune_server, dbtune_database) == (set(), ROWS)


@pytest.mark.server
def test_an_index_serving_a_deletes_where_is_measured_as_a_gain(dbtune_server,
                                                               dbtune_database) -> None:
    """Here the expired rows are the highest ids: the purge's primary-key scan walks the
    whole table before it finds them. (expires_at) is measured on the purge itself (its
    read part) as a gain, though the model sees none, and is advised for it."""
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE q (id INT AUTO_INCREMENT PRIMARY KEY, expires_at "
                       "DATETIME NOT NULL, pad VARCHAR(200) NOT NULL) ENGINE=InnoDB")
        cursor.execute("INSERT INTO q (expires_at, pad) SELECT '2026-12-01' - INTERVAL seq "
                       f"MINUTE, REPEAT('p', 150) FROM seq_1_to_{ROWS * 2}")
        cursor.execute("ANALYZE TABLE q PERSISTENT FOR ALL")
        cursor.fetchall()
        catalog = Catalog.from_server(connection, dbtune_database)
    purge = "DELETE FROM q WHERE expires_at < '2026-11-05' LIMIT 100"
    classes = [Klass("purge", purge, 0.5, sample_db=dbtune_database),
               Klass("page", "SELECT pad FROM q WHERE id = 7", 0.5, sample_db=dbtune_database)]
    plan = advise_indexes(classes, catalog, verify_on=dbtune_server)
    (advice,) = plan.advice
    assert advice.columns == ("expires_at",) and advice.benefit_basis == "measured"
    (effect,) = advice.classes
    before, after = effect.measured_ms
    assert effect.class_id == "purge" and after < before / 2
    note = next(n for n in plan.measured if n.startswith("q:"))
    assert "reading its WHERE through expires_at saves" in note
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM q")
        assert cursor.fetchone()[0] == ROWS * 2


@pytest.mark.server
def test_the_time_budget_is_checked_within_a_table(dbtune_server, dbtune_database, sessions,
                                                   monkeypatch) -> None:
    """One table whose read takes longer than the whole budget (a 1.5 s SLEEP in it): the
    table is started (within budget), but no candidate is reached after its reads' bare
    timing - the note names them and their estimates stay - instead of one large table
    overrunning the stage's budget by its every candidate."""
    from dbtune.advise import measure

    monkeypatch.setattr(measure, "TIME_BUDGET", 1.0)
    slow = Klass("slow", "SELECT id, expires_at FROM s WHERE user_id = 77 AND "
                 "(SELECT SLEEP(1.5)) = 0", 0.7, sample_db=dbtune_database)
    classes = [slow, *workload(dbtune_database, lookup_share=0.2, purge_share=0.1)[:1]]
    started = time.monotonic()
    plan = advise_indexes(classes, sessions, verify_on=dbtune_server,
                          stages=[s for s in STAGES if s.__name__ not in ("guard", "repair")])
    note = next(n for n in plan.measured if n.startswith("s:"))
    assert "time budget (1 s) was spent before: reads with user_id" in note, note
    assert all(a.benefit_basis == "estimated" for a in plan.advice)
    assert time.monotonic() - started < 30
    assert state_of(dbtune_server, dbtune_database) == (set(), ROWS)
