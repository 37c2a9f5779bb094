"""dbtune.fingerprint against the real percona-toolkit.

Two references: pt-query-digest's own ``QueryRewriter::fingerprint`` (loaded from
/usr/bin/pt-query-digest by a few lines of Perl, fed raw statements) is the one being
ported; ``pt-fingerprint`` is the command-line tool, which differs in two known ways
(see ``_pt_fingerprint_reads_unchanged``).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbtune.fingerprint import class_id, fingerprint, fingerprint_many

SLOWLOGS = Path(__file__).resolve().parent.parent / "fixtures" / "slowlogs"
PT_QUERY_DIGEST = shutil.which("pt-query-digest")
PT_FINGERPRINT = shutil.which("pt-fingerprint")
needs_pqd = pytest.mark.skipif(
    PT_QUERY_DIGEST is None, reason="pt-query-digest (percona-toolkit) is not installed"
)
needs_ptf = pytest.mark.skipif(
    PT_FINGERPRINT is None, reason="pt-fingerprint (percona-toolkit) is not installed"
)

# Reads NUL-separated statements as bytes, prints their fingerprints NUL-separated.
_QUERY_REWRITER = r"""
require $ARGV[0];
my $qr = QueryRewriter->new();
my @q; { local $/ = "\0"; @q = <STDIN>; chomp @q; }
print $qr->fingerprint($_), "\0" for @q;
"""


def pqd_fingerprints(sqls: list[str]) -> list[str]:
    """Fingerprints from pt-query-digest's QueryRewriter, one Perl run for all."""
    data = b"".join(s.encode("utf-8", "surrogateescape") + b"\0" for s in sqls)
    out = subprocess.run(
        ["perl", "-e", _QUERY_REWRITER, PT_QUERY_DIGEST],
        input=data,
        capture_output=True,
        check=True,
    ).stdout
    return [f.decode("utf-8", "surrogateescape") for f in out.split(b"\0")[:-1]]


def pt_fingerprint(sqls: list[str], tmp_path: Path) -> list[str]:
    """Fingerprints from the pt-fingerprint tool: one file, statements ended by ';\\n'."""
    path = tmp_path / "statements.sql"
    path.write_bytes(b"".join(s.encode("utf-8", "surrogateescape") + b";\n" for s in sqls))
    out = subprocess.run([PT_FINGERPRINT, str(path)], capture_output=True, check=True).stdout
    return out.decode("utf-8", "surrogateescape").split("\n")[:-1]


def _pt_fingerprint_reads_unchanged(sql: str) -> bool:
    """Whether pt-fingerprint 3.2.1 fingerprints ``sql`` as pt-query-digest does.

    Its file reader splits on ';\\n', blanks lines that start with '#', skips records not
    starting with a word character, and runs fingerprint() with $/ = ';\\n', so a
    trailing newline is not chomped. Its QueryRewriter has no true/false rule.
    """
    return (
        re.match(r"\w", sql, re.ASCII) is not None
        and ";\n" not in sql
        and not sql.endswith("\n")
        and re.search(r"^#.", sql, re.MULTILINE) is None
        and re.search(r"\b(?:true|false)\b", sql, re.ASCII | re.IGNORECASE) is None
        and not (sql.startswith("administrator command: ") and "\n" in sql)
    )


# (statement, pt-query-digest 3.2.1 fingerprint); each row checked against the tool below.
CASES = [
    # mysqldump, percona-toolkit, administrator commands
    ("SELECT /*!40001 SQL_NO_CACHE */ * FROM `orders`", "mysqldump"),
    (
        "select /*!40001 SQL_NO_CACHE */ * FROM `orders`",
        "select /*!? sql_no_cache */ * from `orders`",
    ),
    ("REPLACE INTO `db`.`t` SELECT /*checksum_tbl.t:1/3*/ COUNT(*) FROM t", "percona-toolkit"),
    ("administrator command: Quit", "administrator command: Quit"),
    ("administrator command: Init DB\n", "administrator command: Init DB\n"),
    # CALL: lower-cased name up to the last '(' of the first word, arguments dropped
    ("CALL Load_Stats(1, '2017-04-28 00:00:00')", "call load_stats"),
    ("  call   db.Proc(f(1))", "call   db.proc(f"),
    ("CALL proc", "call proc"),
    # multi-row INSERT/REPLACE shortened to the first row
    (
        "INSERT INTO orders (id, sku) VALUES (1, 'a'), (2, 'b'), (3, 'c')",
        "insert into orders (id, sku) values(?+)",
    ),
    (
        "insert ignore into t values (1),(2) ON DUPLICATE KEY UPDATE a=VALUES(a)",
        "insert ignore into t values(?+)",
    ),
    ("INSERT INTO t VALUES (1, 'a,(b'), (2, 'c')", "insert into t values(?+)"),
    ("REPLACE INTO t (a) VALUES ('x')", "replace into t (a) values(?+)"),
    ("INSERT INTO t (a, b) VALUE (1, 2)", "insert into t (a, b) value(?+)"),
    (
        "INSERT INTO t SELECT * FROM u WHERE id IN (1,2)",
        "insert into t select * from u where id in(?+)",
    ),
    # comments
    ("SELECT a /* the a */ FROM t", "select a from t"),
    ("SELECT /*+ BKA(t) */ a FROM t -- trailing\nWHERE b = 1", "select a from t where b = ?"),
    ("SELECT a FROM t # hash comment\nWHERE b = 1", "select a from t where b = ?"),
    ("SELECT /*!50000 STRAIGHT_JOIN */ a FROM t", "select /*!? straight_join */ a from t"),
    ("SELECT a FROM t WHERE b = '--not a comment'", "select a from t where b = ?"),
    ("SELECT a -- it's\nFROM t", "select a ? it's from t"),
    ("SELECT a FROM t WHERE a = 1 -- c", "select a from t where a = ? "),
    ("/* app:checkout */ SELECT 1", "select ?"),
    ("SELECT a FROM t /* multi\nline */ WHERE c = 2", "select a from t where c = ?"),
    # use
    ("use marketplace", "use ?"),
    ("USE `marketplace`\n", "use ?\n"),
    ("/* x */use db", "use ?"),
    ("use db; select 1", "use db; select ?"),
    # quoted strings
    ("SELECT * FROM t WHERE name = 'O\\'Brien'", "select * from t where name = ?"),
    ('SELECT * FROM t WHERE name = "say \\"hi\\""', "select * from t where name = ?"),
    (
        "SELECT * FROM t WHERE a = 'x' AND b = \"y\" AND c = ''",
        "select * from t where a = ? and b = ? and c = ?",
    ),
    ("SELECT * FROM t WHERE a = 'it''s'", "select * from t where a = ??"),
    ("SELECT 'multi\nline' FROM t", "select ? from t"),
    ("SELECT * FROM t WHERE a = 'unterminated", "select * from t where a = 'unterminated"),
    # booleans
    (
        "UPDATE t SET active = TRUE WHERE deleted = false",
        "update t set active = ? where deleted = ?",
    ),
    ("SELECT truest, is_false FROM t", "select truest, is_false from t"),
    # numbers and hex
    (
        "SELECT * FROM t WHERE a = -1 AND b = +2.5 AND c = 1e10",
        "select * from t where a = ? and b = ? and c = ?",
    ),
    ("SELECT 0xDEADbeef, 0x1f, x'1F', b'0101'", "select ?deadbeef, ?, ?, ?"),
    (
        "SELECT * FROM users_2009 JOIN t2 ON t2.id = users_2009.id",
        "select * from users_? join t? on t?id = users_?id",
    ),
    ("SELECT a-1, a - 1, a+-1 FROM t", "select a?, a ? ?, a? from t"),
    ("SELECT * FROM t WHERE a = .5", "select * from t where a = ?"),
    # whitespace and case
    ("  \n\tSELECT   a,\n\t b\r\nFROM   T\n", "select a, b from t"),
    ("SELECT a\x0bFROM t", "select a\x0bfrom t"),
    ("SELECT a FROM t  ", "select a from t "),
    ("SELECT Ä, 'é' FROM Straße WHERE İd = 1", "select Ä, ? from straße where İd = ?"),
    # NULL
    (
        "SELECT * FROM t WHERE a IS NULL OR b IS NOT null OR nullable = 1",
        "select * from t where a is ? or b is not ? or nullable = ?",
    ),
    # IN and VALUES lists
    (
        "SELECT * FROM t WHERE id IN (1, 2, 3) AND x IN ('a','b')",
        "select * from t where id in(?+) and x in(?+)",
    ),
    (
        "SELECT * FROM t WHERE id IN(?, ?) AND y in ( NULL , 1 )",
        "select * from t where id in(?+) and y in(?+)",
    ),
    ("select * from t where a in (1) in (2)", "select * from t where a in(?+) in(?+)"),
    (
        "SELECT * FROM t WHERE id IN (SELECT id FROM u)",
        "select * from t where id in (select id from u)",
    ),
    (
        "SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))",
        "select * from t where (a, b) in ((?, ?), (?, ?))",
    ),
    ("SELECT join(1) FROM t", "select join(?) from t"),
    # UNION
    (
        "SELECT a FROM t WHERE b = 1 UNION SELECT a FROM t WHERE b = 2",
        "select a from t where b = ? /*repeat union*/",
    ),
    (
        "SELECT a FROM t UNION ALL SELECT a FROM t UNION ALL SELECT a FROM t",
        "select a from t /*repeat union all*/",
    ),
    ("SELECT a FROM t UNION SELECT b FROM u", "select a from t union select b from u"),
    ("select 1 union select 1 union select 2 union select 2", "select ? /*repeat union*/"),
    # LIMIT: only the first one is rewritten
    ("SELECT * FROM t LIMIT 10", "select * from t limit ?"),
    ("SELECT * FROM t LIMIT 10, 20", "select * from t limit ?"),
    ("SELECT * FROM t LIMIT 10 OFFSET 20", "select * from t limit ?"),
    (
        "SELECT * FROM (SELECT * FROM t LIMIT 5, 5) x LIMIT 5, 5",
        "select * from (select * from t limit ?) x limit ?, ?",
    ),
    # ORDER BY ... ASC: every \s+ASC after the first ORDER BY, even inside a name
    ("SELECT a FROM t ORDER BY a ASC, b DESC, c asc", "select a from t order by a, b desc, c"),
    ("SELECT a asc FROM t ORDER BY a", "select a asc from t order by a"),
    ("SELECT a FROM t ORDER BY ascii_col", "select a from t order by ascii_col"),
    ("SELECT a FROM t ORDER BY b, ascii_col", "select a from t order by b,ii_col"),
    ("SELECT a FROM t ORDER BY a ASC LIMIT 10", "select a from t order by a limit ?"),
    (
        "SELECT * FROM (SELECT a FROM t ORDER BY a ASC) x ORDER BY b ASC",
        "select * from (select a from t order by a) x order by b",
    ),
    # statements with no special rule
    ("SHOW GLOBAL STATUS LIKE 'wsrep_local_state'", "show global status like ?"),
    ("SET timestamp=1542349556", "set timestamp=?"),
    ("COMMIT", "commit"),
]


def slowlog_statements() -> list[str]:
    """Every statement of the fixture slow logs (header and '#' lines dropped).

    Bytes that are not UTF-8 become lone surrogates, as the slow-log reader decodes them.
    """
    header = re.compile(r"^(?:#|\S+, Version: |Tcp port: |Time\s+Id\s+Command)")
    statements = []
    for path in sorted(SLOWLOGS.glob("*.log")):
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        lines = text.splitlines(keepends=True)
        body = "".join(line for line in lines if not header.match(line))
        statements += [s for s in body.split(";\n") if s.strip()]
    return statements


def marketplace_statements(n: int = 600, seed: int = 7) -> list[str]:
    """Marketplace-like OLTP statements with the literals and shapes fingerprint rewrites."""
    rng = random.Random(seed)

    def num() -> str:
        return rng.choice([str(rng.randint(-500, 10**7)), f"{rng.uniform(-99, 999):.2f}", "0"])

    def text() -> str:
        return rng.choice(
            ["'Blue Mug'", "'O\\'Reilly'", "'it''s'", '"say \\"hi\\""', "'ünïcode'", "'a;b'"]
        )

    def literal() -> str:
        return rng.choice(
            [
                num(),
                f"'{rng.choice(['EBAY', 'TRENDYOL', 'AMAZON', 'x'])}'",
                "NULL",
                f"0x{rng.getrandbits(32):X}",
                f"x'{rng.getrandbits(16):04x}'",
                "TRUE",
                "false",
                "'O\\'Brien'",
                '"q\\"x"',
                "'a''b'",
                "-1",
                "1e5",
                "CURDATE()",
            ]
        )

    def in_list() -> str:
        return ", ".join(literal() for _ in range(rng.randint(1, 30)))

    def ws() -> str:
        return rng.choice([" ", " ", " ", "\n", "\n  ", "\t", "  "])

    def comment() -> str:
        return rng.choice(
            [
                "",
                "",
                "",
                "/* checkout */ ",
                "/*!40001 SQL_NO_CACHE */ ",
                "-- svc=orders\n",
                "# note\n",
                "/* multi\nline */",
            ]
        )

    def order() -> str:
        return rng.choice(
            ["", " ORDER BY created_at DESC", " ORDER BY id ASC", " order by price asc, id desc"]
        )

    def limit() -> str:
        a, b = rng.randint(0, 900), rng.randint(1, 50)
        return rng.choice(["", f" LIMIT {b}", f" LIMIT {a}, {b}", f" limit {b} OFFSET {a}"])

    templates = [
        lambda: (
            f"SELECT id, sku, price FROM listings WHERE seller_id = {num()}{ws()}AND "
            f"channel IN ({in_list()}){order()}{limit()}"
        ),
        lambda: (
            f"{comment()}SELECT * FROM orders o JOIN order_items i ON i.order_id = o.id"
            f"{ws()}WHERE o.status = {literal()} AND o.total > {num()}{order()}{limit()}"
        ),
        lambda: (
            "INSERT INTO audit_log (user_id, action, payload) VALUES "
            + ", ".join(f"({num()}, {literal()}, {literal()})" for _ in range(rng.randint(1, 8)))
        ),
        lambda: (
            f"INSERT IGNORE INTO listings (sku, price) VALUES ({literal()}, {num()}), "
            f"({literal()}, {num()}) ON DUPLICATE KEY UPDATE price = VALUES(price)"
        ),
        lambda: (
            f"REPLACE INTO sessions (id, user_id, data) VALUES ({literal()}, {num()}, {literal()})"
        ),
        lambda: (
            f"UPDATE listings SET price = {num()}, active = {literal()}{ws()}"
            f"WHERE id = {num()} {comment()}"
        ),
        lambda: (
            f"DELETE FROM sessions WHERE expires_at < {literal()} AND user_id IN "
            f"({in_list()}){limit()}"
        ),
        lambda: (
            f"SELECT sku FROM listings WHERE channel = {literal()} UNION ALL "
            f"SELECT sku FROM listings WHERE channel = {literal()}{order()}"
        ),
        lambda: f"select count(*) from users_{rng.randint(2019, 2026)} where email = {text()}",
        lambda: f"CALL sync_amazon_listing({num()}, {literal()})",
        lambda: f"use marketplace_{rng.randint(1, 9)}",
        lambda: (
            f"SELECT * FROM products WHERE title LIKE {text()} AND deleted_at IS NULL"
            f"{order()}{limit()}"
        ),
    ]
    return [rng.choice(templates)() for _ in range(n)]


@pytest.mark.parametrize(("sql", "expected"), CASES)
def test_case(sql: str, expected: str) -> None:
    assert fingerprint(sql) == expected
    assert fingerprint_many([sql, sql]) == [expected, expected]


def test_fingerprint_many_edges() -> None:
    assert fingerprint_many([]) == []
    block = [sql for sql, _ in CASES] + ["SELECT 'a\x00b', 1", "use\x00db", "SELECT 2"]
    expected = [fingerprint(s) for s in block]
    assert expected[-3:] == ["select ?, ?", "use\x00db", "select ?"]
    assert fingerprint_many(block) == expected
    assert fingerprint_many(block[::-1]) == expected[::-1]  # now from the memo


def test_class_id_is_pt_query_digest_checksum() -> None:
    # pt-query-digest 3.2.1 prints "ID 0x59A74D08D407B5EDF9A57DD5A41825CA" for this class.
    assert class_id("select sleep(?)") == "59A74D08D407B5EDF9A57DD5A41825CA"
    assert class_id("select Ä") == class_id("select \udcc3\udc84")  # same UTF-8 bytes


@needs_pqd
def test_case_table_is_what_pt_query_digest_says() -> None:
    assert pqd_fingerprints([sql for sql, _ in CASES]) == [fp for _, fp in CASES]


@needs_pqd
def test_classes_and_checksums_of_fixture_slow_logs() -> None:
    logs = sorted(SLOWLOGS.glob("*.log"))
    out = subprocess.run(
        [PT_QUERY_DIGEST, "--limit", "100000", "--output", "json", *logs],
        capture_output=True,
        check=True,
    ).stdout
    classes = json.loads(out.decode("utf-8", "surrogateescape"))["classes"]
    assert len(classes) > 60
    for cls in classes:
        assert fingerprint(cls["example"]["query"]) == cls["fingerprint"]
        assert class_id(cls["fingerprint"]) == cls["checksum"]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    statements = slowlog_statements() + marketplace_statements()
    assert len(statements) > 600
    return statements


@needs_pqd
def test_corpus_agrees_with_pt_query_digest(corpus: list[str]) -> None:
    expected = pqd_fingerprints(corpus)
    assert fingerprint_many(corpus) == expected
    assert [fingerprint(s) for s in corpus] == expected


@needs_ptf
def test_corpus_agrees_with_pt_fingerprint(corpus: list[str], tmp_path: Path) -> None:
    comparable = [s for s in corpus if _pt_fingerprint_reads_unchanged(s)]
    assert len(comparable) > 300
    assert fingerprint_many(comparable) == pt_fingerprint(comparable, tmp_path)


# fmt: off
_TOKENS = [
    "SELECT", "select", "FROM", "from", "WHERE", "IN", "in", "VALUES", "value", "UNION",
    "union all", "ALL", "ORDER BY", "order by", "ASC", "asc", "ascii", "DESC", "LIMIT",
    "limit ?", "OFFSET", "NULL", "null", "TRUE", "false", "INSERT INTO", "REPLACE", "IGNORE",
    "CALL", "call", "use", "t", "users_2009", "`odd tbl`", "Ä", "İ", "ß", "(", ")", ",", "=",
    ";", "*", ".", "-", "+", "1", "-2", "3.5", "1e3", "0xFF", "x'1f'", "b'01'", "'s'",
    "'it\\'s'", "'a''b'", '"dq"', '"q\\"x"', "'", '"', "\\", "/* c */", "/*!40001 v */", "/*",
    "*/", "-- c", "#", "# c", "?", "administrator command: ", "/*db.t:1/2*/",
    "SELECT /*!40001 SQL_NO_CACHE */ * FROM `",
]
_SEPARATORS = ["", " ", " ", "  ", "\n", "\t", "\r\n", "\x0b", "\x0c", "\xa0", "\x85"]
# fmt: on
_statement = st.one_of(
    st.lists(st.tuples(st.sampled_from(_TOKENS), st.sampled_from(_SEPARATORS)), max_size=25).map(
        lambda parts: "".join(token + sep for token, sep in parts)
    ),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=40),
)


@needs_pqd
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_statement, min_size=1, max_size=40))
def test_generated_statements_agree_with_pt_query_digest(sqls: list[str]) -> None:
    expected = pqd_fingerprints(sqls)
    assert [fingerprint(s) for s in sqls] == expected
    assert fingerprint_many(sqls) == expected


@given(st.lists(st.one_of(_statement, st.text(max_size=20)), max_size=40))
def test_fingerprint_many_is_fingerprint_of_each(sqls: list[str]) -> None:
    assert fingerprint_many(sqls + sqls) == [fingerprint(s) for s in sqls + sqls]
