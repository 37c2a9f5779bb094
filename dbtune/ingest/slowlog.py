"""Streaming slow-log reader for MySQL 5.x/8.x, MariaDB and Percona Server logs.

The log is read in large blocks cut at entry boundaries, the same boundaries
pt-query-digest uses: a line ending in ``;`` followed by a line starting with ``#``.
Each entry's header lines (``# Time:``, ``# User@Host:``, ``# Name: value`` pairs,
``# explain:``, ``use db;``, ``SET timestamp=N;``) are parsed and the rest is the
statement. Server start-up banners are skipped wherever they appear; garbled entries
are skipped with a ``file:line`` warning, and every input line is counted as part of an
event, a banner, or a skipped entry (:class:`ScanStats`).

:func:`read_events` yields :class:`~dbtune.model.QueryEvent` objects (the convenient
slow path); :mod:`dbtune.digest` consumes :class:`Entry` batches from :class:`Scanner`.
Inputs (names, stdin, gzip, blocks) are opened by :mod:`dbtune.ingest.slowlog_input`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import compress

import numpy as np

from dbtune.ingest.slowlog_grammar import (
    ADMIN,
    ATTR_LINE,
    ATTR_LINES,
    ATTRS,
    BANNER,
    ENTRY,
    ENTRY_START,
    EXPLAIN,
    EXPLAIN_LINE,
    HEAD,
    META_ONLY,
    NO_QUERY,
    NOT_METRICS,
    NUMBER,
    PAIRS_OR_EMPTY,
    SET_LINE,
    SET_TIMESTAMP,
    TIME,
    TIME_FORMATS,
    USE,
    USE_LINE,
    USER_HOST,
    USER_HOST_VALUE,
    ZERO_FOR_ADMIN,
)
from dbtune.ingest.slowlog_input import closing_input, expand_paths, iter_blocks, open_input
from dbtune.model import InputError, QueryEvent

#: Entries of each per-scanner cache (times, User@Host lines) before it starts over.
_CACHE_LIMIT = 10_000
#: Warnings kept verbatim; later ones are only counted.
MAX_WARNINGS = 10
EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)

_ADMIN = ";\n" + ADMIN
#: "Unknown" in :attr:`Block.times`.
NO_TIME = np.iinfo(np.int64).max
_NO_DIGITS = str.maketrans("", "", "0123456789.")
_QT_COLUMN = re.compile(rf"(?:{NUMBER.pattern}\n)+")
#: Banner lines at the start of a block.
_LEADING_BANNER = re.compile(rf"(?:(?:{BANNER.pattern[1:]})[^\n]*\n)+")


@dataclass(slots=True)
class Entry:
    """One parsed slow-log entry, attributes still as the log wrote them."""

    sql: str
    time: int | None  # microseconds since 1970-01-01 in the log's clock (UTC if it said so)
    user: str | None
    host: str | None
    db: str | None
    names: tuple[str, ...]  # attribute names, shared by entries of the same layout
    values: list[str]  # their values, as written
    thread: str | None  # the "Id:" of the User@Host line
    explain: list[str] | None
    line: int
    #: the client's IP when the log gave a host name too (``@ web-3 [10.0.0.13]``)
    ip: str | None = None

    @property
    def attrs(self) -> dict[str, str]:
        """The attributes as a dict (name -> value as written)."""
        return dict(zip(self.names, self.values, strict=True))


Layout = tuple[tuple[str, ...], np.ndarray, np.ndarray]


@dataclass(slots=True)
class Block:
    """The entries of one block, column by column: what the digest aggregates.

    ``people`` holds one key per entry into ``who`` ((user, host) pairs) and ``ips``
    (the client's IP where the log gave a host name too); ``layouts``
    are (attribute names, entry indexes, values as written: an object array with one
    row per entry). Statement lines are computed on demand (:meth:`line`).
    """

    sqls: list[str]
    times: np.ndarray  # int64 microseconds, NO_TIME if unknown
    dbs: list[str | None]
    people: list[Hashable]
    who: dict[Hashable, tuple[str | None, str | None]]
    layouts: list[Layout]
    lines: list[int] | None = None
    # regular blocks: the entries' texts, the first line, and per entry whether the
    # statement is an admin command (its line is the line after the entry)
    wholes: tuple[str, ...] = ()
    first_line: int = 0
    admin: tuple[str, ...] = ()
    text: str = ""
    _starts: np.ndarray | None = None
    _at: tuple[int, int] = (0, 0)
    ips: dict[Hashable, str | None] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sqls)

    @classmethod
    def from_entries(cls, entries: list[Entry]) -> Block:
        """The block of parsed entries."""
        groups: dict[int, tuple[tuple[str, ...], list[int]]] = {}
        for i, e in enumerate(entries):
            found = groups.get(id(e.names))
            if found is None:
                found = groups[id(e.names)] = (e.names, [])
            found[1].append(i)
        layouts = [(names, np.array(rows, np.int64),
                    np.array([entries[i].values for i in rows], dtype=object).reshape(
                        len(rows), len(names)))
                   for names, rows in groups.values() if names]
        people = [(e.user, e.host, e.ip) for e in entries]
        return cls([e.sql for e in entries],
                   np.array([NO_TIME if e.time is None else e.time for e in entries], np.int64),
                   [e.db for e in entries], people, {p: p[:2] for p in set(people)}, layouts,
                   [e.line for e in entries], ips={p: p[2] for p in set(people)})

    def line(self, i: int) -> int:
        """The line of entry ``i``'s statement (cheapest for increasing ``i``)."""
        if self.lines is not None:
            return self.lines[i]
        if self._starts is None:
            sizes = np.fromiter(map(len, self.wholes), np.int64, len(self.wholes))
            self._starts = np.concatenate([[0], np.cumsum(sizes)])
            self._at = (0, self.first_line)
        start = int(self._starts[i])
        pos, line = self._at
        if start < pos:
            pos, line = 0, self.first_line
        line += self.text.count("\n", pos, start)
        self._at = (start, line)
        whole = self.wholes[i]
        lines = whole.count("\n") + (0 if whole.endswith("\n") else 1)
        if self.admin[i]:  # as the entry reader: the line after the entry
            return line + lines
        return line + lines - 1 - self.sqls[i].count("\n")

    def take(self, keep: np.ndarray) -> Block:
        """The entries where ``keep`` is true."""
        rows = np.flatnonzero(keep)
        at = rows.tolist()
        renumber = np.cumsum(keep) - 1
        layouts = []
        for names, where, table in self.layouts:
            chosen = keep[where]
            if chosen.any():
                layouts.append((names, renumber[where[chosen]], table[chosen]))
        return Block([self.sqls[i] for i in at], self.times[rows], [self.dbs[i] for i in at],
                     [self.people[i] for i in at], self.who, layouts,
                     [self.line(i) for i in at], ips=self.ips)


@dataclass(slots=True)
class ScanStats:
    """What the scanner made of its input.

    Every line is counted once: in an event, a banner or blank line between entries, or
    a skipped entry. ``warnings`` holds the first (source, line, reason) triples.
    """

    events: int = 0
    skipped: int = 0
    event_lines: int = 0
    banner_lines: int = 0
    skipped_lines: int = 0
    bytes_read: int = 0
    warnings: list[tuple[str, int, str]] = field(default_factory=list)
    warnings_total: int = 0

    @property
    def lines(self) -> int:
        return self.event_lines + self.banner_lines + self.skipped_lines

    def merge(self, other: ScanStats) -> None:
        """Add ``other`` (read after this one) into these stats."""
        self.events += other.events
        self.skipped += other.skipped
        self.event_lines += other.event_lines
        self.banner_lines += other.banner_lines
        self.skipped_lines += other.skipped_lines
        self.bytes_read += other.bytes_read
        room = MAX_WARNINGS - len(self.warnings)
        self.warnings.extend(other.warnings[: max(room, 0)])
        self.warnings_total += other.warnings_total


def _pairs(head: str) -> dict[str, str]:
    """The ``Name: value`` pairs of a block of ``#`` header lines (the careful way)."""
    attrs = dict(ATTRS.findall(head))
    attrs.pop("", None)
    return attrs


def _has_banner(text: str) -> bool:
    """Whether ``text`` holds a server start-up banner line (cheap test first)."""
    return ("Version" in text or "Command" in text or "port:" in text or "Port:" in text) and (
        BANNER.search(text) is not None)


def _layout(keys: tuple[str, ...], tokens: int) -> tuple[tuple[str, ...], int, int]:
    """(names, index of Query_time, index of Schema) of a header layout; -1 if absent.

    Keys that do not all end in ``:`` (an empty value, a comment line) give no
    Query_time index, which sends the entry to the careful parser.
    """
    if tokens % 2 or not all(k.endswith(":") and len(k) > 1 for k in keys):
        return (), -1, -1
    names = tuple(sys.intern(k[:-1]) for k in keys)
    if len(set(names)) != len(names):
        return (), -1, -1
    qt_at = names.index("Query_time") if "Query_time" in names else -1
    return names, qt_at, names.index("Schema") if "Schema" in names else -1


def _join_admin(pieces: list[str]) -> list[str]:
    """Glue ``# administrator command: X;`` lines back onto the header they belong to."""
    out: list[str] = []
    for piece in pieces:
        if out and piece.startswith(ADMIN[1:]):
            out[-1] += ";\n#" + piece
        else:
            out.append(piece)
    return out


def _user_host(text: str) -> tuple[str, str | None, str | None, str | None]:
    """(user, host or else IP, thread id, IP where a host name came first) of a
    ``# User@Host:`` value.

    >>> _user_host("app[app] @ web-3 [10.0.0.13]  Id: 7")
    ('app', 'web-3', '7', '10.0.0.13')
    """
    # without "@ " and "]" the regex cannot match, and it would take quadratic time to
    # fail on a long line
    m = USER_HOST_VALUE.match(text) if "@ " in text and "]" in text else None
    if m is None:
        return text.strip(), None, None, None
    host, ip = m.group(2), m.group(3) or None
    return m.group(1), host or ip, m.group(4), ip if host else None


def time_us(text: str) -> int | None:
    """Microseconds since the epoch of a ``# Time:`` value, or None if unreadable.

    ISO times (MySQL 5.7+) with ``Z`` or an offset are converted to UTC; MariaDB's and
    MySQL 5.5's ``YYMMDD H:MM:SS`` carry no zone and are taken as written.
    """
    try:
        iso, short = TIME_FORMATS
        if iso.pattern.match(text):
            stamp = datetime.fromisoformat(text)
            if stamp.tzinfo is not None:
                stamp = stamp.astimezone(timezone.utc).replace(tzinfo=None)
        else:
            m = short.pattern.match(text)
            if m is None:
                return None
            yy, mo, dd, hh, mi, ss = map(int, m.groups())
            stamp = datetime(2000 + yy, mo, dd, hh, mi, ss)
    except ValueError:
        return None
    return (stamp - EPOCH) // _US


def us_to_datetime(us: int) -> datetime:
    """The naive datetime of a :func:`time_us` value."""
    return EPOCH + timedelta(microseconds=us)


class Scanner:
    """Parses the blocks of one input in order, keeping line numbers and the last time."""

    def __init__(self, source: str, first_line: int = 1) -> None:
        self.source = source
        self.line = first_line
        self.last_time: int | None = None
        self.stats = ScanStats()
        self._times: dict[str, int | None] = {}
        self._users: dict[str, tuple[str, str | None, str | None]] = {}
        self._layouts: dict[tuple[str, ...], tuple[tuple[str, ...], int, int]] = {}
        self._names: dict[tuple[str, ...], tuple[str, ...]] = {}

    def scan_block(self, text: str) -> Block:
        """The entries of ``text`` (as for :meth:`scan`) as a :class:`Block`.

        A block of regular entries only is parsed column-wise by a few regex passes over
        the whole text; any other block entry by entry.
        """
        block = self._regular(text)
        if block is None and not text.startswith("#"):
            block = self._after_banner(text)
        return block if block is not None else Block.from_entries(self.scan(text))

    def _after_banner(self, text: str) -> Block | None:
        """The block of ``text`` if it is a server banner (a log's first lines, or a
        restart or ``FLUSH SLOW LOGS``) followed by a run of regular entries, else None."""
        m = _LEADING_BANNER.match(text)
        if m is None or not text.startswith("#", m.end()):
            return None
        banner = text.count("\n", 0, m.end())
        self.line += banner
        block = self._regular(text[m.end():])
        if block is None:
            self.line -= banner
        else:
            self.stats.banner_lines += banner
        return block

    def _regular(self, text: str) -> Block | None:
        """The block of ``text`` if it is a run of regular entries, else None."""
        # cheap refusals first: a run ends with a statement's ';', starts with an entry
        if not text.endswith((";\n", ";")) or ENTRY.match(text) is None:
            return None
        found = ENTRY.findall(text)
        if not found:
            return None
        wholes, time_texts, uhs, heads, uses, stamps, admin, sqls = zip(*found, strict=True)
        if sum(map(len, wholes)) != len(text):
            return None
        if _has_banner("\n".join(sqls)):  # a banner can only hide in a statement
            return None
        n = len(found)
        layouts = _layouts(heads, n)
        if layouts is None:
            return None
        if any(admin):
            _zero_admin(layouts, admin)
        schemas = np.full(n, None, dtype=object)
        for names, rows, table in layouts:
            if "Schema" in names:  # empty (no default database): the db is unknown
                column = table[:, names.index("Schema")]
                schemas[rows] = np.where(column == "", None, column)
        db_list: list[str | None] = schemas.tolist()
        if any(uses):
            cache: dict[str, str] = {}
            for i in compress(range(n), uses):
                use = uses[i]
                db = cache.get(use)
                if db is None:
                    db = cache[use] = use.strip().strip("`")
                db_list[i] = db
        users = self._users
        for uh in set(uhs):
            if uh not in users:
                if len(users) > _CACHE_LIMIT:
                    users.clear()
                users[uh] = _user_host(uh) if uh else (None, None, None, None)
        who = {uh: users[uh][:2] for uh in set(uhs)}
        ips = {uh: users[uh][3] for uh in set(uhs)}
        sqls = list(sqls)
        for i in compress(range(n), admin):  # an admin command is the entry's statement
            sqls[i] = admin[i]
        times = self._block_times(time_texts, stamps)
        lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        stats = self.stats
        stats.events += n
        stats.event_lines += lines
        block = Block(sqls, times, db_list, list(uhs), who, layouts, None, wholes,
                      self.line, admin, text, ips=ips)
        self.line += lines
        return block

    def _block_times(self, texts: tuple[str, ...], stamps: tuple[str, ...]) -> np.ndarray:
        """Event times of a run of entries (as :meth:`_time` gives them one by one)."""
        cache = self._times
        for t in set(texts):
            if t and t not in cache:
                if len(cache) > _CACHE_LIMIT:
                    cache.clear()
                cache[t] = time_us(t.strip())
        parsed = np.array([NO_TIME if not t or cache.get(t) is None else cache[t]
                           for t in texts], np.int64)
        known = parsed != NO_TIME
        if known.all():
            times = parsed
        else:
            last = np.maximum.accumulate(np.where(known, np.arange(len(texts)), -1))
            before = NO_TIME if self.last_time is None else self.last_time
            times = np.where(last >= 0, parsed[np.maximum(last, 0)], before)
            if before == NO_TIME:  # no time yet: SET timestamp, then inherited
                head = int(np.argmax(known)) if known.any() else len(texts)
                current = NO_TIME
                for i in range(head):
                    if current == NO_TIME and stamps[i]:
                        current = int(stamps[i]) * 1_000_000
                    times[i] = current
        if times[-1] != NO_TIME:
            self.last_time = int(times[-1])
        return times

    def scan(self, text: str) -> list[Entry]:
        """Entries of ``text``, which starts at an entry boundary and ends at one (or EOF)."""
        out: list[Entry] = []
        pieces = text.split(";\n#")
        if _ADMIN in text:
            pieces = _join_admin(pieces)
        bodies: dict[int, int] = {}
        if "\nuse " in text or "\nSET " in text:
            pieces, bodies = _headless(pieces)
        banners = _has_banner(text)
        last = len(pieces) - 1
        for i in range(last):
            piece = "#" + pieces[i] if i else pieces[i]
            start = self.line
            self.line += piece.count("\n") + 1
            has_banner = banners and _has_banner(piece)
            if not has_banner and i not in bodies and self._fast(piece, start, out):
                continue
            lines = piece.split("\n")
            if has_banner:
                self._scan_with_banners(lines, start, out, bodies.get(i, ()))
            else:
                self._entry(lines, start, out, bodies.get(i, (None,))[0])
        lines = pieces[last].split("\n")
        if last:
            lines[0] = "#" + lines[0]
        if lines[-1] == "":
            lines.pop()
        blank = 0
        while lines and not lines[-1].strip():
            lines.pop()
            blank += 1
        start = self.line
        self.line += len(lines) + blank
        self.stats.banner_lines += blank
        if lines:
            if lines[-1].endswith(";"):
                lines[-1] = lines[-1][:-1]
            if banners and _has_banner(pieces[last]):
                self._scan_with_banners(lines, start, out, bodies.get(last, ()))
            else:
                self._entry(lines, start, out, bodies.get(last, (None,))[0])
        return out

    def _fast(self, piece: str, start: int, out: list[Entry]) -> bool:
        """Parse a well-formed entry with one regex; False leaves it to :meth:`_entry`."""
        m = HEAD.match(piece)
        end = m.end()
        sql = piece[end:]
        time_text, uh, head, db, set_ts = m.groups()
        if (not sql or sql.startswith(("#", USE, "SET ")) or TIME in head
                or USER_HOST in head or ADMIN in head):
            return False
        cut = head.find(EXPLAIN)
        tokens = (head if cut < 0 else head[:cut])[1:].replace("\n#", "\n").split()
        keys = tuple(tokens[::2])
        layout = self._layouts.get(keys)
        if layout is None:
            layout = self._layouts[keys] = _layout(keys, len(tokens))
        names, qt_at, schema_at = layout
        if qt_at < 0 or len(tokens) != 2 * len(names):
            return False
        values = tokens[1::2]
        qt = values[qt_at]
        if not (qt.replace(".", "", 1).isdigit() or NUMBER.fullmatch(qt)):
            return False
        if uh is None:
            user = host = thread = ip = None
        else:
            parsed = self._users.get(uh)
            if parsed is None:
                if len(self._users) > _CACHE_LIMIT:
                    self._users.clear()
                parsed = self._users[uh] = _user_host(uh)
            user, host, thread, ip = parsed
        if time_text is None and self.last_time is not None:
            when = self.last_time
        else:
            when = self._time(time_text, set_ts)
        if db is not None:
            db = db.strip().strip("`")
        elif schema_at >= 0:
            db = values[schema_at] or None
        explain = [x.strip() for x in EXPLAIN_LINE.findall(head)] if cut >= 0 else None
        stats = self.stats
        stats.events += 1
        stats.event_lines += self.line - start
        out.append(Entry(sql, when, user, host, db, names, values, thread, explain,
                         start + piece.count("\n", 0, end), ip))
        return True

    def _time(self, time_text: str | None, set_ts: str | None) -> int | None:
        """The event time: its ``# Time:``, else the previous event's, else SET timestamp."""
        when = None
        if time_text is not None:
            when = self._times.get(time_text, -1)
            if when == -1:
                if len(self._times) > _CACHE_LIMIT:
                    self._times.clear()
                when = self._times[time_text] = time_us(time_text.strip())
        if when is None:
            when = self.last_time
        if when is None and set_ts is not None:
            when = int(set_ts) * 1_000_000
        if when is not None:
            self.last_time = when
        return when

    def _scan_with_banners(self, lines: list[str], start: int, out: list[Entry],
                           bodies: tuple[int, ...] = ()) -> None:
        """Drop banner lines; a '#' line after a banner or a ';' line starts a new entry
        (not at ``bodies``, where statements starting with '#' begin, see _headless)."""
        segment: list[str] = []
        seg_start = start
        boundary = True
        for n, line in enumerate(lines, start):
            if BANNER.match(line):
                self.stats.banner_lines += 1
                boundary = True
                continue
            if (boundary and line.startswith("#") and segment
                    and not line.startswith(ADMIN) and n - start not in bodies):
                headless = segment[-1].endswith(";") and segment[-1].startswith(
                    (USE, "SET ")) and META_ONLY.fullmatch("\n".join(segment))
                if segment[-1].endswith(";"):
                    segment[-1] = segment[-1][:-1]
                self._entry(segment, seg_start, out, _within(bodies, seg_start - start, segment)
                            or (-1 if headless else None))
                segment = []
            if not segment:
                seg_start = n
            segment.append(line)
            boundary = line.endswith(";")
        if segment:
            if boundary and len(segment) < len(lines) and segment[-1].endswith(";"):
                segment[-1] = segment[-1][:-1]  # a banner ended the piece
            self._entry(segment, seg_start, out,
                        _within(bodies, seg_start - start, segment)
                        or (-1 if bodies[-1:] == (-1,) else None))

    def _skip(self, line: int, count: int, reason: str) -> None:
        stats = self.stats
        stats.skipped += 1
        stats.skipped_lines += count
        stats.warnings_total += 1
        if len(stats.warnings) < MAX_WARNINGS:
            stats.warnings.append((self.source, line, reason))

    def _entry(self, lines: list[str], start: int, out: list[Entry],
               body: int | None = None) -> None:
        """Parse one entry's lines (a stale partial header before it is skipped).

        ``body``: the statement starts at this line whatever it holds; -1: the entry
        has no statement and stands for ``/* No query */`` (see :func:`_headless`).
        """
        first = 0
        n = len(lines)
        i = 0
        time_text = user = host = db = admin = set_line = thread = ip = None
        attrs: dict[str, str] = {}
        explain: list[str] | None = None
        while i < n and i != body:
            line = lines[i]
            if line[:1] == "#":
                if line.startswith(TIME):
                    if time_text is not None or user is not None or attrs:
                        self._skip(start + first, i - first, "entry without a statement")
                        first, user, host, db, admin, set_line, attrs, explain, thread, ip = (
                            i, None, None, None, None, None, {}, None, None, None)
                    time_text = line[len(TIME):].strip()
                    at = time_text.find(USER_HOST)
                    if at >= 0:  # MySQL 5.0/5.1 replication threads: one line for both
                        user, host, thread, ip = _user_host(
                            time_text[at + len(USER_HOST) + 1:])
                        time_text = time_text[:at].strip()
                elif line.startswith(USER_HOST):
                    if user is not None or attrs:
                        self._skip(start + first, i - first, "entry without a statement")
                        first, time_text, db, admin, set_line, attrs, explain = (
                            i, None, None, None, None, {}, None)
                        thread = None
                    user, host, thread, ip = _user_host(line[len(USER_HOST) + 1:])
                elif line.startswith(ADMIN):
                    admin = line[2:].strip().rstrip(";")
                elif line.startswith(EXPLAIN):
                    if explain is None:
                        explain = []
                    explain.append(line[len(EXPLAIN):].strip())
                elif ATTR_LINE.match(line):
                    attrs.update(_pairs(line))
            elif line.startswith(USE):
                if db is None:
                    m = USE_LINE.match(line)
                    db = m.group(1).strip().strip("`") if m else None
            elif line.startswith("SET ") and SET_LINE.match(line):
                if set_line is None:
                    set_line = line
            else:
                break
            i += 1
        count = n - first
        if i < n:
            sql = "\n".join(lines[i:]) if i + 1 < n else lines[i]
        elif admin is not None:
            sql = admin
            for name in ZERO_FOR_ADMIN:
                if name in attrs:
                    attrs[name] = "0"
        elif body == -1:
            sql = NO_QUERY
        else:
            self._skip(start + first, count, "entry without a statement")
            return
        # a bare admin command (a rotated log's first line, its header in the file before)
        # is counted untimed, as pt-query-digest counts it
        bare_admin = admin is not None and not attrs and time_text is None and user is None
        if not bare_admin and ("Query_time" not in attrs
                               or not NUMBER.fullmatch(attrs["Query_time"])):
            self._skip(start + first, count, "entry without a valid Query_time")
            return
        set_ts = None
        if set_line is not None:
            m = SET_TIMESTAMP.search(set_line)
            set_ts = m.group(1) if m else None
        when = self._time(time_text, set_ts)
        if db is None:
            db = attrs.get("Schema") or None
        self.stats.events += 1
        self.stats.event_lines += count
        names = tuple(attrs)
        names = self._names.setdefault(names, names)
        out.append(Entry(sql, when, user, host, db, names, list(attrs.values()), thread,
                         explain, start + i, ip))


def _zero_admin(layouts: list[Layout], admin: tuple[str, ...]) -> None:
    """Set the :data:`ZERO_FOR_ADMIN` values of admin-command entries to ``"0"``."""
    is_admin = np.fromiter(map(bool, admin), bool, len(admin))
    for names, rows, table in layouts:
        columns = [names.index(x) for x in ZERO_FOR_ADMIN if x in names]
        chosen = np.flatnonzero(is_admin[rows])
        if columns and len(chosen):
            table[np.ix_(chosen, columns)] = "0"


def _within(bodies: tuple[int, ...], first: int, segment: list[str]) -> int | None:
    """The line of ``segment`` (starting at line ``first`` of its piece) where one of
    ``bodies`` (lines of the piece) is, else None."""
    return next((b - first for b in bodies if 0 < b - first < len(segment)), None)


def _ends_headless(piece: str) -> bool:
    """Whether the last entry of ``piece`` is header lines only (after any banner)."""
    lines = piece.split("\n")
    i = len(lines)
    while i and META_ONLY.fullmatch(lines[i - 1]):
        i -= 1
    return i < len(lines) and (i == 0 or BANNER.match(lines[i - 1]) is not None)


def _headless(pieces: list[str]) -> tuple[list[str], dict[int, tuple[int, ...]]]:
    """pt-query-digest's reading of entries made of header lines only (with ``use`` or
    ``SET timestamp`` as their last line, so the log has a ``;\\n#`` right after them).

    If the next piece starts like an entry (``# Time:``, ``# Query_time:`` ...), the entry
    stands for ``/* No query */``; otherwise the next piece is its statement (a statement
    whose first line begins with ``#``). Returns the pieces (such runs joined) and, per
    piece index, the lines where such statements start, or (-1,) when its last entry has
    none, as :meth:`Scanner._entry` and :meth:`Scanner._scan_with_banners` take them.
    """
    out: list[str] = []
    bodies: dict[int, tuple[int, ...]] = {}
    i, n = 0, len(pieces)
    while i < n:
        piece = pieces[i]
        found: tuple[int, ...] = ()
        while (i + 1 < n and piece[piece.rfind("\n") + 1:].startswith((USE, "SET "))
               and _ends_headless(piece if not out else "#" + piece)):
            after = pieces[i + 1]
            if ENTRY_START.match(after):
                found += (-1,)
                break
            found += (piece.count("\n") + 1,)
            piece += ";\n#" + after
            i += 1
        if found:
            bodies[len(out)] = found
        out.append(piece)
        i += 1
    return out, bodies


def _layouts(heads: tuple[str, ...], n: int) -> list[Layout] | None:
    """(names, rows, values) per attribute layout of regular entry headers; None if odd.

    Headers are grouped by their text without digits; each group's layout comes from
    its first header and is then checked on every header of the group, token by token.
    """
    shapes = "\x00".join(heads).translate(_NO_DIGITS).split("\x00")
    if len(shapes) != n:  # a NUL in a header
        return None
    first = dict(zip(reversed(shapes), range(n - 1, -1, -1), strict=True))
    templates: dict[tuple[str | None, ...], int] = {}
    kind: dict[str, int] = {}
    for shape, i in first.items():
        template = _template(heads[i])
        if template is None:
            return None
        kind[shape] = templates.setdefault(template, len(templates))
    every = (np.fromiter(map(kind.__getitem__, shapes), np.int64, n) if len(templates) > 1
             else None)
    out: list[Layout] = []
    for template, code in templates.items():
        if every is None:
            rows = np.arange(n, dtype=np.int64)
            group = heads
        else:
            rows = np.flatnonzero(every == code)
            group = list(map(heads.__getitem__, rows.tolist()))
        names = tuple(sys.intern(template[j - 1][:-1])  # type: ignore[index]
                      for j, x in enumerate(template) if x is None or x == "")
        if "Query_time" not in names or len(set(names)) != len(names):
            return None
        values = _template_values(template, group)
        if values is None:  # a header differs from its group's first
            return None
        qt = values[:, names.index("Query_time")].tolist()
        if not _QT_COLUMN.fullmatch("\n".join(qt) + "\n"):
            return None
        out.append((names, rows, values))
    if len(out) > 1:  # one layout per list of names
        merged: dict[tuple[str, ...], list[Layout]] = {}
        for layout in out:
            merged.setdefault(layout[0], []).append(layout)
        out = [(names, np.concatenate([x[1] for x in group]), np.vstack([x[2] for x in group]))
               for names, group in merged.items()]
    return out


def _template_values(template: tuple[str | None, ...], group: list[str] | tuple[str, ...]
                     ) -> np.ndarray | None:
    """The values of headers of one template (rows of an object array), None if one of
    them does not match it.

    Headers of one template have as many lines as it (a group shares the text without
    digits), so the block's lines are cut into one column per template line. Each line
    is matched by its line of the template; lines repeat a lot (``# Full_scan: No ...``),
    so each column is matched once per distinct line and the values are gathered, except
    the ``Query_time`` line, which hardly ever repeats.
    """
    lines = "".join(group).split("\n")
    patterns = _line_patterns(template)
    n, width = len(group), len(patterns)
    if len(lines) != n * width + 1:
        return None
    columns = []
    for p, (pattern, size, unique) in enumerate(patterns):
        column = lines[p:n * width:width]
        distinct = column if unique else list(dict.fromkeys(column))
        found = pattern.findall("\n".join(distinct))
        if len(found) != len(distinct):
            return None
        if not size:
            continue
        values = np.array(found, dtype=object).reshape(len(distinct), size)
        if len(distinct) < n:
            at = dict(zip(distinct, range(len(distinct)), strict=True))
            values = values[np.fromiter(map(at.__getitem__, column), np.intp, n)]
        columns.append(values)
    return np.hstack(columns) if len(columns) > 1 else columns[0]


_VALUE, _EMPTY = r" +(\S+)", "()"
_LINE_PATTERNS: dict[tuple[str | None, ...], list[tuple[re.Pattern, int, bool]]] = {}


def _line_patterns(template: tuple[str | None, ...]) -> list[tuple[re.Pattern, int, bool]]:
    """Per line of ``template``: a regex matching whole lines of it (findall over lines
    joined by newlines), its number of values, and whether it holds ``Query_time``."""
    found = _LINE_PATTERNS.get(template)
    if found is None:
        found = []
        for token in template:
            if token == "#":
                found.append(["#"])
            elif token is None:
                found[-1].append(_VALUE)
            else:  # a name, or an empty value: an empty group, so it is a column too
                found[-1].append(" +" + re.escape(token) if token else _EMPTY)
        if len(_LINE_PATTERNS) > 1000:
            _LINE_PATTERNS.clear()
        found = _LINE_PATTERNS[template] = [
            (re.compile("^" + "".join(parts) + " *$", re.M),
             parts.count(_VALUE) + parts.count(_EMPTY),
             " +Query_time:" in parts) for parts in found]
    return found


def _template(head: str) -> tuple[str | None, ...] | None:
    """The tokens of a header's attribute lines: "#" per line, each name with its ":",
    None for each value, "" for an empty value; None if irregular.

    >>> _template("# Thread_id: 5  Schema:   QC_hit: No\\n")
    ('#', 'Thread_id:', None, 'Schema:', '', 'QC_hit:', None)
    """
    if not ATTR_LINES.fullmatch(head):
        return None
    out: list[str | None] = []
    for line in head.split("\n")[:-1]:
        out.append("#")
        for name, value in PAIRS_OR_EMPTY.findall(line):
            out.extend((name + ":", None if value else ""))
    return tuple(out)


def read_events(
    paths: str | os.PathLike | list, *, stats: ScanStats | None = None
) -> Iterator[QueryEvent]:
    """Every event of the given slow logs, in order, as QueryEvent objects.

    ``stats``, if given, receives the counts and warnings of the whole read.
    """
    total = stats if stats is not None else ScanStats()
    for name in expand_paths(paths):
        scanner = Scanner(name)
        with closing_input(open_input(name)) as stream:
            for text, raw in iter_blocks(stream):
                scanner.stats.bytes_read += raw
                entries = scanner.scan(text)
                check_is_slowlog(scanner)
                for entry in entries:
                    yield to_event(entry, name)
        check_is_slowlog(scanner, final=True)
        total.merge(scanner.stats)


def check_is_slowlog(scanner: Scanner, final: bool = False) -> None:
    """Raise InputError when an input has lines but no event and no server banner."""
    stats = scanner.stats
    if stats.events or stats.banner_lines or not stats.lines:
        return
    if final or stats.lines > 1000:
        raise InputError(
            f"{scanner.source}: not a slow log (no '# Query_time:' entry in "
            f"{stats.lines} lines)"
        )


def metric_value(raw: str) -> float | None:
    """A slow-log attribute value as a number: numbers as such, Yes/No as 1/0, else None."""
    if raw == "Yes":
        return 1.0
    if raw == "No":
        return 0.0
    return float(raw) if NUMBER.fullmatch(raw) else None


def to_event(entry: Entry, source: str) -> QueryEvent:
    """The QueryEvent of one entry: core metrics, other numbers in extra, the rest in flags."""
    extra: dict[str, float] = {}
    flags: dict[str, str] = {}
    for name, raw in zip(entry.names, entry.values, strict=True):
        key = name.lower()
        value = None if key in NOT_METRICS else metric_value(raw)
        if value is None:
            flags[key] = raw
        else:
            extra[key] = value
    if entry.thread is not None:
        flags.setdefault("thread_id", entry.thread)
    if entry.explain:
        flags["explain"] = "\n".join(entry.explain)
    return QueryEvent(
        sql=entry.sql,
        # 0 only for a bare admin command whose header went to an earlier (rotated) file
        query_time=extra.pop("query_time", 0.0),
        lock_time=extra.pop("lock_time", 0.0),
        rows_sent=int(extra.pop("rows_sent", 0)),
        rows_examined=int(extra.pop("rows_examined", 0)),
        time=None if entry.time is None else us_to_datetime(entry.time),
        user=entry.user,
        host=entry.host,
        db=entry.db,
        extra=extra,
        flags=flags,
        source=source,
        line=entry.line,
    )
