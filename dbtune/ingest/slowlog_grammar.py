"""The slow-log grammar, once: header lines, attribute pairs, time formats, banners.

Every parser path of :mod:`dbtune.ingest.slowlog` (the column-wise block reader, the
one-regex entry reader and the careful line-by-line reader) and the input sniffing are
built from the names below, so a format detail is written in one place.

>>> TIME_FORMATS[1].pattern.match("240513  9:05:01").groups()
('24', '05', '13', '9', '05', '01')
>>> bool(BANNER.match("mariadbd, Version: 11.4.2-MariaDB-log (x). started with:"))
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Header lines, as the servers write them (the careful reader tests these prefixes).
TIME = "# Time:"
USER_HOST = "# User@Host:"
ADMIN = "# administrator command:"
EXPLAIN = "# explain:"
USE = "use "
#: ``SET`` lines the server writes before a statement (pt-query-digest's list).
SET_HEADERS = ("timestamp", "insert_id", "last_insert_id")

#: An attribute name (``Query_time``, ``Rows_examined``, ``InnoDB_IO_r_ops`` ...).
NAME = r"[A-Z][A-Za-z_]+"
# A Time value never holds '#': a Time line carrying User@Host is not a plain Time line.
_TIME_VALUE = r"([^\n#]*)"
_SET = r"SET (?:" + "|".join(SET_HEADERS) + ")"
_ADMIN_ARG = r"(administrator command: [A-Za-z]+(?: [A-Za-z_]+)*)"


@dataclass(frozen=True)
class TimeFormat:
    """One ``# Time:`` value format: which servers write it, what recognises it (the ISO
    one is then read by datetime.fromisoformat, the other by its groups), its zone."""

    servers: str
    pattern: re.Pattern
    zone: str


#: The ``# Time:`` formats: ISO 8601, then YYMMDD H:MM:SS.
TIME_FORMATS = (
    TimeFormat("MySQL 5.7+, Percona Server 5.7+", re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d"),
               "Z or an offset: converted to UTC; none: the log's clock"),
    TimeFormat("MariaDB, MySQL 5.0-5.6",
               re.compile(r"(\d\d)(\d\d)(\d\d)\s+(\d\d?):(\d\d):(\d\d)$"),
               "none: the log's clock"),
)

#: Attributes that are identifiers or timestamps, not metrics (pt-query-digest's
#: --ignore-attributes plus the log_slow_extra Start/End stamps).
NOT_METRICS = frozenset(
    {"thread_id", "id", "timestamp", "insert_id", "last_insert_id", "schema", "start", "end",
     "innodb_trx_id"}
)
#: Attributes an admin command reports as 0 (pt-query-digest's former --zero-admin).
ZERO_FOR_ADMIN = ("Rows_sent", "Rows_examined", "Rows_read", "Rows_affected")
#: The statement of an entry that has none (pt-query-digest's placeholder).
NO_QUERY = "/* No query */"

#: A server start-up banner line (with or without the binary's path).
BANNER = re.compile(
    r"^(?:T[cC][pP]\s[pP]ort:\s+\d+|(?:[/A-Za-z][^\n]*?)?(?:mysqld|mariadbd),\sVersion.*"
    r"(?:started\swith:|embedded\slibrary)|Time\s+Id\s+Command)",
    re.M,
)
#: A line only slow logs hold (bytes, for sniffing an input's first part).
SLOWLOG_LINE = re.compile(
    rb"^(?:# (?:Time|User@Host|Query_time): |# administrator command: |T[cC][pP] [pP]ort: )"
    rb"|(?:mysqld|mariadbd), Version: ", re.M)
#: Line starts after which a block is never cut (an entry of header lines reads on).
HEADER_ENDS = tuple(x.encode() for x in (USE, *("SET " + h for h in SET_HEADERS)))

#: The value of a User@Host line: user, host, IP, thread id.
USER_HOST_VALUE = re.compile(r"\s*([^\[]+|\[[^\[]+\]).*?@ (\S*) \[(.*?)\]\s*(?:Id:\s*(\d+))?")
#: A well-formed entry: optional Time and User@Host lines, '#' lines, use, SET timestamp.
HEAD = re.compile(
    rf"(?:{TIME} {_TIME_VALUE}\n)?(?:{USER_HOST} ([^\n]*)\n)?((?:#[^\n]*\n)*)"
    rf"(?:{USE}([^;\n]+);\n)?(?:SET timestamp=(\d+);\n)?"
)
#: One regular entry, matched over a whole block (findall): the entry, Time, User@Host,
#: attribute lines, use, SET timestamp, admin command, statement. '#' and '# explain:'
#: lines may follow the attribute lines. A statement may start with ``SET`` (``SET NAMES
#: utf8mb4;``, which every new connection of many clients sends) unless it is one of the
#: SET lines the entry reader takes for header lines (:data:`SET_HEADERS`). It only
#: starts at the block's start or after an entry's ";\n", so findall fails in linear time
#: on a block that is not a run of them.
ENTRY = re.compile(
    r"(?:\A|(?<=;\n))"
    rf"((?:{TIME} {_TIME_VALUE}\n)?(?:{USER_HOST} (\S[^\n]*)\n)?((?:# +[A-Z][^\n]*\n|#\n)*)"
    rf"(?:#(?: explain:[^\n]*)?\n)*(?:{USE}([^;\n]+);\n)?(?:SET timestamp=(\d+);\n)?"
    rf"(?:# {_ADMIN_ARG};"
    rf"|(?!#|{USE}|{_SET})([^;]*(?:;(?!\n#)[^;]*)*);)(?:\n|\Z))"
)
#: Over a block of '#' lines: pairs on attribute lines, ('', '') for any other line; an
#: empty value (MariaDB's "Schema:  QC_hit: No") stays empty.
ATTRS = re.compile(
    rf"^#(?! +{NAME}: \S)[^\n]*|(?<!\w)(\w+):(?:[ \t]+(?!\w+:(?:\s|$))(\S+))?", re.M
)
#: An attribute line (pt-query-digest's cheap test).
ATTR_LINE = re.compile(rf"# +{NAME}: \S")
EXPLAIN_LINE = re.compile(rf"^{EXPLAIN} ?([^\n]*)", re.M)
USE_LINE = re.compile(rf"{USE}([^;]+)")
SET_LINE = re.compile(_SET)
SET_TIMESTAMP = re.compile(r"timestamp\s*=\s*(\d+)")
NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")
# "Name: value" with a non-empty value, for the column-wise reader's header templates.
_PAIR = rf"({NAME}): +((?![A-Za-z_]+:)\S*[^\s:])"
PAIRS = re.compile(_PAIR)
# The same, or a name with an empty value, which MariaDB writes for a connection without
# a default database (``# Thread_id: 5  Schema:   QC_hit: No``); not first on its line,
# where the entry reader does not take the line for an attribute line.
_PAIR_OR_EMPTY = rf"({NAME}):(?: +((?![A-Za-z_]+:)\S*[^\s:]))?(?!\S)"
#: (name, value or '') of each pair of an attribute line.
PAIRS_OR_EMPTY = re.compile(_PAIR_OR_EMPTY)
#: Attribute lines holding only such pairs (the first with a value), and '#' lines.
ATTR_LINES = re.compile(rf"(?:#\n|# +(?!Time:){_PAIR}(?: +{_PAIR_OR_EMPTY})* *\n)*")
#: Lines pt-query-digest takes for header lines; an entry of nothing else, up to its ';'.
META_ONLY = re.compile(rf"(?:(?:#|{USE}|{_SET})[^\n]*(?:\n|\Z))+")
#: What follows the '#' of a piece that starts a new entry (pt: "\s*[A-Z][a-z_]+: ").
ENTRY_START = re.compile(r"\s*(?:[A-Z][a-z_]+|User@Host): ")
