"""Result objects of :func:`dbtune.access.access_patterns` (frozen: results are cached)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Kinds of :class:`Finding`, each a shape an index cannot serve (or a statement not analysed).
FINDING_KINDS = (
    "function_on_column",  # DATE(col) = ..., LOWER(col) LIKE ..., col + 1 = ...
    "leading_wildcard",  # col LIKE '%x'
    "implicit_conversion",  # string column compared to a number (needs a catalog)
    "or_across_columns",  # a = 1 OR b = 2
    "deep_offset",  # LIMIT 20 OFFSET 10000
    "negation_only",  # NOT IN / != as the only predicates on a table
    "unresolved_column",  # an unqualified column with several tables in scope and no catalog
    "unparsable",  # sqlglot could not parse the statement
)


@dataclass(frozen=True, slots=True)
class Finding:
    """A predicate shape that no index can serve, with the reason in words."""

    kind: str
    message: str
    table: str | None = None
    column: str | None = None


@dataclass(frozen=True, slots=True)
class JoinColumn:
    """``column`` of this table is compared with ``=`` to ``other_table``.``other_column``.

    ``other_column`` is the other side's SQL text when it is an expression, not a column.
    """

    column: str
    other_table: str
    other_column: str


@dataclass(frozen=True, slots=True)
class AccessPattern:
    """How one statement reaches one table: what an index on it could use.

    ``equality`` maps a column to how many values it is compared with: 1 for ``=`` / ``<=>``
    (and ``col = 1 OR col = 2`` counts 2), the list size for ``IN (...)``, ``None`` for
    ``IN (SELECT ...)``. ``order_by`` / ``group_by`` are only set when every column of the clause
    belongs to this table and this table is read first in its query block (``driving``).
    ``read`` is every column of this table the statement touches (select list, predicates, joins,
    GROUP BY, ORDER BY, HAVING): an index holding all of them covers the statement, unless
    ``star`` (``SELECT *`` / ``t.*``). ``limit`` is the LIMIT of the block this table drives.
    ``block`` numbers the query block (SELECT) whose FROM holds the reference, in order of
    first appearance; ``nullable_side``: the NULL-supplying side of a LEFT (or RIGHT) JOIN,
    never read first.
    """

    table: str
    alias: str | None = None
    driving: bool = True
    equality: dict[str, int | None] = field(default_factory=dict)
    range: tuple[str, ...] = ()
    is_null: tuple[str, ...] = ()
    joins: tuple[JoinColumn, ...] = ()
    order_by: tuple[tuple[str, str], ...] = ()
    group_by: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    star: bool = False
    limit: int | None = None
    #: where the reference sits, not what it asks of the table: not compared
    block: int = field(default=0, compare=False)
    nullable_side: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class StatementAccess:
    """Access patterns of one statement.

    ``tables`` is keyed by real table name ("db.table" when qualified, or when ``default_db``
    was given); a table referenced more than once (self-join, two UNION arms) maps to its first
    reference, and ``accesses`` lists every reference. ``written`` names the tables an
    INSERT/UPDATE/DELETE modifies. ``limit``/``offset`` belong to the outermost query.
    """

    kind: str
    tables: dict[str, AccessPattern] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    accesses: tuple[AccessPattern, ...] = ()
    written: tuple[str, ...] = ()
