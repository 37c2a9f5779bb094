"""Online-DDL notes: which ALGORITHM and LOCK a change allows, by flavour and version.

A machine-readable table (in the manner of Vitess's ``schemadiff/capability.go``): for
each operation an ALTER performs, the most efficient algorithm and the least lock the
server accepts. :func:`online_note` reads it for the statements of one step, writes the
clauses into the statement where asking for them is safe (the server then refuses rather
than silently blocking writes), and adds what a DBA needs for a large table: build time
and temporary disk estimated from the table's size, pt-online-schema-change and gh-ost
command lines, and the replica-lag warning.

>>> capability("drop_index", Target("mariadb", "10.11"))
Capability(algorithm='NOCOPY', lock='NONE', rebuild=False)
>>> capability("drop_index", Target("mysql", "8.0"))
Capability(algorithm='INPLACE', lock='NONE', rebuild=False)
>>> with_online_clauses("ALTER TABLE `t` ADD INDEX `ix` (`a`)", Target("mariadb", "10.11"))
'ALTER TABLE `t` ADD INDEX `ix` (`a`), ALGORITHM=NOCOPY, LOCK=NONE'
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

#: algorithms from the least to the most efficient (MariaDB's hierarchy; MySQL has no NOCOPY)
ALGORITHMS = ("COPY", "INPLACE", "NOCOPY", "INSTANT")
LOCKS = ("EXCLUSIVE", "SHARED", "NONE")
#: tables above this size get pt-online-schema-change / gh-ost lines, and a COPY on one is
#: refused by the lint (skeema's "safe below size" idea)
LARGE_TABLE_BYTES = 1 << 30
#: rough rates of an index build on a server SSD, for the estimate only
SCAN_BYTES_PER_S = 200e6
SORT_BYTES_PER_S = 50e6


@dataclass(frozen=True)
class Target:
    """The server the migration is for: ``mysql`` or ``mariadb`` and "major.minor"
    (None: the weakest of every supported version of the flavour, or of both)."""

    flavour: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> Target:
        """``"mariadb 10.11"``, ``"mysql-8.0.36"``, ``"8.4"`` (MySQL) or None.

        >>> Target.parse("MariaDB-10.11.19")
        Target(flavour='mariadb', version='10.11')
        """
        if not text:
            return cls()
        match = re.match(r"\s*(mysql|mariadb)?[\s-]*(\d+\.\d+)?", text, re.IGNORECASE)
        if not match or not any(match.groups()):
            raise ValueError(f"server {text!r}: expected e.g. 'mysql 8.0' or 'mariadb 10.11'")
        flavour = (match.group(1) or "mysql").lower()
        return cls(flavour, match.group(2))

    def __str__(self) -> str:
        if self.flavour is None:
            return "any supported server"
        return f"{'MariaDB' if self.flavour == 'mariadb' else 'MySQL'} {self.version or '(any)'}"


@dataclass(frozen=True)
class Capability:
    """How an operation can run: best algorithm, least lock, whether the table is rebuilt."""

    algorithm: str
    lock: str
    rebuild: bool = False


_INDEX_MYSQL = Capability("INPLACE", "NONE")
_INDEX_MARIADB = Capability("NOCOPY", "NONE")
_REBUILD = Capability("INPLACE", "NONE", rebuild=True)
_COPY = Capability("COPY", "SHARED", rebuild=True)

#: flavour -> versions the table was checked for (MySQL docs' online DDL tables; MariaDB
#: 10.11 checked on a server by tests/test_propose_online.py)
VERSIONS = {"mysql": ("8.0", "8.4"), "mariadb": ("10.6", "10.11", "11.4", "11.8")}
#: operation -> flavour -> capability (the same for every version in VERSIONS)
CAPABILITIES: dict[str, dict[str, Capability]] = {
    "add_index": {"mysql": _INDEX_MYSQL, "mariadb": _INDEX_MARIADB},
    "drop_index": {"mysql": _INDEX_MYSQL, "mariadb": _INDEX_MARIADB},
    "rename_index": {"mysql": Capability("INSTANT", "NONE"),
                     "mariadb": Capability("INSTANT", "NONE")},
    "add_fulltext": {"mysql": Capability("INPLACE", "SHARED"),
                     "mariadb": Capability("INPLACE", "SHARED")},
    "primary_key": {"mysql": _REBUILD, "mariadb": _REBUILD},
    "drop_primary_key": {"mysql": _COPY, "mariadb": _COPY},
    "partition": {"mysql": _COPY, "mariadb": _COPY},
    "other": {"mysql": _COPY, "mariadb": _COPY},
}

_CLAUSE = re.compile(r",\s*(?:ALGORITHM|LOCK)\s*=?\s*\w+", re.IGNORECASE)


def operations(statement: str) -> list[str]:
    """The operations (keys of :data:`CAPABILITIES`) one ALTER TABLE performs.

    >>> operations("ALTER TABLE `t` DROP INDEX `a`, ADD INDEX `a` (`x`)")
    ['drop_index', 'add_index']
    >>> operations("ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (id, day)")
    ['primary_key']
    """
    sql = re.sub(r"`(?:[^`]|``)*`", "`x`", statement).upper()
    if not sql.lstrip().startswith(("ALTER TABLE", "CREATE INDEX", "CREATE UNIQUE INDEX",
                                    "DROP INDEX")):
        return ["other"]
    if re.search(r"\b(PARTITION\s+BY|REMOVE\s+PARTITIONING)\b", sql):
        return ["partition"]
    if "PRIMARY KEY" in sql:
        adds = re.search(r"\bADD\s+(CONSTRAINT\s+\S+\s+)?PRIMARY\s+KEY\b", sql)
        return ["primary_key" if adds else "drop_primary_key"]
    found = []
    for match in re.finditer(r"\b(ADD|DROP|RENAME)\s+(FULLTEXT\s+|SPATIAL\s+|UNIQUE\s+)?"
                             r"(INDEX|KEY)\b", sql):
        verb, kind = match.group(1), (match.group(2) or "").strip()
        found.append("add_fulltext" if kind in ("FULLTEXT", "SPATIAL") and verb == "ADD"
                     else f"{verb.lower()}_index")
    if sql.lstrip().startswith("CREATE"):
        found.append("add_fulltext" if re.search(r"\b(FULLTEXT|SPATIAL)\b", sql)
                     else "add_index")
    elif sql.lstrip().startswith("DROP INDEX"):
        found.append("drop_index")
    if not found or re.search(r"\b(MODIFY|CHANGE|COLUMN|ENGINE|CONVERT|FOREIGN|CHECK)\b",
                              sql):
        found.append("other")
    return found


def capability(operation: str, target: Target) -> Capability:
    """The capability of ``operation`` on ``target``; for an unknown flavour, the weakest
    of both flavours (what every supported server accepts)."""
    row = CAPABILITIES.get(operation, CAPABILITIES["other"])
    if target.flavour in row:
        return row[target.flavour]
    return weakest(list(row.values()))


def weakest(capabilities: list[Capability]) -> Capability:
    """What a statement combining these operations can ask for: the least efficient
    algorithm and the strongest lock among them."""
    return Capability(min((c.algorithm for c in capabilities), key=ALGORITHMS.index),
                      min((c.lock for c in capabilities), key=LOCKS.index),
                      any(c.rebuild for c in capabilities))


def with_online_clauses(statement: str, target: Target) -> str:
    """``statement`` with the ALGORITHM/LOCK the target allows, where asking is safe: index
    operations and primary-key rebuilds (the server then errors instead of locking);
    COPY changes and partitioning are left as written (their note says what they lock)."""
    ops = operations(statement)
    cap = weakest([capability(op, target) for op in ops])
    if cap.algorithm == "COPY" or "other" in ops or not statement.upper().startswith("ALTER"):
        return statement
    bare = _CLAUSE.sub("", statement)
    return f"{bare}, ALGORITHM={cap.algorithm}, LOCK={cap.lock}"


@dataclass
class OnlineNote:
    """What one step's statements do to the server while they run."""

    target: str
    algorithm: str
    lock: str
    rebuild: bool
    table_bytes: int | None
    est_seconds: float | None
    temp_bytes: int | None
    large: bool
    lines: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    #: the up statements' time on a sandbox holding the data, where one ran them
    measured_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def online_note(statements: list[str], *, table: str, target: Target,
                table_bytes: int | None, index_bytes: int | None = None,
                large_bytes: int = LARGE_TABLE_BYTES) -> OnlineNote:
    """The note for one step on ``table`` (``schema.name`` or ``name``).

    ``table_bytes``: data + indexes of the table (None: unknown); ``index_bytes``: the size
    of the index built (None: a tenth of the table).
    """
    caps = [capability(op, target) for s in statements for op in operations(s)]
    cap = weakest(caps) if caps else Capability("INPLACE", "NONE")
    builds = any(op in ("add_index", "add_fulltext", "primary_key", "drop_primary_key",
                        "partition", "other") for s in statements for op in operations(s))
    seconds = temp = None
    if table_bytes is not None and builds:
        written = table_bytes if cap.rebuild else (index_bytes or table_bytes / 10)
        seconds = table_bytes / SCAN_BYTES_PER_S + written / SORT_BYTES_PER_S
        temp = int(written * (2 if cap.rebuild else 1))
    elif table_bytes is not None:
        seconds, temp = 0.0, 0
    large = table_bytes is not None and table_bytes >= large_bytes
    note = OnlineNote(str(target), cap.algorithm, cap.lock, cap.rebuild, table_bytes,
                      seconds, temp, large)
    note.lines.append(_blocking_line(cap))
    if seconds is not None:
        note.lines.append(f"estimated build time {_duration(seconds)}, temporary disk "
                          f"{_size(temp)} (from the table's {_size(table_bytes)}; "
                          "innodb_tmpdir or the datadir must have room)")
    else:
        note.lines.append("build time and temporary disk unknown (no table size: give --dsn "
                          "for statistics)")
    if builds:
        note.lines.append("replicas apply this ALTER in one thread only after the primary "
                          "finished it: expect replica lag of about the build time (the "
                          "reason Spirit refuses INPLACE ADD INDEX on replicated servers)")
    if large or cap.algorithm == "COPY":
        note.commands = tool_commands(statements, table)
        if note.commands:
            note.lines.append("large or copying change: run it with pt-online-schema-change "
                              "or gh-ost (chunked copy, throttled on replica lag), below")
    return note


def _blocking_line(cap: Capability) -> str:
    if cap.algorithm == "INSTANT":
        return "ALGORITHM=INSTANT: metadata only, no rebuild, writes continue"
    if cap.lock == "NONE":
        what = "rebuilds the table" if cap.rebuild else "builds or drops the index in place"
        return f"ALGORITHM={cap.algorithm}, LOCK=NONE: {what}; reads and writes continue"
    return (f"ALGORITHM={cap.algorithm}, LOCK={cap.lock}: writes to the table wait until it "
            "finishes" + (" (the table is copied)" if cap.algorithm == "COPY" else ""))


def tool_commands(statements: list[str], table: str) -> list[str]:
    """pt-online-schema-change and gh-ost lines doing ``statements``' ALTERs of ``table``
    (host and credentials left for the DBA to fill in).

    >>> print(tool_commands(["ALTER TABLE `o` ADD INDEX `ix` (`a`), ALGORITHM=INPLACE"],
    ...                     "shop.o")[0])
    pt-online-schema-change --alter 'ADD INDEX `ix` (`a`)' D=shop,t=o --dry-run
    """
    schema, _, name = table.rpartition(".")
    clauses = []
    for statement in statements:
        match = re.match(r"\s*ALTER\s+TABLE\s+(?:`(?:[^`]|``)*`|\S+)(?:\.`(?:[^`]|``)*`)?\s+"
                         r"(.*)$", statement, re.IGNORECASE | re.DOTALL)
        if match:
            clauses.append(_CLAUSE.sub("", match.group(1)).strip())
    if not clauses:
        return []
    alter = ", ".join(clauses)
    database = f"D={schema}," if schema else "D=<database>,"
    return [
        f"pt-online-schema-change --alter {shlex.quote(alter)} {database}t={name} --dry-run",
        f"gh-ost --database={schema or '<database>'} --table={name} "
        f"--alter={shlex.quote(alter)} --host=<replica> --max-lag-millis=1500 "
        "--chunk-size=1000 --verbose  # add --execute after the dry run",
    ]


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 120:
        return f"~{seconds:.0f} s"
    if seconds < 7200:
        return f"~{seconds / 60:.0f} min"
    return f"~{seconds / 3600:.1f} h"


def _size(n: float | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
