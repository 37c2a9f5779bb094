"""Query fingerprints exactly as pt-query-digest 3.2.1 computes them.

A port of ``QueryRewriter::fingerprint`` and ``make_checksum`` from
``/usr/bin/pt-query-digest``. Perl reads slow logs as bytes, so every regex here is
ASCII-only (``re.ASCII``: ``\\s``, ``\\w``, ``\\b`` and ``/i`` see ASCII only) and
lower-casing touches ``A-Z`` only, like Perl's ``lc`` on a byte string.

``fingerprint`` is the step-by-step port; ``fingerprint_many`` gives the same results for
a block of statements several times faster (one pass of each rule over the whole block).

>>> fingerprint("SELECT * FROM t WHERE id IN (1, 2, 3) ORDER BY a ASC LIMIT 10, 5")
'select * from t where id in(?+) order by a limit ?'
>>> class_id("select sleep(?)")
'59A74D08D407B5EDF9A57DD5A41825CA'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from typing import cast

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
# Replacing a lone space by a space changes nothing, so only other runs are matched.
_SPACES = re.compile(r"[ \n\t\r\f]{2,}|[\n\t\r\f]", _A)
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
    if query.find("asc", pos) == -1:  # the query is lower-cased by now
        return query
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
    # Each rule runs where the text it needs occurs (a cheap substring test first).
    if "\\" in query:
        query = _ESCAPED_QUOTE.sub("", query)
    if '"' in query:
        query = _DQ_STRING.sub("?", query)
    if "'" in query:
        query = _SQ_STRING.sub("?", query)
    lowered = query.lower()
    if "true" in lowered or "false" in lowered:
        query = _BOOLEAN.sub("?", query)
    query = _NUMBER.sub("?", query)
    if "?" in query:
        query = _NUMBER_LEFTOVER.sub("?", query)
    query = _LEADING_SPACE.sub("", query)
    if query.endswith("\n"):
        query = query[:-1]
    query = _lc(_SPACES.sub(" ", query))
    if "null" in query:
        query = _NULL.sub("?", query)
    query = _IN_VALUES.sub(r"\1(?+)", query)
    if "union" in query:
        query = _union(query)
    if "limit" in query:
        query = _LIMIT.sub("limit ?", query, count=1)
    return _strip_asc(query)


def fingerprint_many(sqls: list[str]) -> list[str]:
    """Fingerprints of many statements; same results as ``[fingerprint(s) for s in sqls]``.

    Exact repeats are looked up in a bounded memo; the other statements are
    fingerprinted together by ``_fingerprint_block``.
    """
    memo = _MEMO
    found = list(map(memo.get, sqls))
    if None not in found:
        return cast("list[str]", found)
    todo = list(dict.fromkeys([s for s, f in zip(sqls, found, strict=True) if f is None]))
    fresh = dict(zip(todo, _fingerprint_block(todo), strict=True))
    if len(memo) + len(fresh) > _MEMO_MAX_ENTRIES:
        memo.clear()
    if max(map(len, todo)) <= _MEMO_MAX_CHARS:
        memo.update(fresh)
    else:
        memo.update((s, f) for s, f in fresh.items() if len(s) <= _MEMO_MAX_CHARS)
    return cast("list[str]", list(map(fresh.get, sqls, found)))


_MEMO: dict[str, str] = {}
_MEMO_MAX_ENTRIES = 50_000
_MEMO_MAX_CHARS = 1_000

# Block processing: the statements are joined into one text, each one preceded and the
# last one followed by NUL, and the substitution chain runs once over that text. It is
# the same chain as fingerprint() because (a) no statement holds NUL (those take the
# single-statement path), (b) no pattern below can match NUL, so no match spans two
# statements: `.` and `\S` become `[^\x00...]`, and NUL stands in for \A and \Z,
# and (c) NUL is not a word character, so \b sees a statement edge as Perl does.
# Literal-first patterns ("null(?<![0-9a-z_]null)" for "\bnull\b" on lower-cased text)
# let the regex engine skip ahead quickly. Early returns (mysqldump, percona-toolkit,
# administrator command, CALL, USE) are found by index and override the chain's output.
_SEP = "\x00"
_B_SPECIAL = re.compile(
    r"\x00(?:(SELECT /\*!40001 SQL_NO_CACHE \*/ \* FROM `)|(administrator command: )"
    r"|\s*((?i:call)\s+[^\s\x00]+)\()",
    _A,
)
_B_MULTI_INSERT = re.compile(
    r"\x00((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO[^\x00]+?VALUES\s*\([^\x00]*?\))"
    r"\s*,\s*\([^\x00]*",
    _I,
)
_B_MLC = re.compile(r"/\*[^!\x00][^\x00]*?\*/", _A)
_B_OLC = re.compile(r"""(?:--|#)[^'"\r\n\x00]*(?=[\r\n\x00])""", _A)
_B_DASHES = re.compile("--")  # faster than `"--" in text` when dates put "-" everywhere
_B_USE = re.compile(r"\x00(?i:use) [^\s\x00]+(\n?)(?=\x00)", _A)
# '.*?' ends at the first quote after the opening one, so it is '[^']*'.
_B_DQ_STRING = re.compile(r'"[^"\x00]*"', _A)
_B_SQ_STRING = re.compile(r"'[^'\x00]*'", _A)
_B_NUMBER_LEFTOVER_REVERSED = re.compile(r"\?[xb.+-]", _A)
_B_LEADING_SPACE = re.compile(r"\x00\s+", _A)
_B_SQUEEZE = re.compile(r"  +", _A)
_B_NULL = re.compile(r"null(?<![0-9a-z_]null)\b", _A)
_B_IN = re.compile(r"in(?<![0-9a-z_]in)(?:[\s,]*\([\s?,]*\))+", _A)
_B_VALUES = re.compile(r"value(?<![0-9a-z_]value)(s?)(?:[\s,]*\([\s?,]*\))+", _A)
_B_UNION_NEEDLE = re.compile("union", _A)
_B_LIMIT = re.compile(r"limit(?<![0-9a-z_]limit) \?", _A)
_B_LIMIT_WITH_OFFSET = re.compile(r"limit(?<![0-9a-z_]limit) \?(?:, ?\?| offset \?)", _A)
_B_ORDER_BY_TAIL = re.compile(r"order by (?<![0-9a-z_]order by )([^\x00]*)", _A)
# The \G chain of _strip_asc: every \s+asc that starts at least one character after the
# previous match (or after ORDER BY) goes; `(.)` is that character.
_B_ASC = re.compile(r"(.)\s+asc", _A)
# tr[ \n\t\r\f][ ] and lc in one pass; runs of spaces are squeezed afterwards.
_COLLAPSE_LOWER = {**_ASCII_LOWER, **{ord(c): " " for c in "\n\t\r\f"}}


def _indexed(pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, re.Match[str]]]:
    """(statement index, match) for each match of ``pattern`` in a block text."""
    pos = count = 0
    for m in pattern.finditer(text):
        count += text.count(_SEP, pos, m.start() + 1)
        pos = m.start() + 1
        yield count - 1, m


def _fingerprint_block(sqls: list[str]) -> list[str]:
    """fingerprint() of each statement, computed over the whole block at once."""
    if not sqls:
        return []
    text = _SEP + _SEP.join(sqls) + _SEP
    if text.count(_SEP) != len(sqls) + 1:
        plain = [s for s in sqls if _SEP not in s]
        done = dict(zip(plain, _fingerprint_block(plain), strict=True))
        return [done[s] if s in done else fingerprint(s) for s in sqls]
    early: dict[int, str] = {}
    for i, m in _indexed(_B_SPECIAL, text):
        dump, admin, call = m.groups()
        early[i] = "mysqldump" if dump else sqls[i] if admin else _lc(call)
    if "/*" in text:
        for i, _ in _indexed(_PERCONA, text):
            if early.get(i) != "mysqldump":
                early[i] = "percona-toolkit"
    text = _B_MULTI_INSERT.sub("\x00\\1", text)
    if "/*" in text:
        text = _B_MLC.sub("", text)
    if "#" in text or _B_DASHES.search(text):
        text = _B_OLC.sub("", text)
    for i, m in _indexed(_B_USE, text):
        early.setdefault(i, "use ?" + m.group(1))
    if "\\" in text:
        text = _ESCAPED_QUOTE.sub("", text)
    if '"' in text:
        text = _B_DQ_STRING.sub("?", text)
    if "'" in text:
        text = _B_SQ_STRING.sub("?", text)
    lower = text.lower()
    if "true" in lower or "false" in lower:
        text = _BOOLEAN.sub("?", text)
    text = _NUMBER.sub("?", text)
    # s/[xb.+-]\?/?/g, run on the reversed text where its pattern starts with a literal.
    text = _B_NUMBER_LEFTOVER_REVERSED.sub("?", text[::-1])[::-1]
    text = _B_LEADING_SPACE.sub(_SEP, text)
    text = text.replace("\n\x00", _SEP).translate(_COLLAPSE_LOWER)
    if "  " in text:
        text = _B_SQUEEZE.sub(" ", text)
    if "null" in text:
        text = _B_NULL.sub("?", text)
    text = _B_IN.sub("in(?+)", text)
    if "value" in text:
        text = _B_VALUES.sub(r"value\1(?+)", text)
    if "union" in text:
        text = _per_statement(text, _B_UNION_NEEDLE, _union)
    if "limit ?" in text:
        text = _B_LIMIT_WITH_OFFSET.sub(_first_limit, text)
    if "order by " in text and "asc" in text:
        text = _B_ORDER_BY_TAIL.sub(_asc_after_order_by, text)
    out = text[1:-1].split(_SEP)
    for i, fp in early.items():
        out[i] = fp
    return out


def _union(query: str) -> str:
    """Collapse a repeated SELECT joined by UNION [ALL] into ``/*repeat union*/``."""
    return _UNION.sub(r"\1 /*repeat\2*/", query)


def _first_limit(m: re.Match[str]) -> str:
    """``limit ?`` for a LIMIT with an offset that is the first LIMIT of its statement."""
    text = m.string
    first = _B_LIMIT.search(text, text.rfind(_SEP, 0, m.start()), m.start()) is None
    return "limit ?" if first else m.group()


def _asc_after_order_by(m: re.Match[str]) -> str:
    """_strip_asc() of a statement, given the match of its first ORDER BY to its end."""
    tail = m.group(1)
    return "order by " + (_B_ASC.sub(r"\1", tail) if "asc" in tail else tail)


def _per_statement(text: str, needle: re.Pattern[str], rewrite: Callable[[str], str]) -> str:
    """Apply ``rewrite`` to each statement of a block text in which ``needle`` occurs."""
    parts = []
    done = 0
    while (m := needle.search(text, done)) is not None:
        start = text.rfind(_SEP, 0, m.start()) + 1
        end = text.find(_SEP, m.end())
        parts += (text[done:start], rewrite(text[start:end]))
        done = end
    parts.append(text[done:])
    return "".join(parts)


def class_id(fingerprint: str) -> str:
    """pt-query-digest's class checksum: upper-case hex MD5 of the fingerprint.

    pt-query-digest 3.x prints it as ``ID 0x<32 hex digits>``; 2.x kept the last 16.
    The text is encoded as UTF-8 with ``surrogateescape``, so a statement decoded from
    log bytes that way hashes byte for byte as Perl does.
    """
    return hashlib.md5(fingerprint.encode("utf-8", "surrogateescape")).hexdigest().upper()
