"""DDL (sqlglot, MySQL dialect) -> tables.

Statements other than CREATE TABLE / CREATE INDEX / ALTER TABLE / DROP TABLE / USE are skipped,
so a whole mysqldump can be read. A few MariaDB and SHOW CREATE TABLE forms sqlglot lacks are
rewritten first (IGNORED, PERSISTENT, SRID, and PARTITION BY, which is parsed here).
"""

from __future__ import annotations

import copy
import logging
import re
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from dbtune.catalog.model import Column, ForeignKey, Index, Partitioning, Table
from dbtune.catalog.sqltext import (
    DIALECT,
    SPATIAL_SUBTYPES,
    canonical_sql,
    normalize_type,
    partition_expression,
)
from dbtune.catalog.statements import split_statements
from dbtune.model import InputError

_T = TokenType


def read_source(path_or_text: str | Path) -> tuple[str, str]:
    """(source name, text) of DDL given as a file path or as the text itself."""
    if isinstance(path_or_text, Path) or (
        "\n" not in path_or_text and not re.search(r"\bCREATE\b|\bALTER\b", path_or_text, re.I)
    ):
        path = Path(path_or_text)
        try:
            return str(path), path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise InputError(f"{path}: cannot read DDL file: {exc.strerror}") from None
    return "<ddl>", path_or_text


_DDL_VERBS = ("CREATE", "ALTER", "DROP", "USE")
#: an ALTER TABLE sqlglot cannot parse is skipped unless it holds one of these words
_SCHEMA_CHANGING = {
    "ADD", "DROP", "CHANGE", "MODIFY", "RENAME", "INDEX", "KEY", "UNIQUE", "PRIMARY", "FOREIGN",
    "FULLTEXT", "SPATIAL", "CONSTRAINT", "COLUMN",
}  # fmt: skip


def parse_ddl(text: str, source: str = "<ddl>") -> list[Table]:
    """The tables a DDL script leaves behind, in creation order.

    Only CREATE / ALTER / DROP / USE statements are tokenised and parsed.
    """
    reader = _DdlReader(source)
    for line, statement in split_statements(text):
        if statement[:6].upper().startswith(_DDL_VERBS):
            try:
                tokens = DIALECT.tokenize(statement)
            except TokenError as exc:
                start = " ".join(statement.split())[:60]
                raise InputError(
                    f"{source}:{line}: cannot tokenize DDL ({_first_line(exc)}) in statement "
                    f"{start!r}"
                ) from None
            if tokens:
                reader.statement(tokens, statement, line)
    return list(reader.tables.values())


def _closing(toks: list[Token], opening: int) -> int | None:
    """Index of the parenthesis closing the one at ``opening``."""
    depth = 0
    for i in range(opening, len(toks)):
        depth += (toks[i].token_type == _T.L_PAREN) - (toks[i].token_type == _T.R_PAREN)
        if depth == 0:
            return i
    return None


class _QuietCommandFallback(logging.Filter):
    """Hides sqlglot's "falling back to parsing as a Command" warning: dbtune reports it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


_QUIET = _QuietCommandFallback()


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or ["?"])[0][:200]


class _DdlReader:
    """Applies DDL statements one by one to a dict of tables."""

    def __init__(self, source: str) -> None:
        self.source, self.text, self.line = source, "", 1
        self.schema: str | None = None
        self.tables: dict[tuple[str, str], Table] = {}
        self.spatial_types: dict[str, str] = {}

    # -- dispatch ---------------------------------------------------------------------------
    def statement(self, toks: list[Token], text: str, line: int) -> None:
        """Apply one statement: its tokens, its text, the line it starts on."""
        self.text, self.line = text, line
        words = [t.text.upper() for t in toks[:5]]
        if words[0] == "USE" and len(toks) > 1:
            self.schema = toks[1].text
        elif words[0] == "CREATE" and "TABLE" in words[1:3]:
            self._create_table(toks)
        elif words[0] == "CREATE" and "INDEX" in words[1:4]:
            self._create_index(toks)
        elif words[0] == "ALTER" and "TABLE" in words[1:4]:
            try:
                tree = self._parse(toks, self._render(toks))
            except InputError:
                words = {t.text.upper() for t in toks if t.token_type != _T.STRING}
                if words & _SCHEMA_CHANGING:
                    raise
                return  # e.g. mysqldump's ALTER TABLE t DISABLE KEYS: nothing we model
            self._alter(tree, toks)
        elif words[0] == "DROP" and "TABLE" in words[1:3]:
            tree = self._parse(toks, self._render(toks))
            for node in tree.find_all(exp.Table):
                self.tables.pop(self._key(node), None)

    # -- parsing helpers --------------------------------------------------------------------
    def _fail(self, toks: list[Token], why: str) -> InputError:
        start = " ".join(self.text[toks[0].start : toks[-1].end + 1].split())[:60]
        line = self.line + toks[0].line - 1
        return InputError(f"{self.source}:{line}: {why} in statement {start!r}")

    def _parse(self, toks: list[Token], sql: str) -> exp.Expression:
        logger = logging.getLogger("sqlglot")
        logger.addFilter(_QUIET)
        try:
            tree = sqlglot.parse_one(sql, read=DIALECT)
        except (ParseError, TokenError) as exc:
            errors = getattr(exc, "errors", None) or [{}]
            why = errors[0].get("description") or _first_line(exc)
            raise self._fail(toks, f"cannot parse DDL ({why})") from None
        finally:
            logger.removeFilter(_QUIET)
        if tree is None or isinstance(tree, exp.Command):
            raise self._fail(toks, "unsupported DDL syntax")
        return tree

    def _render(self, toks: list[Token], *, stop: int | None = None) -> str:
        """Statement text with MariaDB-only words rewritten; ``stop``: token index to end at."""
        end = toks[stop - 1].end + 1 if stop else toks[-1].end + 1
        out, pos = [], toks[0].start
        for start, stop_at, replacement in self._fixups(toks):
            if start >= end:
                break
            out += [self.text[pos:start], replacement]
            pos = stop_at
        out.append(self.text[pos:end])
        return "".join(out)

    def _fixups(self, toks: list[Token]) -> list[tuple[int, int, str]]:
        edits = []
        self.spatial_types = {}
        for i, tok in enumerate(toks):
            if tok.token_type in (_T.IDENTIFIER, _T.STRING):
                continue
            word = tok.text.upper()
            prev = toks[i - 1] if i else None
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if word == "IGNORED" and prev and prev.token_type not in (_T.COMMA, _T.L_PAREN):
                if prev.text.upper() == "NOT":
                    edits.append((prev.start, tok.end + 1, "VISIBLE"))
                else:
                    edits.append((tok.start, tok.end + 1, "INVISIBLE"))
            elif word == "PERSISTENT" and prev and prev.token_type == _T.R_PAREN:
                edits.append((tok.start, tok.end + 1, "STORED"))
            elif word == "SRID" and nxt and nxt.token_type == _T.NUMBER:
                edits.append((tok.start, nxt.end + 1, ""))
            elif (
                word in SPATIAL_SUBTYPES
                and i > 1
                and toks[i - 2].token_type in (_T.COMMA, _T.L_PAREN)  # `name` POINT ...
            ):
                edits.append((tok.start, tok.end + 1, "GEOMETRY"))
                self.spatial_types[toks[i - 1].text.lower()] = word.lower()
        return edits

    def _key(self, node: exp.Table) -> tuple[str, str]:
        return ((node.db or self.schema or "").lower(), node.name.lower())

    # -- CREATE TABLE -----------------------------------------------------------------------
    def _create_table(self, toks: list[Token]) -> None:
        """The table body goes to sqlglot; table options after it are read here (ENGINE,
        COMMENT, PARTITION BY), so options sqlglot lacks (TABLESPACE, WITH SYSTEM
        VERSIONING, ...) cannot fail a statement."""
        opening = next((i for i, t in enumerate(toks) if t.token_type == _T.L_PAREN), None)
        head = {t.text.upper() for t in toks[: opening or len(toks)]}
        closing = _closing(toks, opening) if opening is not None else None
        if closing is None or head & {"LIKE", "AS", "SELECT"}:
            self._create_table_like(toks)
            return
        tree = self._parse(toks, self._render(toks, stop=closing + 1))
        node = tree.this.this
        table = Table(node.name, node.db or self.schema)
        options = toks[closing + 1 :]
        for i, tok in enumerate(options):
            word = tok.text.upper()
            nxt = options[i + 1] if i + 1 < len(options) else None
            value = options[i + 2] if nxt and nxt.text == "=" and i + 2 < len(options) else nxt
            if word == "ENGINE" and value is not None:
                table.engine = value.text
            elif word == "COMMENT" and value is not None and value.token_type == _T.STRING:
                table.comment = value.text
            elif tok.token_type == _T.PARTITION_BY or (word, nxt and nxt.text.upper()) == (
                "PARTITION",
                "BY",
            ):
                skip = 1 if tok.token_type == _T.PARTITION_BY else 2
                table.partitioning = self._partitioning(options[i + skip :], toks)
                break
        for element in tree.this.expressions:
            if isinstance(element, exp.ColumnDef):
                self._column(table, element)
            else:
                self._add_key(table, element, toks)
        _complete(table)
        self.tables[self._key(node)] = table

    def _create_table_like(self, toks: list[Token]) -> None:
        """CREATE TABLE ... LIKE copies a known table; CREATE TABLE ... AS SELECT is skipped."""
        tree = self._parse(toks, self._render(toks))
        like = tree.find(exp.LikeProperty)
        source = self.tables.get(self._key(like.this)) if like else None
        if source is not None and isinstance(tree.this, exp.Table):
            target = tree.this
            clone = Table(target.name, target.db or self.schema, **_clone(source))
            self.tables[self._key(target)] = clone

    def _column(self, table: Table, node: exp.ColumnDef) -> None:
        kind = node.args.get("kind")
        column = Column(node.name, normalize_type(kind) if kind else "unknown")
        column.type = self.spatial_types.get(node.name.lower(), column.type)
        for constraint in node.constraints:
            ckind = constraint.kind
            if isinstance(ckind, exp.NotNullColumnConstraint):
                column.nullable = bool(ckind.args.get("allow_null"))
            elif isinstance(ckind, exp.ComputedColumnConstraint):
                column.generated = canonical_sql(ckind.this)
                column.stored = bool(ckind.args.get("persisted"))
            elif isinstance(ckind, exp.PrimaryKeyColumnConstraint):
                table.indexes.append(Index("PRIMARY", [node.name], unique=True, primary=True))
            elif isinstance(ckind, exp.UniqueColumnConstraint):
                name = _free_name(table, node.name)
                table.indexes.append(Index(name, [node.name], unique=True))
        table.columns[node.name] = column

    def _add_key(
        self, table: Table, node: exp.Expression, toks: list[Token], constraint: str | None = None
    ) -> None:
        if isinstance(node, exp.Constraint):
            for inner in node.expressions:
                self._add_key(table, inner, toks, node.name)
        elif isinstance(node, exp.PrimaryKey):
            table.indexes.append(_index("PRIMARY", node.expressions, unique=True, primary=True))
        elif isinstance(node, exp.IndexColumnConstraint):
            kind = (node.args.get("kind") or "BTREE").upper()
            name = node.name or constraint or _free_name(table, _part_name(node.expressions))
            table.indexes.append(
                _index(name, node.expressions, kind=kind, node=node, engine=table.engine)
            )
        elif isinstance(node, exp.UniqueColumnConstraint):
            schema = node.this
            parts = schema.expressions if isinstance(schema, exp.Schema) else []
            name = (schema.name if isinstance(schema, exp.Schema) else "") or constraint
            name = name or _free_name(table, _part_name(parts))
            table.indexes.append(_index(name, parts, unique=True, node=node, engine=table.engine))
        elif isinstance(node, exp.ForeignKey):
            ref = node.args.get("reference")
            ref_schema = ref.this if ref else None
            ref_table = ref_schema.this if isinstance(ref_schema, exp.Schema) else ref_schema
            # MariaDB and MySQL < 8.0.16 name an unnamed constraint after FOREIGN KEY's index name
            fk_name = constraint or node.name or f"{table.name}_ibfk_{len(table.foreign_keys) + 1}"
            table.foreign_keys.append(
                ForeignKey(
                    fk_name,
                    [e.name for e in node.expressions],
                    ref_table.name if ref_table is not None else "",
                    [e.name for e in ref_schema.expressions]
                    if isinstance(ref_schema, exp.Schema)
                    else [],
                    (ref_table.db or self.schema) if ref_table is not None else None,
                    node.name or None,
                    *_fk_rules(ref),
                )
            )

    def _partitioning(self, toks: list[Token], stmt: list[Token]) -> Partitioning:
        i, kind = 0, []
        while i < len(toks) and toks[i].token_type != _T.L_PAREN:
            if toks[i].text.upper() == "ALGORITHM":
                i += 3
                continue
            kind.append(toks[i].text.upper())
            i += 1
        j = _closing(toks, i) if i < len(toks) else None
        if j is None:
            raise self._fail(stmt, "cannot parse PARTITION BY")
        expression, columns = self._expression_list(
            self.text[toks[i].start + 1 : toks[j].start], stmt
        )
        names, count, depth = [], 0, 0
        rest = toks[j + 1 :]
        for k, tok in enumerate(rest):
            depth += (tok.token_type == _T.L_PAREN) - (tok.token_type == _T.R_PAREN)
            word = tok.text.upper()
            if depth == 1 and word == "PARTITION" and k + 1 < len(rest):
                names.append(rest[k + 1].text)
            elif depth == 0 and word == "PARTITIONS" and k + 1 < len(rest):
                count = int(rest[k + 1].text)
        names = names or [f"p{n}" for n in range(max(count, 1))]
        return Partitioning(" ".join(kind), expression, columns, names)

    def _expression_list(self, sql: str, stmt: list[Token]) -> tuple[str, list[str]]:
        try:
            return partition_expression(sql)
        except ValueError:
            raise self._fail(stmt, "cannot parse PARTITION BY expression") from None

    # -- CREATE INDEX / ALTER TABLE ---------------------------------------------------------
    def _create_index(self, toks: list[Token]) -> None:
        words = [t.text.upper() for t in toks]
        at_index = words.index("INDEX")
        kind = " ".join(w for w in words[1:at_index] if w in ("UNIQUE", "FULLTEXT", "SPATIAL"))
        if "ON" not in words or at_index + 1 >= len(toks):
            raise self._fail(toks, "cannot parse CREATE INDEX")
        at_on = words.index("ON")
        paren = next((i for i in range(at_on, len(toks)) if toks[i].token_type == _T.L_PAREN), None)
        if paren is None:
            raise self._fail(toks, "cannot parse CREATE INDEX")
        name = toks[at_index + 1]
        sql = (
            f"ALTER TABLE {self.text[toks[at_on + 1].start : toks[paren - 1].end + 1]} "
            f"ADD {kind} INDEX {self.text[name.start : name.end + 1]} " + self._render(toks[paren:])
        )
        self._alter(self._parse(toks, sql), toks)

    def _alter(self, tree: exp.Expression, toks: list[Token]) -> None:
        if not isinstance(tree, exp.Alter) or not isinstance(tree.this, exp.Table):
            return
        table = self.tables.get(self._key(tree.this))
        if table is None:
            raise self._fail(toks, f"ALTER of unknown table {tree.this.name!r}")
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.AddConstraint):
                for node in action.expressions:
                    self._add_key(table, node, toks)
            elif isinstance(action, exp.ColumnDef):
                self._column(table, action)
            elif isinstance(action, exp.DropPrimaryKey):
                table.indexes = [i for i in table.indexes if not i.primary]
            elif isinstance(action, exp.Drop):
                names = {t.name.lower() for t in action.args.get("tables") or []}
                kind = str(action.args.get("kind")).upper()
                if kind == "INDEX":
                    table.indexes = [i for i in table.indexes if i.name.lower() not in names]
                elif kind == "FOREIGN KEY":
                    table.foreign_keys = [
                        f for f in table.foreign_keys if f.name.lower() not in names
                    ]
                elif kind == "COLUMN":
                    for name in names:
                        _drop_column(table, name)
            elif isinstance(action, exp.RenameIndex) and table.index(action.name):
                table.index(action.name).name = action.args["to"].name
            elif isinstance(action, exp.AlterIndex) and table.index(action.name):
                table.index(action.name).visible = action.args.get("visible") is not False
            elif isinstance(action, exp.ModifyColumn):
                old = action.args.get("rename_from")
                if old is not None and old.name.lower() != action.this.name.lower():
                    _rename_column(table, old.name, action.this.name)
                self._column(table, action.this)
        _complete(table)


def _drop_column(table: Table, name: str) -> None:
    """ALTER TABLE ... DROP COLUMN: the column leaves every index; emptied indexes go."""
    column = table.column(name)
    if column is not None:
        del table.columns[column.name]
    for index in table.indexes:
        keep = [i for i, c in enumerate(index.columns)
                if index.expressions[i] or c.lower() != name.lower()]  # fmt: skip
        for attr in ("columns", "prefix_lengths", "descending", "expressions"):
            setattr(index, attr, [getattr(index, attr)[i] for i in keep])
    table.indexes = [i for i in table.indexes if i.columns]


def _rename_column(table: Table, old: str, new: str) -> None:
    """ALTER TABLE ... CHANGE old new: the position in the table and in indexes is kept."""
    table.columns = {(new if n.lower() == old.lower() else n): c for n, c in table.columns.items()}
    for index in table.indexes:
        index.columns = [
            new if not e and c.lower() == old.lower() else c
            for c, e in zip(index.columns, index.expressions, strict=True)
        ]


def _key_part(node: exp.Expression) -> tuple[str, int | None, bool, bool]:
    """(column or expression SQL, prefix length, descending, is expression)."""
    desc = False
    if isinstance(node, exp.Ordered):
        desc, node = bool(node.args.get("desc")), node.this
    if isinstance(node, exp.ColumnPrefix):
        return node.this.name, int(node.expression.name), desc, False
    if isinstance(node, (exp.Column, exp.Identifier)):
        return node.name, None, desc, False
    return canonical_sql(node), None, desc, True


def _part_name(parts: list[exp.Expression]) -> str:
    if not parts:
        return "key"
    name, _, _, is_expr = _key_part(parts[0])
    return "functional_index" if is_expr else name


def _index(
    name: str,
    parts: list[exp.Expression],
    *,
    unique: bool = False,
    primary: bool = False,
    kind: str = "BTREE",
    node: exp.Expression | None = None,
    engine: str | None = None,
) -> Index:
    cols, prefixes, desc, exprs = (
        zip(*(_key_part(p) for p in parts), strict=True) if parts else ((), (), (), ())
    )
    options = node.args.get("options") or [] if node is not None else []
    visible = all(o.args.get("visible") is not False for o in options)
    using = str(node.args.get("index_type") or "") if node is not None else ""
    using = using or next((str(o.args["using"]) for o in options if o.args.get("using")), "")
    memory = (engine or "").upper() in ("MEMORY", "HEAP")
    if kind == "BTREE" and memory and using.upper() != "BTREE":
        kind = "HASH"
    return Index(
        name,
        list(cols),
        list(prefixes),
        unique or primary,
        primary,
        visible,
        kind,
        list(desc),
        list(exprs),
    )


def _free_name(table: Table, base: str) -> str:
    """MySQL's name for an unnamed index: the first column, then ``_2``, ``_3``..."""
    taken = {i.name.lower() for i in table.indexes}
    name, n = base, 2
    while name.lower() in taken or name.upper() == "PRIMARY":
        name, n = f"{base}_{n}", n + 1
    return name


def _complete(table: Table) -> None:
    """PRIMARY KEY columns are NOT NULL; a foreign key without a usable index gets one."""
    for col in table.primary_key:
        column = table.column(col)
        if column is not None:
            column.nullable = False
    for fk in table.foreign_keys:
        if not any(i.serves(fk.columns) for i in table.indexes):
            name = fk.name if not fk.name.startswith(f"{table.name}_ibfk_") else None
            table.indexes.append(
                Index(name or fk.index_name or _free_name(table, fk.columns[0]), list(fk.columns))
            )


def _clone(table: Table) -> dict:
    return {
        "columns": copy.deepcopy(table.columns),
        "indexes": copy.deepcopy(table.indexes),
        "partitioning": copy.deepcopy(table.partitioning),
        "engine": table.engine,
    }


def _fk_rules(reference: exp.Expression | None) -> tuple[str | None, str | None]:
    """(ON DELETE, ON UPDATE) of a REFERENCES clause (sqlglot keeps them as option text)."""
    rules: dict[str, str] = {}
    for option in (reference.args.get("options") or []) if reference is not None else []:
        match = re.match(r"\s*ON\s+(DELETE|UPDATE)\s+(.+?)\s*$", str(option), re.I)
        if match:
            rules[match[1].upper()] = " ".join(match[2].upper().split())
    return rules.get("DELETE"), rules.get("UPDATE")
