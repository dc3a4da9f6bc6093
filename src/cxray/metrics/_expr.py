"""Compile a checked KPI expression (``[kpis.NAME]``) to an Ibis expression over a table.

The text is parsed and checked by ``cxray.config._kpis`` (a whitelist of sqlglot node kinds);
here each node becomes the Ibis operation that means the same thing, so the expression is
portable: Ibis writes it in the SQL of DuckDB, PostgreSQL or Spark. Nothing is evaluated
in Python. A node the compiler does not know is refused (the whitelist and this module
are kept equal by a test).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis

from cxray.config._kpis import ExpressionError, parse_expression_tree

__all__ = ["compile_expression"]

_CASTS = {
    "DOUBLE": "float64",
    "FLOAT": "float64",
    "INT": "int64",
    "BIGINT": "int64",
    "SMALLINT": "int64",
    "TEXT": "string",
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
}


def compile_expression(text: str, t: ibis.Table) -> ibis.Value:
    """The Ibis value of expression ``text`` over the rows of ``t``.

    :class:`ExpressionError` names what is wrong: a column ``t`` does not have (with the
    columns it has), or operands of the wrong type.
    """
    tree = parse_expression_tree(text)
    try:
        return _compile(tree, t)
    except ExpressionError:
        raise
    except Exception as exc:  # Ibis's type errors: operands that do not fit
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExpressionError(f"the types do not fit: {first}") from None


def _time_between(unit: float) -> Callable[[ibis.Value, ibis.Value], ibis.Value]:
    def diff(a: ibis.Value, b: ibis.Value) -> ibis.Value:
        return (b.epoch_seconds() - a.epoch_seconds()).cast("float64") / unit

    return diff


_ANONYMOUS = {"hours_between": _time_between(3600.0), "days_between": _time_between(86400.0)}


def _as_numbers(a: Any, b: Any) -> tuple[Any, Any]:
    """A text operand beside a number is read as a number: imported attribute columns
    (survey answers from a file) are stored as text."""
    ta, tb = a.type(), b.type()
    if ta.is_string() and tb.is_numeric():
        return a.cast("float64"), b
    if tb.is_string() and ta.is_numeric():
        return a, b.cast("float64")
    return a, b


def _literal(node: Any) -> ibis.Value:
    text = node.this
    if node.is_string:
        return ibis.literal(str(text))
    try:
        return ibis.literal(int(text))
    except ValueError:
        return ibis.literal(float(text))


def _compile(node: Any, t: ibis.Table) -> Any:
    from sqlglot import exp

    def c(x: Any) -> Any:
        return _compile(x, t)

    if isinstance(node, exp.Column):
        name = node.name
        if name not in t.columns:
            known = ", ".join(sorted(x for x in t.columns if not x.startswith("_")))
            raise ExpressionError(f"no column {name!r} in the table (its columns: {known})")
        return t[name]
    if isinstance(node, exp.Literal):
        return _literal(node)
    if isinstance(node, exp.Boolean):
        return ibis.literal(bool(node.this))
    if isinstance(node, exp.Null):
        return ibis.null()
    if isinstance(node, exp.Paren):
        return c(node.this)
    if isinstance(node, exp.Neg):
        return -c(node.this)
    binary: dict[type, Callable[[Any, Any], Any]] = {
        exp.Add: lambda a, b: a + b,
        exp.Sub: lambda a, b: a - b,
        exp.Mul: lambda a, b: a * b,
        exp.Div: lambda a, b: a / b,
        exp.Mod: lambda a, b: a % b,
        exp.EQ: lambda a, b: a == b,
        exp.NEQ: lambda a, b: a != b,
        exp.GT: lambda a, b: a > b,
        exp.GTE: lambda a, b: a >= b,
        exp.LT: lambda a, b: a < b,
        exp.LTE: lambda a, b: a <= b,
        exp.And: lambda a, b: a & b,
        exp.Or: lambda a, b: a | b,
        exp.Like: lambda a, b: a.like(b),
        exp.ILike: lambda a, b: a.ilike(b),
        exp.Nullif: lambda a, b: a.nullif(b),
    }
    for kind, op in binary.items():
        if type(node) is kind:
            a, b = c(node.this), c(node.expression)
            if kind not in (exp.Like, exp.ILike, exp.And, exp.Or):
                a, b = _as_numbers(a, b)
            return op(a, b)
    if isinstance(node, exp.Not):
        return ~c(node.this)
    if isinstance(node, exp.Is):  # checked: IS NULL only
        return c(node.this).isnull()
    if isinstance(node, exp.In):
        values = [c(v) for v in node.expressions]
        subject = c(node.this)
        if subject.type().is_string() and all(v.type().is_numeric() for v in values):
            subject = subject.cast("float64")
        return subject.isin(values)
    if isinstance(node, exp.Between):
        subject, low, high = c(node.this), c(node.args["low"]), c(node.args["high"])
        subject, low = _as_numbers(subject, low)
        return subject.between(low, high)
    if isinstance(node, exp.Case):
        subject = node.args.get("this")
        pairs = []
        for branch in node.args.get("ifs") or []:
            cond = c(branch.this)
            if subject is not None:
                cond = c(subject) == cond
            pairs.append((cond, c(branch.args["true"])))
        default = node.args.get("default")
        return ibis.cases(*pairs, else_=c(default) if default is not None else None)
    if isinstance(node, exp.If):
        other = node.args.get("false")
        return ibis.ifelse(
            c(node.this), c(node.args["true"]), c(other) if other is not None else ibis.null()
        )
    if isinstance(node, exp.Coalesce):
        return ibis.coalesce(c(node.this), *(c(x) for x in node.expressions))
    if isinstance(node, exp.Cast | exp.TryCast):
        to = node.to.this.name
        return c(node.this).cast(_CASTS[to])
    if isinstance(node, exp.Least):
        return ibis.least(c(node.this), *(c(x) for x in node.expressions))
    if isinstance(node, exp.Greatest):
        return ibis.greatest(c(node.this), *(c(x) for x in node.expressions))
    if isinstance(node, exp.Round):
        digits = node.args.get("decimals")
        return c(node.this).round(int(digits.this) if digits is not None else 0)
    unary: dict[type, Callable[[Any], Any]] = {
        exp.Abs: lambda a: a.abs(),
        exp.Floor: lambda a: a.floor(),
        exp.Ceil: lambda a: a.ceil(),
        exp.Ln: lambda a: a.ln(),
        exp.Sqrt: lambda a: a.sqrt(),
        exp.Exp: lambda a: a.exp(),
        exp.Lower: lambda a: a.lower(),
        exp.Upper: lambda a: a.upper(),
        exp.Length: lambda a: a.length(),
        exp.Trim: lambda a: a.strip(),
    }
    for kind, op in unary.items():
        if type(node) is kind:
            return op(c(node.this))
    if isinstance(node, exp.Anonymous):
        fn = _ANONYMOUS[str(node.name).lower()]
        args = [c(x) for x in node.expressions]
        if len(args) != 2:
            raise ExpressionError(f"{node.name}(a, b) takes two times")
        return fn(*args)
    raise ExpressionError(f"{node.sql()!r} cannot be computed")  # pragma: no cover
