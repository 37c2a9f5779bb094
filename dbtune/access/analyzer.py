"""Walk one parsed statement query block by query block and resolve every column to a table.

A *block* is one SELECT (or the body of an UPDATE/DELETE): its FROM/JOIN sources, WHERE,
GROUP BY, ORDER BY and LIMIT. Sources are real tables (each gets an :class:`_Access`, the
mutable builder of an :class:`AccessPattern`) or derived blocks (subqueries in FROM, CTEs).
Columns resolve through aliases, derived-table projections and, for correlated subqueries,
the enclosing blocks; :mod:`dbtune.access.predicates` turns WHERE/ON conjuncts into facts.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from dbtune.access import predicates
from dbtune.access.model import AccessPattern, Finding, JoinColumn, StatementAccess

#: OFFSET from which pagination is reported as a finding.
DEEP_OFFSET = 1000

Ref = tuple["_Access", str]


class _Access:
    """Mutable builder for the AccessPattern of one table reference."""

    def __init__(self, table: str, alias: str | None, names: tuple[str, ...],
                 columns: dict[str, str] | None) -> None:
        self.table, self.alias, self.names, self.columns = table, alias, names, columns
        self.driving = False
        self.equality: dict[str, int | None] = {}
        # dicts used as insertion-ordered sets
        self.range: dict[str, None] = {}
        self.is_null: dict[str, None] = {}
        self.joins: dict[JoinColumn, None] = {}
        self.negated: dict[str, None] = {}
        self.read: dict[str, None] = {}
        self.order_by: tuple[tuple[str, str], ...] = ()
        self.group_by: tuple[str, ...] = ()
        self.star = False
        self.limit: int | None = None
        #: the query block whose FROM holds this reference
        self.block: Block | None = None

    def freeze(self, blocks: dict[int, int]) -> AccessPattern:
        block = self.block
        return AccessPattern(
            table=self.table, alias=self.alias, driving=self.driving,
            block=blocks.get(id(block), 0),
            nullable_side=block is not None and id(self) in block.outer,
            equality=dict(self.equality), range=tuple(self.range), is_null=tuple(self.is_null),
            joins=tuple(self.joins), order_by=self.order_by, group_by=self.group_by,
            read=tuple(self.read), star=self.star, limit=self.limit,
        )


class _Source:
    """One FROM item: a real table (``access``) or a derived block (``block``, None if opaque)."""

    def __init__(self, access: _Access | None = None, block: Block | None = None) -> None:
        self.access, self.block = access, block


class Block:
    def __init__(self, parent: Block | None) -> None:
        self.parent = parent
        self.sources: dict[str, _Source] = {}
        self.joins: list[exp.Join] = []
        #: ids of accesses on the NULL-supplying side of a LEFT (or RIGHT) JOIN
        self.outer: set[int] = set()
        #: the source a RIGHT JOIN preserves, read first (else the first source)
        self.preserved: str | None = None
        self.select: list[exp.Expression] = []
        #: output column name (lower case) -> its expression, for derived tables and aliases
        self.projections: dict[str, exp.Expression] = {}
        self.star = False
        self.opaque = False  # a UNION used as a derived table: columns are not followed into it
        self.mergeable = True  # no GROUP BY / DISTINCT / LIMIT / aggregates: merged into parent
        self.limit: int | None = None
        self.offset: int | None = None

    def lookup(self, alias: str) -> _Source | None:
        if alias in self.sources:
            return self.sources[alias]
        folded = alias.lower()
        return next((s for a, s in self.sources.items() if a.lower() == folded), None)

    def driving(self) -> _Access | None:
        """The table this block reads first (through mergeable derived tables)."""
        first = (self.sources[self.preserved] if self.preserved is not None
                 else next(iter(self.sources.values()), None))
        if first is None:
            return None
        if first.access is not None:
            return first.access
        if first.block is not None and first.block.mergeable and not first.block.opaque:
            return first.block.driving()
        return None


def _int(node: exp.Expression | None) -> int | None:
    value = node.args.get("expression") if node is not None else None
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None


class Analyzer:
    """Collects access patterns and findings for one statement (use once)."""

    def __init__(self, catalog: Any = None, default_db: str | None = None) -> None:
        self.catalog, self.default_db = catalog, default_db
        self.accesses: list[_Access] = []
        self.findings: list[Finding] = []

    # -- results -------------------------------------------------------------------------
    def finding(self, kind: str, message: str, table: str | None = None,
                column: str | None = None) -> None:
        found = Finding(kind=kind, message=message, table=table, column=column)
        if found not in self.findings:
            self.findings.append(found)

    def result(self, kind: str, root: Block | None, written: tuple[str, ...]) -> StatementAccess:
        for acc in self.accesses:
            if acc.negated and not (acc.equality or acc.range or acc.is_null or acc.joins):
                cols = ", ".join(acc.negated)
                self.finding("negation_only", f"only negated predicates (!=, NOT IN, NOT LIKE) "
                             f"on {acc.table} ({cols}): an index cannot narrow a negation, the "
                             "table is scanned", acc.table, next(iter(acc.negated)))
        blocks: dict[int, int] = {}
        for acc in self.accesses:
            blocks.setdefault(id(acc.block), len(blocks))
        patterns = tuple(acc.freeze(blocks) for acc in self.accesses)
        tables: dict[str, AccessPattern] = {}
        for pattern in patterns:
            tables.setdefault(pattern.table, pattern)
        return StatementAccess(
            kind=kind, tables=tables, findings=list(self.findings),
            limit=root.limit if root else None, offset=root.offset if root else None,
            accesses=patterns, written=written,
        )

    # -- statements ----------------------------------------------------------------------
    def statement(self, node: exp.Expression) -> StatementAccess:
        if isinstance(node, exp.Query):
            return self.result("select", self.query(node, None, {}), ())
        ctes = self.with_(node, {})
        if isinstance(node, exp.Insert):
            target = node.this.this if isinstance(node.this, exp.Schema) else node.this
            source = node.expression
            root = self.query(source, None, ctes) if isinstance(source, exp.Query) else None
            return self.result("insert", root, (self.table_key(target),))
        if isinstance(node, exp.Update):
            block = Block(None)
            self.add_source(block, node.this, ctes)
            if node.args.get("from_"):
                self.add_source(block, node.args["from_"].this, ctes)
            self.body(block, node, ctes, [eq.expression for eq in node.expressions])
            refs = [self.resolve(block, eq.this) for eq in node.expressions
                    if isinstance(eq.this, exp.Column)]
            return self.result("update", block, self.written(block, [r[0] for r in refs if r]))
        if isinstance(node, exp.Delete):
            block = Block(None)
            for source in node.args.get("using") or [node.this]:
                self.add_source(block, source, ctes)
            self.body(block, node, ctes, [])
            sources = [block.lookup(t.name) for t in node.args.get("tables") or []]
            return self.result("delete", block,
                               self.written(block, [s.access for s in sources if s and s.access]))
        return self.result("other", None, ())

    @staticmethod
    def written(block: Block, targets: list[_Access]) -> tuple[str, ...]:
        """Tables an UPDATE/DELETE modifies: its named targets, else its first table."""
        if not targets and (first := block.driving()) is not None:
            targets = [first]
        return tuple(dict.fromkeys(acc.table for acc in targets))

    # -- query blocks --------------------------------------------------------------------
    def query(self, node: exp.Expression, parent: Block | None,
              ctes: dict[str, Block | None]) -> Block | None:
        """Analyse a SELECT / UNION / parenthesised query; return its block."""
        if isinstance(node, exp.Subquery):
            return self.query(node.this, parent, ctes)
        ctes = self.with_(node, ctes)
        if isinstance(node, exp.SetOperation):
            left = self.query(node.left, parent, ctes)
            self.query(node.right, parent, ctes)
            block = Block(parent)
            block.opaque, block.mergeable = True, False
            block.projections = left.projections if left else {}
            block.limit, block.offset = _int(node.args.get("limit")), _int(node.args.get("offset"))
            return block
        if not isinstance(node, exp.Select):
            return None
        block = Block(parent)
        if node.args.get("from_"):
            self.add_source(block, node.args["from_"].this, ctes)
        for join in node.args.get("joins") or []:
            known = set(block.sources)
            self.add_source(block, join.this, ctes)
            block.joins.append(join)
            if join.side == "LEFT":
                block.outer.update(id(s.access) for a, s in block.sources.items()
                                   if a not in known and s.access is not None)
            elif join.side == "RIGHT":  # A RIGHT JOIN B is B LEFT JOIN A: B is read first
                block.outer.update(id(s.access) for a, s in block.sources.items()
                                   if a in known and s.access is not None)
                block.preserved = next((a for a in block.sources if a not in known), None)
        block.select = list(node.expressions)
        for item in node.expressions:
            if isinstance(item, exp.Star) or isinstance(item.this, exp.Star):
                block.star = True  # SELECT * / SELECT t.*: any column name may come through
            elif item.alias_or_name:
                block.projections.setdefault(item.alias_or_name.lower(), item.unalias())
        block.mergeable = not (
            node.args.get("group") or node.args.get("distinct") or node.args.get("limit")
            or node.args.get("having") or any(item.find(exp.AggFunc) for item in node.expressions)
        )
        self.body(block, node, ctes, list(node.expressions))
        return block

    def with_(self, node: exp.Expression,
              ctes: dict[str, Block | None]) -> dict[str, Block | None]:
        """``ctes`` plus the CTEs ``node`` defines (each analysed once, here)."""
        with_ = node.args.get("with_")
        if with_ is None:
            return ctes
        ctes = dict(ctes)
        for cte in with_.expressions:
            ctes[cte.alias] = None  # a recursive CTE sees itself as opaque
            ctes[cte.alias] = self.query(cte.this, None, ctes)
        return ctes

    def add_source(self, block: Block, node: exp.Expression,
                   ctes: dict[str, Block | None]) -> None:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            if node.name.lower() == "dual" and not node.db:
                return
            alias = node.alias or node.name
            if not node.db and node.name in ctes:
                block.sources[alias] = _Source(block=ctes[node.name])
            else:
                access = self.new_access(node, node.alias or None)
                access.block = block
                block.sources[alias] = _Source(access=access)
            for join in node.args.get("joins") or []:  # UPDATE/DELETE and nested joins
                self.add_source(block, join.this, ctes)
                block.joins.append(join)
        elif isinstance(node, exp.Subquery) and isinstance(node.this, exp.Table):
            self.add_source(block, node.this, ctes)  # parenthesised join: (b JOIN c ON ...)
        elif isinstance(node, exp.Subquery):
            inner = self.query(node.this, None, ctes)
            block.sources[node.alias or f"<derived {len(block.sources)}>"] = _Source(block=inner)

    def table_key(self, table: exp.Expression) -> str:
        if not isinstance(table, exp.Table):
            return table.sql(dialect="mysql")
        db = table.db or self.default_db
        return f"{db}.{table.name}" if db else table.name

    def new_access(self, table: exp.Table, alias: str | None) -> _Access:
        key = self.table_key(table)
        names = tuple(dict.fromkeys((key, table.name)))
        columns = None
        catalog_tables = getattr(self.catalog, "tables", None) or {}
        for name in names:
            if name in catalog_tables:
                columns = {c.lower(): c for c in catalog_tables[name].columns}
                break
        access = _Access(key, alias, names, columns)
        self.accesses.append(access)
        return access

    def column_type(self, ref: Ref) -> str | None:
        if self.catalog is None:
            return None
        for name in ref[0].names:
            found = self.catalog.column_type(name, ref[1])
            if found:
                return str(found)
        return None

    # -- clauses -------------------------------------------------------------------------
    def body(self, block: Block, node: exp.Expression, ctes: dict[str, Block | None],
             reads: list[exp.Expression]) -> None:
        aliases = {e.alias.lower() for e in block.select if isinstance(e, exp.Alias)}
        first = block.driving()
        if first is not None:
            first.driving = True
        for item in reads:
            if isinstance(item, exp.Star):
                for source in block.sources.values():
                    if source.access is not None:
                        source.access.star = True
            else:
                self.visit(block, item, ctes)
        for join in block.joins:
            if join.args.get("on") is not None:
                self.visit(block, join.args["on"], ctes)
                self.apply(predicates.facts(self, block, join.args["on"]))
            for column in join.args.get("using") or []:
                self.using(block, join, column.name)
        if node.args.get("where") is not None:
            self.visit(block, node.args["where"].this, ctes)
            facts = predicates.facts(self, block, node.args["where"].this)
            # b.col IS NULL after LEFT JOIN b is the anti-join idiom: checked after the join
            self.apply([f for f in facts if f[0] != "null" or id(f[1][0]) not in block.outer])
        group = node.args.get("group")
        if group is not None:
            for item in group.expressions:
                self.visit(block, item, ctes, aliases)
            refs = self.clause_columns(block, group.expressions, aliases)
            if refs and (acc := self.owner(block, refs)):
                acc.group_by = tuple(ref[1] for ref in refs)
        if node.args.get("having") is not None:
            self.visit(block, node.args["having"].this, ctes, aliases)
        order = node.args.get("order")
        if order is not None:
            items = order.expressions
            for item in items:
                self.visit(block, item.this, ctes, aliases)
            refs = self.clause_columns(block, [item.this for item in items], aliases)
            if refs and (acc := self.owner(block, refs)):
                acc.order_by = tuple((ref[1], "desc" if item.args.get("desc") else "asc")
                                     for ref, item in zip(refs, items, strict=True))
        block.limit, block.offset = _int(node.args.get("limit")), _int(node.args.get("offset"))
        driving = block.driving()
        if driving is not None and driving.limit is None:
            driving.limit = block.limit
        if block.offset is not None and block.offset >= DEEP_OFFSET:
            table = driving.table if driving else None
            self.finding("deep_offset", f"OFFSET {block.offset}: the server reads and discards "
                         f"{block.offset} rows before returning any; paginate by key "
                         "(WHERE key > last seen value) instead", table)

    def owner(self, block: Block, refs: list[Ref]) -> _Access | None:
        """The table owning every column of an ORDER/GROUP BY, if it drives the block."""
        owners = {id(ref[0]) for ref in refs}
        driving = block.driving()
        if len(owners) == 1 and driving is not None and refs[0][0] is driving:
            return driving
        return None

    def clause_columns(self, block: Block, items: list[exp.Expression],
                       aliases: set[str]) -> list[Ref] | None:
        """Resolve GROUP BY / ORDER BY items to plain table columns, or None if any is not."""
        refs: list[Ref] = []
        for item in items:
            if isinstance(item, exp.Literal) and item.this.isdigit():  # ORDER BY 2
                position = int(item.this) - 1
                if not 0 <= position < len(block.select):
                    return None
                item = block.select[position].unalias()
            elif isinstance(item, exp.Column) and not item.table and item.name.lower() in aliases:
                item = block.projections.get(item.name.lower(), item)
            if not isinstance(item, exp.Column) or isinstance(item.this, exp.Star):
                return None
            ref = self.resolve(block, item)
            if ref is None:
                return None
            refs.append(ref)
        return refs

    def using(self, block: Block, join: exp.Join, column: str) -> None:
        """``JOIN t USING (column)``: t against the nearest earlier source that has it."""
        node = join.this
        alias = node.alias or (node.name if isinstance(node, exp.Table) else "")
        names = list(block.sources)
        if alias not in names or names.index(alias) == 0:
            return
        earlier = [block.sources[a] for a in reversed(names[:names.index(alias)])]
        left = next((self.from_source(s, column) for s in earlier
                     if self.has_column(s, column) is not False), None)
        right = self.from_source(block.sources[alias], column)
        if left and right:
            for ref in (left, right):
                ref[0].read[ref[1]] = None
            self.apply(predicates.join_facts(left, right))

    def visit(self, block: Block, node: exp.Expression, ctes: dict[str, Block | None],
              aliases: set[str] | frozenset[str] = frozenset()) -> None:
        """Record every column read in ``node`` and analyse the subqueries inside it."""
        for sub in node.walk(bfs=False, prune=lambda n: isinstance(n, exp.Query)):
            if isinstance(sub, exp.Query):
                self.query(sub, block, ctes)
            elif isinstance(sub, exp.Column):
                if isinstance(sub.this, exp.Star):
                    source = block.lookup(sub.table)
                    if source is not None and source.access is not None:
                        source.access.star = True
                    continue
                if not sub.table and sub.name.lower() in aliases:
                    continue
                ref = self.resolve(block, sub)
                if ref is not None:
                    ref[0].read[ref[1]] = None

    def apply(self, facts: list[tuple]) -> None:
        for fact in facts:
            kind, (acc, column) = fact[0], fact[1]
            if kind == "eq":
                old = acc.equality.get(column, 0)
                count = fact[2]
                acc.equality[column] = count if old == 0 or old is None else (
                    old if count is None else min(old, count))
            elif kind == "range":
                acc.range[column] = None
            elif kind == "null":
                acc.is_null[column] = None
            elif kind == "join":
                acc.joins[JoinColumn(column, fact[2], fact[3])] = None
            elif kind == "neg":
                acc.negated[column] = None

    # -- column resolution ---------------------------------------------------------------
    def resolve(self, block: Block, column: exp.Column) -> Ref | None:
        """The (table access, column name) a column reference reads, or None."""
        name = column.name
        if column.table:
            scope: Block | None = block
            while scope is not None:
                source = scope.lookup(column.table)
                if source is not None:
                    return self.from_source(source, name)
                scope = scope.parent
            self.finding("unresolved_column", f"{column.sql(dialect='mysql')} names a table "
                         "that is not in the query", None, name)
            return None
        scope = block
        candidates: list[str] = []
        while scope is not None:
            verdicts = [(s, self.has_column(s, name)) for s in scope.sources.values()]
            yes = [s for s, v in verdicts if v]
            maybe = [s for s, v in verdicts if v is None]
            if len(yes) == 1 or (not yes and len(maybe) == 1):
                return self.from_source((yes or maybe)[0], name)
            if yes or maybe:
                candidates = [self._describe(s) for s in yes or maybe]
                break
            scope = scope.parent
        where = f"any of {', '.join(candidates)}" if candidates else "no table in scope"
        self.finding("unresolved_column", f"column {name} could belong to {where}; qualify it "
                     "or give a catalog", None, name)
        return None

    @staticmethod
    def _describe(source: _Source) -> str:
        return source.access.table if source.access else "a derived table"

    def has_column(self, source: _Source, name: str) -> bool | None:
        """True/False when the catalog or a derived table's select list knows, else None."""
        if source.access is not None:
            cols = source.access.columns
            return None if cols is None else name.lower() in cols
        block = source.block
        if block is None or block.opaque:
            return None
        if name.lower() in block.projections:
            return True
        return None if block.star else False

    def from_source(self, source: _Source, name: str) -> Ref | None:
        if source.access is not None:
            cols = source.access.columns
            return source.access, (cols.get(name.lower(), name) if cols else name)
        block = source.block
        if block is None or block.opaque or not block.mergeable:
            return None  # materialised: outer predicates do not reach its tables' indexes
        target = block.projections.get(name.lower())
        if target is None and block.star:
            target = exp.column(name)
        if isinstance(target, exp.Column) and not isinstance(target.this, exp.Star):
            return self.resolve(block, target)
        return None
