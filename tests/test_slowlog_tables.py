"""The tables of a class's sample without sqlglot (plain statements) equal sqlglot's.

``dbtune.parsing.tables_in`` reads plain statements itself so that a slow-log report
need not import sqlglot (0.1-0.25 s of every run); these tests hold that reading to
sqlglot's on every fixture, the shared real logs and statements written to trip it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlglot import exp

from dbtune.ingest.slowlog import read_events
from dbtune.parsing import _TABLE_REF, parse_statement, plain_tables

ROOT = Path(__file__).resolve().parent.parent
LOGS = sorted((ROOT / "fixtures" / "slowlogs").glob("*.log")) + sorted(
    Path("/work/shared/slowlogs").glob("*/*.log"))

TRICKY = [
    "SELECT 1", "SELECT NOW()", "select a from t", "SELECT * FROM t1, t2 WHERE t1.id = t2.id",
    "SELECT * FROM a JOIN b ON a.x = b.x LEFT JOIN c ON (c.y = b.y AND c.z IN (1,2)) WHERE 1",
    "SELECT * FROM a INNER JOIN b ON a.x = b.x, c", "SELECT * FROM a CROSS JOIN b",
    "SELECT * FROM a LEFT OUTER JOIN b ON a.i=b.i RIGHT JOIN c ON c.i = a.i",
    "SELECT EXTRACT(YEAR FROM d) FROM t", "SELECT TRIM(LEADING 'x' FROM y) FROM `db`.`t` AS z",
    "SELECT * FROM t WHERE s = 'from x join y'", 'SELECT * FROM t WHERE s = "a \\" from b"',
    "SELECT * FROM `order` o", "SELECT * FROM orders AS o WHERE o.id = 1 ORDER BY o.id LIMIT 5",
    "SELECT * FROM t GROUP BY a HAVING count(*) > 1", "SELECT COUNT(*) FROM shop.orders",
    "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", "INSERT IGNORE INTO db.t (a) VALUES (1)",
    "INSERT INTO t VALUES (1)", "INSERT INTO t (a) SELECT a FROM u", "INSERT INTO t SET a = 1",
    "UPDATE t SET a = 1 WHERE id = 2", "UPDATE t SET a = (SELECT 1) WHERE id = 2",
    "UPDATE `db`.`t` SET a = a + 1 ORDER BY id LIMIT 3", "UPDATE t JOIN u ON t.i=u.i SET t.a=1",
    "DELETE FROM t WHERE id = 3", "DELETE FROM t", "DELETE t FROM t JOIN u ON t.i = u.i",
    "SELECT * FROM t1 a, t2 b, t1 c", "SELECT a.* FROM a JOIN a ON 1=1",
    "SELECT * FROM t USE INDEX (i) WHERE a = 1", "SELECT * FROM t FORCE INDEX (PRIMARY)",
    "select * from t where a in (select b from u)", "SELECT * FROM (SELECT 1) x",
    "SELECT * FROM t WHERE a = ?", "SELECT @@version", "SELECT * FROM t LIMIT 10, 5",
    "SELECT * FROM t\nWHERE a = 1\n", "  SELECT * FROM t  ",
    "SELECT * FROM t WHERE a = 'it''s' AND b = 'x\\'y'", "SELECT DISTINCT a FROM t",
    "SELECT CASE WHEN a THEN b ELSE c END FROM t", "SELECT * FROM t1 JOIN t2",
    "SELECT * FROM t1 JOIN t2 ON t1.a = t2.a JOIN t3 ON t3.b = t2.b WHERE t3.c = 'q'",
    "SELECT count(*) AS n FROM t WHERE created_at >= '2024-01-01' - INTERVAL 1 DAY",
    "SELECT * FROM t WHERE x = 1 FOR UPDATE", "SELECT * FROM t1 NATURAL JOIN t2",
    "SELECT * FROM t1 STRAIGHT_JOIN t2", "SELECT * FROM db.t1 JOIN db2.t2 USING (id)",
    "SELECT * FROM a, b JOIN c ON b.x = c.x", "SELECT a FROM t UNION SELECT a FROM u",
    "SELECT t.a FROM t WHERE t.b IN ('from', 'join')", "SELECT * FROM `from`",
    "SELECT * FROM t1 AS `a` JOIN t2 `b` ON `a`.x=`b`.x", "SELECT * FROM `my-table`",
    "SELECT * FROM t WHERE `select` = 1", "SELECT * FROM t AS", "SELECT * FROM",
    "SELECT * FROM t JOIN ON", "SELECT * FROM t1,", "SELECT * FROM t WHERE a = (1",
    "SELECT * FROM t1 JOIN t2 ON (t1.a = t2.a", "SELECT 1 FROM DUAL",
    "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = 2",
    "SELECT * FROM t1 JOIN t2 ON t1.a = t2.a, t3", "SELECT * FROM Orders o",
    "SELECT * FROM t WHERE a -- c\n= 1", "SELECT * FROM t /* c */", "SELECT * FROM t # c",
    "UPDATE t SET a = 'from x' WHERE b = 'join'", "DELETE FROM db.t WHERE 1",
    "SELECT x FROM t WHERE y = 1 AND z = 'a)b' ", "select * from t where a = 1;",
    "SELECT * FROM t1 x JOIN t2 y ON x.a = y.a, t3 z", "administrator command: Quit",
    "administrator command: Table Dump", "/* No query */", "commit", "START TRANSACTION",
    "SET NAMES utf8mb4", "SET NAMES utf8mb4 COLLATE utf8mb4_bin", "call p(1)",
]


def sqlglot_tables(sql: str) -> list[str]:
    """tables_in as sqlglot alone gives it (the reading before plain statements)."""
    tree = parse_statement(sql)
    if tree is None:
        return list(dict.fromkeys(m.group(1).replace("`", "") for m in _TABLE_REF.finditer(sql)))
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    names = [f"{t.db}.{t.name}" if t.db else t.name for t in tree.find_all(exp.Table, bfs=False)
             if t.name and not (not t.db and t.name in ctes)]
    return list(dict.fromkeys(names))


def _statements() -> list[str]:
    found: dict[str, None] = {}
    for path in LOGS:
        for event in read_events(str(path)):
            found.setdefault(event.sql)
    return list(found)


def test_plain_statements_of_every_log_read_as_sqlglot_reads_them() -> None:
    statements = _statements()
    plain = [s for s in statements if plain_tables(s) is not None]
    assert len(plain) > len(statements) // 2  # most statements of real logs are plain
    assert [plain_tables(s) for s in plain] == [sqlglot_tables(s) for s in plain]


@pytest.mark.parametrize("sql", TRICKY)
def test_plain_reading_agrees_with_sqlglot_or_declines(sql: str) -> None:
    got = plain_tables(sql)
    assert got is None or got == sqlglot_tables(sql)


def test_plain_reading_declines_what_it_cannot_read() -> None:
    for sql in ("SELECT * FROM (SELECT 1) x", "INSERT INTO t (a) SELECT a FROM u",
                "SELECT * FROM t WHERE s = 'x' UNION SELECT * FROM u", "SELECT * FROM t /* c */",
                "UPDATE t JOIN u ON t.i = u.i SET t.a = 1"):
        assert plain_tables(sql) is None
    assert plain_tables("SELECT * FROM d, a JOIN b ON a.x = b.x JOIN c t ON t.y = b.y") == [
        "d", "a", "b", "c"]


def test_slowlog_json_report_of_plain_statements_imports_neither_sqlglot_nor_pandas() -> None:
    log = ROOT / "fixtures" / "slowlogs" / "mariadb-10.3.13.log"
    code = (
        "import contextlib, io, sys\n"
        "from dbtune.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        f"    main(['analyze', 'slowlog', {str(log)!r}, '--format', 'json', '--top', '0'])\n"
        "print(sorted(m for m in ('sqlglot', 'pandas') if m in sys.modules))\n"
        "sys.stderr.write(out.getvalue())\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "[]"
    report = json.loads(proc.stderr)
    assert report["classes"] and all(c["tables"] for c in report["classes"])
