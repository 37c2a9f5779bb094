"""Turn WHERE / ON conditions into facts about columns, and report non-sargable shapes.

A fact is a tuple ``(kind, (access, column), ...)``:
``("eq", ref, n)`` (n values, None for IN (SELECT ...)), ``("range", ref)``, ``("null", ref)``,
``("join", ref, other_table, other_column)`` and ``("neg", ref)``. Only conjuncts of the
top-level AND can drive an index; an OR yields facts only when every branch is a simple
predicate on the same column (``a = 1 OR a = 2`` is ``a IN (1, 2)``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

if TYPE_CHECKING:
    from dbtune.access.analyzer import Analyzer, Block, Ref

Fact = tuple

_STRING_TYPE = re.compile(
    r"\s*(n?(var)?char|national|(tiny|medium|long)?text|(var)?binary|(tiny|medium|long)?blob)",
    re.IGNORECASE)
_NUMERIC_TYPE = re.compile(
    r"\s*((tiny|small|medium|big)?int|integer|decimal|numeric|dec|fixed|float|double|real|"
    r"bit|bool)", re.IGNORECASE)
_RANGE = (exp.GT, exp.GTE, exp.LT, exp.LTE)
_SIMPLE = ("eq", "range", "null")


def _unwrap(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _columns(node: exp.Expression) -> list[exp.Column]:
    """Column references in ``node``, not looking inside subqueries."""
    return [c for c in node.walk(bfs=False, prune=lambda n: isinstance(n, exp.Query))
            if isinstance(c, exp.Column) and not isinstance(c.this, exp.Star)]


def _is_number(node: exp.Expression) -> bool:
    node = _unwrap(node)
    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, exp.Literal) and not node.is_string


def _side(ctx: Analyzer, block: Block, node: exp.Expression) -> tuple[str, object]:
    """One side of a comparison: ("col", ref), ("expr", refs), ("const", node) or ("none", None)."""
    node = _unwrap(node)
    if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
        ref = ctx.resolve(block, node)
        return ("col", ref) if ref else ("none", None)
    columns = _columns(node)
    if not columns:
        return ("const", node)
    return ("expr", [r for c in columns if (r := ctx.resolve(block, c))])


def _function_finding(ctx: Analyzer, node: exp.Expression, refs: list[Ref]) -> None:
    text = _unwrap(node).sql(dialect="mysql")
    for acc, column in refs:
        ctx.finding("function_on_column", f"{text} wraps {acc.table}.{column} in an expression: "
                    f"an index on {column} cannot be used; compare the bare column (e.g. a range "
                    "instead of DATE(col) = d)", acc.table, column)


def _converts(ctx: Analyzer, ref: Ref, values: list[exp.Expression]) -> bool:
    """Report (and return True) when a string column is compared with a number."""
    numbers = [v for v in values if _is_number(v)]
    if not numbers:
        return False
    col_type = ctx.column_type(ref)
    if col_type is None or not _STRING_TYPE.match(col_type):
        return False
    acc, column = ref
    ctx.finding("implicit_conversion", f"{acc.table}.{column} is {col_type} but is compared with "
                f"the number {numbers[0].sql(dialect='mysql')}: every row is converted, the index "
                "is not used; quote the value", acc.table, column)
    return True


def join_facts(left: Ref, right: Ref) -> list[Fact]:
    """Join edges in both directions for ``left = right``."""
    return [("join", left, right[0].table, right[1]), ("join", right, left[0].table, left[1])]


def _join(ctx: Analyzer, left: Ref, right: Ref) -> list[Fact]:
    """Join edges for ``left = right``, without the string side of a string = number join."""
    edges = join_facts(left, right)
    types = (ctx.column_type(left), ctx.column_type(right))
    if None in types:
        return edges
    for edge, mine, other in ((edges[0], types[0], types[1]), (edges[1], types[1], types[0])):
        if _STRING_TYPE.match(mine) and _NUMERIC_TYPE.match(other):
            acc, column = edge[1]
            ctx.finding("implicit_conversion", f"join compares {acc.table}.{column} ({mine}) with "
                        f"a {other} column: every value is converted, its index is not used",
                        acc.table, column)
            edges.remove(edge)
    return edges


def _compare(ctx: Analyzer, block: Block, left: exp.Expression, right: exp.Expression,
             op: str) -> list[Fact]:
    left, right = _unwrap(left), _unwrap(right)
    if (isinstance(left, exp.Tuple) and isinstance(right, exp.Tuple)
            and len(left.expressions) == len(right.expressions)):
        pairs = list(zip(left.expressions, right.expressions, strict=True))
        if op == "eq":  # (a, b) = (1, 2) is a = 1 AND b = 2
            return [f for a, b in pairs for f in _compare(ctx, block, a, b, op)]
        return _compare(ctx, block, *pairs[0], op)  # (a, b) > (1, 2): a range on a
    rank = {"col": 0, "expr": 1, "const": 2, "none": 3}
    sides = sorted([(_side(ctx, block, left), left), (_side(ctx, block, right), right)],
                   key=lambda s: rank[s[0][0]])
    (kind_a, value_a), node_a = sides[0]
    (kind_b, value_b), node_b = sides[1]
    if kind_a == "col":
        ref = value_a
        if kind_b == "const":
            if _converts(ctx, ref, [node_b]):
                return []
            if op == "eq" and isinstance(_unwrap(node_b), exp.Null):
                return [("null", ref)]  # col <=> NULL
            if op == "eq" and isinstance(_unwrap(node_b), exp.Any):
                return [("eq", ref, None)]  # col = ANY (SELECT ...)
            return [("eq", ref, 1)] if op == "eq" else [("range", ref)]
        if kind_b == "col" and value_b[0] is not ref[0]:
            return _join(ctx, ref, value_b) if op == "eq" else []
        if kind_b == "expr" and op == "eq":
            others = [r for r in value_b if r[0] is not ref[0]]
            if others:
                return [("join", ref, others[0][0].table, _unwrap(node_b).sql(dialect="mysql"))]
        return []
    if kind_a == "expr" and kind_b == "const":
        _function_finding(ctx, node_a, value_a)
    elif kind_a == "expr" and kind_b == "expr" and (
            {id(r[0]) for r in value_a} != {id(r[0]) for r in value_b}):
        _function_finding(ctx, node_a, value_a)
        _function_finding(ctx, node_b, value_b)
    return []


def _in(ctx: Analyzer, block: Block, node: exp.In) -> list[Fact]:
    query = node.args.get("query")
    values = list(node.expressions)
    if any(_columns(v) for v in values):
        return []
    target = _unwrap(node.this)
    targets = list(target.expressions) if isinstance(target, exp.Tuple) else [target]
    out: list[Fact] = []
    for position, item in enumerate(targets):
        kind, value = _side(ctx, block, item)
        if kind == "expr":
            _function_finding(ctx, item, value)
        if kind != "col":
            continue
        mine = [v.expressions[position] if isinstance(v, exp.Tuple) and position < len(
            v.expressions) else v for v in values]
        if not _converts(ctx, value, mine):
            out.append(("eq", value, None if query is not None else len(values)))
    return out


def _between(ctx: Analyzer, block: Block, node: exp.Between) -> list[Fact]:
    kind, value = _side(ctx, block, node.this)
    bounds = [node.args["low"], node.args["high"]]
    if kind == "col" and not any(_columns(b) for b in bounds):
        return [] if _converts(ctx, value, bounds) else [("range", value)]
    if kind == "expr" and not any(_columns(b) for b in bounds):
        _function_finding(ctx, node.this, value)
    if kind == "const":  # ? BETWEEN start_col AND end_col
        return [("range", v) for k, v in (_side(ctx, block, b) for b in bounds) if k == "col"]
    return []


def like_prefix(pattern: exp.Expression) -> str | None:
    """The text a constant LIKE pattern is known to start with, or None when unknown.

    Literals through an introducer, a COLLATE, BINARY, N'...' and CONCAT of constants
    (up to the first part that is not a literal) all count.

    >>> from sqlglot import parse_one
    >>> like_prefix(parse_one("CONCAT('ab', ?, '%')", read="mysql"))
    'ab'
    >>> like_prefix(parse_one("_utf8mb4'x%' COLLATE utf8mb4_bin", read="mysql")), like_prefix(
    ...     parse_one("UPPER('x%')", read="mysql"))
    ('x%', None)
    """
    pattern = _unwrap(pattern)
    if isinstance(pattern, (exp.Cast, exp.Collate, exp.Introducer)):
        return like_prefix(pattern.this if not isinstance(pattern, exp.Introducer)
                           else pattern.expression)
    if isinstance(pattern, exp.National):
        return pattern.name
    if isinstance(pattern, exp.Literal):
        return pattern.this if pattern.is_string else None
    if isinstance(pattern, exp.Concat):
        text = ""
        for part in pattern.expressions:
            known = like_prefix(part)
            if known is None:
                return text or None
            text += known
        return text
    return None


def _like(ctx: Analyzer, block: Block, node: exp.Like) -> list[Fact]:
    """``col LIKE 'abc%'``: a constant prefix is a range on ``col``; a pattern that starts
    with a wildcard is a finding, not a range."""
    kind, value = _side(ctx, block, node.this)
    if _columns(node.expression):
        return []
    prefix = like_prefix(node.expression)
    if prefix is None:
        return []
    if kind == "expr":
        _function_finding(ctx, node.this, value)
    if kind != "col":
        return []
    if prefix[:1] in ("%", "_"):
        acc, column = value
        shown = _unwrap(node.expression).sql(dialect="mysql")
        ctx.finding("leading_wildcard", f"{acc.table}.{column} LIKE {shown} starts with "
                    "a wildcard: a B-tree index cannot seek it (a FULLTEXT index or a reversed "
                    "column can)", acc.table, column)
        return []
    return [("range", value)]


def _negation(ctx: Analyzer, block: Block, node: exp.Expression) -> list[Fact]:
    node = _unwrap(node)
    if isinstance(node, exp.Escape):
        node = node.this
    if not isinstance(node, (exp.In, exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.Like, exp.Between)):
        return []
    sides = [node.this] + ([node.expression] if isinstance(node.expression, exp.Expression)
                           and not isinstance(node, exp.In) else [])
    kinds = [_side(ctx, block, s) for s in sides]
    if isinstance(node, exp.Between):
        kinds = kinds[:1]
    cols = [value for kind, value in kinds if kind == "col"]
    if len(cols) == 1 and all(kind in ("col", "const") for kind, _ in kinds):
        return [("neg", cols[0])]
    return []


def _or(ctx: Analyzer, block: Block, node: exp.Or) -> list[Fact]:
    branches = list(node.flatten())
    per_branch = [facts(ctx, block, branch) for branch in branches]
    refs = {(id(r[0]), r[1]): r for c in _columns(node) if (r := ctx.resolve(block, c))}
    simple = all(len(f) == 1 and f[0][0] in _SIMPLE for f in per_branch)
    if simple and len(refs) == 1:
        ref = next(iter(refs.values()))
        kinds = {f[0][0] for f in per_branch}
        if kinds <= {"eq", "null"}:
            counts = [f[0][2] if f[0][0] == "eq" else 1 for f in per_branch]
            return [("eq", ref, None if None in counts else sum(counts))]
        return [("range", ref)]
    if len(refs) > 1:
        tables = {r[0].table for r in refs.values()}
        names = ", ".join(f"{acc.table}.{column}" for acc, column in list(refs.values())[:4])
        if len(refs) > 4:
            names += f" and {len(refs) - 4} more"
        ctx.finding("or_across_columns", f"OR across different columns ({names}): one index "
                    "cannot serve it; rewrite as UNION of two indexed queries, or rely on "
                    "index_merge", tables.pop() if len(tables) == 1 else None, None)
    return []


def facts(ctx: Analyzer, block: Block, node: exp.Expression) -> list[Fact]:
    """Facts of a condition (WHERE or ON), reporting non-sargable shapes on the way."""
    node = _unwrap(node)
    if isinstance(node, exp.And):
        return [f for part in node.flatten() for f in facts(ctx, block, part)]
    if isinstance(node, exp.Or):
        return _or(ctx, block, node)
    if isinstance(node, exp.Not):
        return _negation(ctx, block, node.this)
    if node.args.get("negate"):  # sqlglot reads `a NOT LIKE 'x'` as Like(negate=True)
        return _negation(ctx, block, node)
    if isinstance(node, exp.NEQ):
        return _negation(ctx, block, node)
    if isinstance(node, (exp.EQ, exp.NullSafeEQ)):
        return _compare(ctx, block, node.this, node.expression, "eq")
    if isinstance(node, _RANGE):
        return _compare(ctx, block, node.this, node.expression, "range")
    if isinstance(node, exp.In):
        return _in(ctx, block, node)
    if isinstance(node, exp.Between):
        return _between(ctx, block, node)
    if isinstance(node, exp.Escape) and isinstance(node.this, exp.Like):
        return _like(ctx, block, node.this)
    if isinstance(node, exp.Like):
        return _like(ctx, block, node)
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        kind, value = _side(ctx, block, node.this)
        return [("null", value)] if kind == "col" else []
    return []
