"""Query fingerprints exactly as pt-query-digest 3.2.1 computes them.

A port of ``QueryRewriter::fingerprint`` and ``make_checksum`` from
``/usr/bin/pt-query-digest``. Perl reads slow logs as bytes, so every regex here is
ASCII-only (``re.ASCII``: ``\\s``, ``\\w``, ``\\b`` and ``/i`` see ASCII only) and
lower-casing touches ``A-Z`` only, like Perl's ``lc`` on a byte string.

>>> fingerprint("SELECT * FROM t WHERE id IN (1, 2, 3) ORDER BY a ASC LIMIT 10, 5")
'select * from t where id in(?+) order by a limit ?'
>>> class_id("select sleep(?)")
'59A74D08D407B5EDF9A57DD5A41825CA'
"""

from __future__ import annotations

import hashlib
import re

_A = re.ASCII
_I = re.ASCII | re.IGNORECASE
_S = re.ASCII | re.DOTALL
_IS = re.ASCII | re.IGNORECASE | re.DOTALL

# Early returns, in pt-query-digest's order.
_MYSQLDUMP = re.compile(r"SELECT /\*!40001 SQL_NO_CACHE \*/ \* FROM `", _A)
_PERCONA = re.compile(r"/\*\w+\.\w+:[0-9]/[0-9]\*/", _A)
_ADMIN = "administrator command: "
_CALL = re.compile(r"\s*(call\s+\S+)\(", _I)
_MULTI_INSERT = re.compile(
    r"((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\(", _IS
)
# Comments: multi-line (not /*!version */), then one-line (-- or # to end of line).
_MLC = re.compile(r"/\*[^!].*?\*/", _S)
_OLC = re.compile(r"""(?:--|#)[^'"\r\n]*(?=[\r\n]|\Z)""", _A)
# Python's `$` (no MULTILINE) is Perl's `\Z`: end, or before a final newline.
_USE = re.compile(r"use \S+$", _I)
# Literals.
_ESCAPED_QUOTE = re.compile(r"""\\["']""", _A)
_DQ_STRING = re.compile(r'".*?"', _S)
_SQ_STRING = re.compile(r"'.*?'", _S)
_BOOLEAN = re.compile(r"\bfalse\b|\btrue\b", _IS)
_NUMBER = re.compile(r"[0-9+-][0-9a-f.xb+-]*", _A)
_NUMBER_LEFTOVER = re.compile(r"[xb.+-]\?", _A)
# Whitespace: `tr[ \n\t\r\f][ ]s` (vertical tab is not in the list).
_LEADING_SPACE = re.compile(r"\A\s+", _A)
_SPACES = re.compile(r"[ \n\t\r\f]+", _A)
# After lower-casing.
_NULL = re.compile(r"\bnull\b", _A)
_IN_VALUES = re.compile(r"\b(in|values?)(?:[\s,]*\([\s?,]*\))+", _A)
_UNION = re.compile(r"\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+", _A)
_LIMIT = re.compile(r"\blimit \?(?:, ?\?| offset \?)?", _A)
_ORDER_BY = re.compile(r"\bORDER BY ", _I)
_ASC = re.compile(r"(.+?)\s+ASC", _I)

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _lc(text: str) -> str:
    """Perl ``lc`` on a byte string: ``A-Z`` only."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _strip_asc(query: str) -> str:
    """``1 while s/\\G(.+?)\\s+ASC/$1/gi && pos`` after ``m/\\bORDER BY /gi``.

    The ``/g`` substitution resumes where the ``m//g`` left ``pos``; each match starts
    where the previous one ended (``\\G``). A substitution resets ``pos``, so the
    ``1 while`` loop body runs once.
    """
    found = _ORDER_BY.search(query)
    if found is None:
        return query
    pos = found.end()
    parts = [query[:pos]]
    while (m := _ASC.match(query, pos)) is not None:
        parts.append(m.group(1))
        pos = m.end()
    if len(parts) == 1:
        return query
    parts.append(query[pos:])
    return "".join(parts)


def _special(query: str) -> str | None:
    """The fingerprint of a statement pt-query-digest returns early for, else None."""
    if _MYSQLDUMP.match(query):
        return "mysqldump"
    if _PERCONA.search(query):
        return "percona-toolkit"
    if query.startswith(_ADMIN):
        return query
    m = _CALL.match(query)
    if m:
        return _lc(m.group(1))
    return None


def _strip_comments(query: str) -> str:
    """Remove /* */ comments (not /*! */) and -- or # comments, in that order."""
    if "/*" in query:
        query = _MLC.sub("", query)
    if "--" in query or "#" in query:
        query = _OLC.sub("", query)
    return query


def _use(query: str) -> str | None:
    """``s/\\Ause \\S+\\Z/use ?/i``: the abstracted USE statement, else None."""
    m = _USE.match(query)
    return None if m is None else "use ?" + query[m.end() :]


def fingerprint(sql: str) -> str:
    """The pt-query-digest fingerprint of one statement (its query class)."""
    special = _special(sql)
    if special is not None:
        return special
    query = sql
    m = _MULTI_INSERT.match(query)
    if m:
        query = m.group(1)
    query = _strip_comments(query)
    use = _use(query)
    if use is not None:
        return use
    query = _ESCAPED_QUOTE.sub("", query)
    query = _DQ_STRING.sub("?", query)
    query = _SQ_STRING.sub("?", query)
    query = _BOOLEAN.sub("?", query)
    query = _NUMBER.sub("?", query)
    query = _NUMBER_LEFTOVER.sub("?", query)
    query = _LEADING_SPACE.sub("", query)
    if query.endswith("\n"):
        query = query[:-1]
    query = _SPACES.sub(" ", query)
    query = _lc(query)
    query = _NULL.sub("?", query)
    query = _IN_VALUES.sub(r"\1(?+)", query)
    query = _UNION.sub(r"\1 /*repeat\2*/", query)
    query = _LIMIT.sub("limit ?", query, count=1)
    return _strip_asc(query)


def fingerprint_many(sqls: list[str]) -> list[str]:
    """Fingerprints of many statements; same results as ``[fingerprint(s) for s in sqls]``."""
    return [fingerprint(s) for s in sqls]


def class_id(fingerprint: str) -> str:
    """pt-query-digest's class checksum: upper-case hex MD5 of the fingerprint.

    pt-query-digest 3.x prints it as ``ID 0x<32 hex digits>``; 2.x kept the last 16.
    The text is encoded as UTF-8 with ``surrogateescape``, so a statement decoded from
    log bytes that way hashes byte for byte as Perl does.
    """
    return hashlib.md5(fingerprint.encode("utf-8", "surrogateescape")).hexdigest().upper()
