"""Query fingerprints exactly as pt-query-digest 3.2.1 computes them.

A port of ``QueryRewriter::fingerprint`` and ``make_checksum`` from
``/usr/bin/pt-query-digest``. Perl reads slow logs as bytes, so every regex here is
ASCII-only (``re.ASCII``: ``\\s``, ``\\w``, ``\\b`` and ``/i`` see ASCII only) and
lower-casing touches ``A-Z`` only, like Perl's ``lc`` on a byte string.

There is one set of rules, written for a block of statements (one pass of each rule over
the whole block); ``fingerprint`` runs it on a block of one. :class:`FingerprintCache`
adds the cache the digest's hot path uses, keyed on :func:`prekey`.

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

import numpy as np

_A = re.ASCII
_I = re.ASCII | re.IGNORECASE
_IS = re.ASCII | re.IGNORECASE | re.DOTALL

# Rules used as written by the block chain below (from pt-query-digest's fingerprint).
_PERCONA = re.compile(r"/\*\w+\.\w+:[0-9]/[0-9]\*/", _A)
_ESCAPED_QUOTE = re.compile(r"""\\["']""", _A)
_BOOLEAN = re.compile(r"\bfalse\b|\btrue\b", _IS)
_NUMBER = re.compile(r"[0-9+-][0-9a-f.xb+-]*", _A)
_UNION = re.compile(r"\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+", _A)

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _lc(text: str) -> str:
    """Perl ``lc`` on a byte string: ``A-Z`` only."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def fingerprint(sql: str) -> str:
    """The pt-query-digest fingerprint of one statement (its query class)."""
    return _fingerprint_block([sql])[0]


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

# The rules: the statements are joined into one text, each one preceded and the last one
# followed by NUL, and pt-query-digest's substitution chain runs once over that text. Each
# statement gets its own fingerprint because (a) no statement holds NUL (one that does has
# its NULs replaced by a character it lacks, see _fingerprint_with_nul), (b) no pattern
# below can match NUL, so no match spans two statements: Perl's `.` and `\S` become
# `[^\x00...]`, and NUL stands in for \A and \Z, and (c) NUL is not a word character, so
# \b sees a statement edge as Perl does.
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
    """The fingerprint of each statement, computed over the whole block at once."""
    if not sqls:
        return []
    text = _SEP + _SEP.join(sqls) + _SEP
    if text.count(_SEP) != len(sqls) + 1:
        plain = [s for s in sqls if _SEP not in s]
        done = dict(zip(plain, _fingerprint_block(plain), strict=True))
        return [done[s] if s in done else _fingerprint_with_nul(s) for s in sqls]
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


def _fingerprint_with_nul(sql: str) -> str:
    """The fingerprint of a statement that holds NUL, the block separator.

    Its NULs become a character the statement does not hold and that every rule treats
    as Perl treats NUL (no space, word, digit, quote or comment character), and come back
    afterwards.
    """
    stand_in = next(c for c in map(chr, (*range(1, 9), *range(0xE000, 0xF900)))
                    if c not in sql)
    return _fingerprint_block([sql.replace(_SEP, stand_in)])[0].replace(stand_in, _SEP)


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


# Cache keys. prekey() rewrites only what every fingerprint rewrites the same way, so the
# fingerprint of a key is the fingerprint of the statement: digit runs become one digit,
# and quoted strings become '' where quotes pair as the fingerprint pairs them.
_PREKEY_AS_WRITTEN = re.compile(r"\s*call\s|administrator command:", re.I)
_CALL_IN_BLOCK = re.compile(r"\x00\s*call\s", re.I)
_ADMIN_IN_BLOCK = re.compile(r"\x00administrator command:[^\x00]*?[0-9']", re.I)
_QUOTED_BLOCK = re.compile(r"'[^'\x00]*'")
_ZERO_DIGITS = str.maketrans("123456789", "000000000")
_ZEROS = re.compile("00+")


def prekey(sql: str) -> str:
    """A cache key with ``fingerprint(prekey(s)) == fingerprint(s)``.

    Digit runs become ``0`` (the fingerprint makes any digit run ``?``). Single-quoted
    strings become ``''`` when the statement has no double quote or backslash (so
    quotes pair left to right exactly as the fingerprint pairs them) and the string
    holds no parenthesis (which the multi-row INSERT rule could see). Statements with
    comments, NUL, CALL or admin commands are keyed as written.

    >>> prekey("SELECT * FROM t WHERE a = 'x' AND id = 42")
    "SELECT * FROM t WHERE a = '' AND id = 0"
    """
    return prekeys([sql])[0]


def prekeys(sqls: list[str]) -> list[str]:
    """:func:`prekey` of each statement, by a few substitutions over the whole block."""
    joined = "\x00".join(sqls)
    if ('"' in joined or "\\" in joined or "/*" in joined
            or joined.count("\x00") != len(sqls) - 1):
        return _mixed_prekeys(sqls, joined)
    return _plain_prekeys(sqls, joined)


def _plain_prekeys(sqls: list[str], joined: str) -> list[str]:
    """prekeys() of a block (``joined``: its statements joined by NUL) without double
    quotes, backslashes, comments or NUL."""
    digits = _zero_digits(joined)
    parts = digits.split("'")
    strings = "".join(parts[1::2])
    if len(parts) % 2 and "\x00" not in strings:  # quotes pair within each statement
        if "(" in strings or ")" in strings:  # such strings stay (the INSERT rule)
            parts[1::2] = ["'" + x + "'" if "(" in x or ")" in x else "''"
                           for x in parts[1::2]]
            blanked = "".join(parts)
        else:
            blanked = "''".join(parts[::2])
    else:
        blanked = _QUOTED_BLOCK.sub(_empty_string, digits)
    keys = blanked.split("\x00")
    if (_PREKEY_AS_WRITTEN.match(joined) or _CALL_IN_BLOCK.search(joined)
            or _ADMIN_IN_BLOCK.search(joined)):
        for i, sql in enumerate(sqls):
            if _PREKEY_AS_WRITTEN.match(sql):
                keys[i] = sql
    return keys


def _zero_digits(text: str) -> str:
    """Every digit run of ``text`` as one ``0``.

    ASCII text (the common case) goes through its bytes: ``bytes.translate`` and a numpy
    mask that keeps the first digit of each run, 4x faster than a regex substitution
    (each digit run is a match) on a block of statements.
    """
    if not text.isascii():
        return _ZEROS.sub("0", text.translate(_ZERO_DIGITS))
    raw = np.frombuffer(text.encode("ascii").translate(_ZERO_DIGIT_BYTES), np.uint8)
    zero = raw == 48
    keep = np.ones(len(raw), bool)
    np.logical_not(zero[1:] & zero[:-1], out=keep[1:])
    return raw[keep].tobytes().decode("ascii")


_ZERO_DIGIT_BYTES = bytes.maketrans(b"123456789", b"000000000")


def _empty_string(m: re.Match[str]) -> str:
    token = m.group()
    return token if "(" in token or ")" in token else "''"


def _mixed_prekeys(sqls: list[str], joined: str) -> list[str]:
    """prekeys() of a block (``joined``: its statements joined by NUL) that holds double
    quotes, backslashes, comments or NUL."""
    keys = list(sqls)
    # whether a statement may be keyed as written (a superset: NUL inside statements)
    check = bool(_PREKEY_AS_WRITTEN.match(joined) or _CALL_IN_BLOCK.search(joined)
                 or "administrator command:" in joined.lower())
    odd = {i for i, sql in enumerate(sqls) if '"' in sql or "\\" in sql or "/*" in sql
           or "\x00" in sql or (check and _PREKEY_AS_WRITTEN.match(sql))}
    plain = [i for i in range(len(sqls)) if i not in odd]
    quoted = [i for i in sorted(odd) if not ("/*" in sqls[i] or "\x00" in sqls[i] or (
        check and _PREKEY_AS_WRITTEN.match(sqls[i])))]
    if quoted:  # digit runs only, in one pass over them all (no NUL in them)
        zeroed = _zero_digits("\x00".join([sqls[i] for i in quoted])).split("\x00")
        for i, key in zip(quoted, zeroed, strict=True):
            keys[i] = key
    if plain:
        chosen = [sqls[i] for i in plain]
        for i, key in zip(plain, _plain_prekeys(chosen, "\x00".join(chosen)), strict=True):
            keys[i] = key
    return keys


class FingerprintCache:
    """Fingerprints of blocks of statements, cached under their prekeys (bounded).

    >>> cache = FingerprintCache()
    >>> cache(["SELECT 1", "SELECT 2", "select 'a'"])
    (['select ?', 'select ?'], [0, 0, 1])
    """

    def __init__(self, limit: int = 20_000) -> None:
        self._cache: dict[str, str] = {}
        self._limit = limit

    def __call__(self, sqls: list[str]) -> tuple[list[str], list[int]]:
        """(fingerprint of each distinct prekey, index into that list of each statement)."""
        keys = prekeys(sqls)
        distinct = list(dict.fromkeys(keys))
        cache = self._cache
        missing = [k for k in distinct if k not in cache]
        if missing:
            if len(cache) + len(missing) > self._limit:
                cache.clear()
            wanted = set(missing)
            first: dict[str, str] = {}
            for key, sql in zip(keys, sqls, strict=True):
                if key in wanted and key not in first:
                    first[key] = sql
            cache.update(zip(missing, fingerprint_many([first[k] for k in missing]),
                             strict=True))
        at = dict(zip(distinct, range(len(distinct)), strict=True))
        return [cache[k] for k in distinct], list(map(at.__getitem__, keys))



def class_id(fingerprint: str) -> str:
    """pt-query-digest's class checksum: upper-case hex MD5 of the fingerprint.

    pt-query-digest 3.x prints it as ``ID 0x<32 hex digits>``; 2.x kept the last 16.
    The text is encoded as UTF-8 with ``surrogateescape``, so a statement decoded from
    log bytes that way hashes byte for byte as Perl does.
    """
    return hashlib.md5(fingerprint.encode("utf-8", "surrogateescape")).hexdigest().upper()
