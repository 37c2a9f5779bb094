"""The marketplace proof: slow log of a replay -> advice (measured, verified, guarded) ->
applied -> the same replay faster. The per-class guard keeps the batch DELETE of expired
sessions within 2x in server time, which may cost the token index: then the DELETE is
named, and the replay must still be twice as fast. On a shared machine the measured
what-if and verification read noisy times, so this judges what noise cannot fake (the
expert's clear wins found, nothing unverified applied, the replay at least twice as fast)
and says which part failed."""

from __future__ import annotations

import pytest
from test_advise_indexes import load_analyzed_marketplace

from dbtune.advise.indexes import advise_indexes

#: what a DBA writes by hand for the marketplace workload (docs/advise-indexes.md): table ->
#: the leading columns as a set (equality columns may come in either order)
EXPERT = [("user_sessions", {"token"}), ("audit_log", {"entity_type", "entity_id"}),
          ("orders", {"customer_id", "created_at"}),
          ("marketplace_listings", {"marketplace", "sku"}),
          ("marketplace_listings", {"marketplace", "updated_at"}), ("order_items", {"order_id"})]
#: of the expert's indexes, this many must be advised: each saves a large share of the time
#: but ``(marketplace, updated_at)``'s measured gain sits near the others' at scale 0.1, and
#: on a loaded machine the what-if's times can rank a neighbour above it
EXPERT_FOUND = len(EXPERT) - 1


def found(plan, table: str, lead: set[str]) -> bool:
    return any(a.table == table and set(a.columns[: len(lead)]) == lead for a in plan.advice)


@pytest.mark.server
@pytest.mark.slow
def test_marketplace_proof(dbtune_server, dbtune_database) -> None:
    """Slow log of a replay -> advice (verified) -> applied -> the same replay is faster."""
    from dbtune.bench.story import ADVISE_BUDGET
    from dbtune.digest import digest_slowlog
    from dbtune.workload.runner import run_workload
    from dbtune.workload.spec import marketplace_spec

    scale = 0.1
    cat = load_analyzed_marketplace(dbtune_server, dbtune_database, scale)

    def replay():
        return run_workload(dbtune_server, marketplace_spec(scale), count=1500, concurrency=2,
                            seed=5, database=dbtune_database)

    before = replay()
    digest = digest_slowlog(dbtune_server.slow_log_path, database=dbtune_database)
    # the expert-sized budget the bench uses: with 10/3 the last places go by measured
    # shares, which move with the machine's load at this small scale
    plan = advise_indexes(digest, cat, verify_on=dbtune_server, **ADVISE_BUDGET)
    assert all(a.verified for a in plan.advice), [a.name for a in plan.advice if not a.verified]
    # an expert's index the per-class guard left out for a write class it makes more than
    # 2x slower (in server time every token index does that to the batch DELETE of expired
    # sessions: each of its 1,000 rows is delete-marked at a random place) is excused, and
    # the DELETE must be the class named
    excused = [(t, lead) for t, lead in EXPERT if not found(plan, t, lead) and any(
        a.table == t and set(a.columns[: len(lead)]) == lead and "the write" in why
        for a, why in plan.rejected)]
    if ("user_sessions", {"token"}) in excused:
        assert any("DELETE FROM user_sessions WHERE expires_at" in why
                   for _, why in plan.rejected), plan.rejected
    else:  # the session token, the heaviest class's index, is never the one noise may cost
        assert found(plan, "user_sessions", {"token"})
    expected = [e for e in EXPERT if e not in excused]
    missing = [(t, sorted(lead)) for t, lead in expected if not found(plan, t, lead)]
    assert len(expected) - len(missing) >= len(expected) - (len(EXPERT) - EXPERT_FOUND), missing
    # otherwise an expert's index leaves the plan only for a variant on the same leading
    # columns (the selection's next best after the guard dropped a wider one)
    rejected_expert = [(a.name, why) for a, why in plan.rejected
                       if any(a.table == t and set(a.columns[: len(lead)]) == lead
                              and not found(plan, t, lead) for t, lead in expected)]
    assert not rejected_expert, rejected_expert
    with dbtune_server.connect(dbtune_database) as connection, connection.cursor() as cursor:
        for statement in plan.statements():
            cursor.execute(statement)
    after = replay()
    assert after.mean_ms < before.mean_ms / 2, (before.mean_ms, after.mean_ms)
