"""CPU microseconds per statement for dbtune.fingerprint and pt-fingerprint on the same input.

    python benchmarks/fingerprint_speed.py [--statements 20000] [--block 5000] [--seed 1]

The mix is typical marketplace OLTP: point lookups, IN lists, multi-row inserts,
updates, deletes, pagination, a few comments and UNIONs. Every statement is distinct
(fresh literals), so the memo of exact repeats does not help ``fingerprint_many``
except where noted.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dbtune import fingerprint as fp_module
from dbtune.fingerprint import fingerprint, fingerprint_many


def oltp_mix(n: int, seed: int) -> list[str]:
    """``n`` distinct OLTP statements (every literal random, so no exact repeats)."""
    rng = random.Random(seed)
    ri = rng.randint

    def ids(k: int) -> str:
        return ", ".join(str(ri(1, 10**7)) for _ in range(k))

    templates = [
        lambda: f"SELECT id, sku, price, qty FROM listings WHERE id = {ri(1, 10**7)}",
        lambda: f"SELECT * FROM users WHERE email = 'user{ri(1, 10**6)}@example.com' LIMIT 1",
        lambda: (
            f"SELECT id, status FROM orders WHERE user_id = {ri(1, 10**6)} "
            f"ORDER BY created_at DESC LIMIT {ri(0, 200)}, 20"
        ),
        lambda: (
            f"SELECT l.id, l.price FROM listings l WHERE l.seller_id = {ri(1, 9999)} "
            f"AND l.channel IN ('EBAY', 'AMAZON') AND l.id IN ({ids(ri(2, 25))})"
        ),
        lambda: (
            "INSERT INTO audit_log (user_id, action, created_at) VALUES "
            + ", ".join(f"({ri(1, 10**6)}, 'view', NOW())" for _ in range(ri(1, 6)))
        ),
        lambda: (
            f"UPDATE listings SET price = {ri(1, 9999)}.{ri(0, 99):02d}, "
            f"updated_at = NOW() WHERE id = {ri(1, 10**7)}"
        ),
        lambda: (
            f"UPDATE sessions SET data = 'k{ri(1, 10**9)}', expires_at = "
            f"'2026-11-{ri(10, 28)} 10:00:00' WHERE id = 'sess{ri(1, 10**9):x}'"
        ),
        lambda: f"DELETE FROM sessions WHERE expires_at < '2026-11-{ri(10, 28)}' LIMIT 1000",
        lambda: (
            f"/* svc:orders */ SELECT o.id, i.sku FROM orders o JOIN order_items i "
            f"ON i.order_id = o.id WHERE o.id = {ri(1, 10**7)} AND o.status IS NOT NULL"
        ),
        lambda: f"SELECT COUNT(*) FROM listings WHERE seller_id = {ri(1, 9999)} AND active = 1",
        lambda: (
            f"SELECT sku FROM listings WHERE channel = 'EBAY' AND seller_id = {ri(1, 99)} "
            f"UNION ALL SELECT sku FROM listings WHERE channel = 'EBAY' AND seller_id = {ri(1, 9)}"
        ),
        lambda: (
            f"SELECT * FROM products\n  WHERE title LIKE '%mug {ri(1, 999)}%'\n"
            f"  ORDER BY price ASC\n  LIMIT {ri(1, 50)}"
        ),
    ]
    weights = [20, 12, 10, 10, 8, 10, 6, 4, 6, 6, 2, 6]
    return [rng.choices(templates, weights)[0]() for _ in range(n)]


def per_statement_us(run: Callable[[], object], n: int, *, cold: bool, repeat: int = 3) -> float:
    """Best of ``repeat`` calls of ``run``, in CPU microseconds per statement.

    ``cold`` empties fingerprint_many's memo of exact repeats before each call.
    """
    best = float("inf")
    for _ in range(repeat):
        if cold:
            fp_module._MEMO.clear()
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best / n * 1e6


def pt_fingerprint_us(sqls: list[str]) -> float | None:
    """pt-fingerprint's CPU time on the same statements (one run, start-up included)."""
    tool = shutil.which("pt-fingerprint")
    if tool is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "statements.sql"
        path.write_text("".join(s + ";\n" for s in sqls))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([tool, str(path)], check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return cpu / len(sqls) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=20000)
    parser.add_argument("--block", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sqls = oltp_mix(args.statements, args.seed)
    blocks = [sqls[i : i + args.block] for i in range(0, len(sqls), args.block)]
    fp_module._MEMO.clear()
    assert [f for b in blocks for f in fingerprint_many(b)] == [fingerprint(s) for s in sqls]

    def one_by_one() -> None:
        for sql in sqls:
            fingerprint(sql)

    def in_blocks() -> None:
        for block in blocks:
            fingerprint_many(block)

    n = len(sqls)
    avg = sum(map(len, sqls)) / n
    rows = [
        ("fingerprint(sql), one by one", per_statement_us(one_by_one, n, cold=True)),
        (f"fingerprint_many, blocks of {args.block}", per_statement_us(in_blocks, n, cold=True)),
        ("fingerprint_many, all seen before", per_statement_us(in_blocks, n, cold=False)),
        ("pt-fingerprint, one run", pt_fingerprint_us(sqls)),
    ]
    print(f"{n} distinct OLTP statements, {avg:.0f} characters on average")
    for label, us in rows:
        print(f"{label:<36} " + ("absent" if us is None else f"{us:7.2f} us/statement"))


if __name__ == "__main__":
    main()
