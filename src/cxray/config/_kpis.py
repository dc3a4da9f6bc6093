"""KPIs as code: ``[kpis.NAME]`` sections of ``cxray.toml``.

A custom KPI names a kind (how rows are summarised), a table, and expressions over the
table's columns::

    [kpis.repurchase_intent]
    title = "Likelihood to repurchase (top-2-box)"
    kind = "share"
    table = "responses"
    value = "repurchase >= 4"
    filter = "repurchase IS NOT NULL"
    unit = "%"
    target = 70
    action = 55

Expressions are SQL-like text parsed with sqlglot (never evaluated as Python) and checked
here against a whitelist of node kinds and functions (:data:`EXPR_NODES`,
:data:`EXPR_FUNCTIONS`): one scalar expression over column names, literals, arithmetic,
comparisons, AND/OR/NOT, IN, IS NULL, BETWEEN, LIKE, CASE, COALESCE and a few functions.
The metrics layer compiles the same tree to an Ibis expression (``cxray.metrics._expr``),
so a KPI runs unchanged on DuckDB, PostgreSQL and Spark. Which columns exist is known
only with the store (imports and surveys add attribute columns): a column that is not
there is an error naming the KPI when it is computed. Definitions: ``docs/metrics.md``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

__all__ = [
    "CUSTOM_KINDS",
    "EXPR_FUNCTIONS",
    "EXPR_NODES",
    "KPI_TABLES",
    "CustomKPI",
    "check_expression",
    "check_kpi_names",
    "parse_expression_tree",
]

CustomKind = Literal["nps", "share", "mean", "median", "rate", "ratio"]
#: the kinds a custom KPI may have
CUSTOM_KINDS: tuple[str, ...] = ("nps", "share", "mean", "median", "rate", "ratio")

#: the tables a custom KPI may read (survey answers are columns of ``responses``), each with
#: the time column that places a row in a period unless ``time_column`` says otherwise
KPI_TABLES: dict[str, str] = {
    "responses": "submitted_at",
    "cases": "opened_at",
    "orders": "ordered_at",
    "events": "timestamp",
    "customers": "created_at",
    "mentions": "posted_at",
}

#: the sqlglot node kinds an expression may contain (anything else is refused)
EXPR_NODES = frozenset(
    """
    Column Identifier Literal Boolean Null Paren Neg
    Add Sub Mul Div Mod
    EQ NEQ GT GTE LT LTE And Or Not In Is Between Like ILike
    Case If Coalesce Cast TryCast DataType
    Abs Round Floor Ceil Ln Sqrt Exp Lower Upper Length Trim Least Greatest Nullif
    Anonymous
    """.split()  # noqa: SIM905 - a list of words reads better as words
)
#: functions sqlglot does not know by name (``Anonymous`` nodes), lower case
EXPR_FUNCTIONS = frozenset({"hours_between", "days_between"})
#: types a ``CAST`` may name
CAST_TYPES = frozenset(
    {"DOUBLE", "FLOAT", "INT", "BIGINT", "SMALLINT", "TEXT", "VARCHAR", "BOOLEAN"}
)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class ExpressionError(ValueError):
    """An expression that is not allowed (its message says why)."""


def parse_expression_tree(text: str) -> Any:
    """The checked sqlglot tree of an expression (:func:`check_expression` says what is
    allowed); :class:`ExpressionError` otherwise."""
    import sqlglot
    from sqlglot import exp

    text = (text or "").strip()
    if not text:
        raise ExpressionError("the expression is empty")
    try:
        parsed = sqlglot.parse(text, read="duckdb")
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).splitlines()[0]
        raise ExpressionError(f"not an expression: {first}") from None
    if len(parsed) != 1 or parsed[0] is None:
        raise ExpressionError("one expression, not several statements")
    tree = parsed[0]
    for node in tree.walk():
        kind = type(node).__name__
        if kind not in EXPR_NODES:
            raise ExpressionError(
                f"{node.sql()!r} is not allowed ({kind}); an expression may use columns, "
                "literals, + - * / %, comparisons, AND/OR/NOT, IN, IS NULL, BETWEEN, LIKE, "
                "CASE, COALESCE, CAST and the functions abs, round, floor, ceil, ln, sqrt, "
                "exp, lower, upper, length, trim, least, greatest, nullif, "
                + ", ".join(sorted(EXPR_FUNCTIONS))
            )
        if isinstance(node, exp.Column) and node.table:
            raise ExpressionError(f"{node.sql()!r}: name a column without a table")
        if isinstance(node, exp.Anonymous) and str(node.name).lower() not in EXPR_FUNCTIONS:
            raise ExpressionError(
                f"the function {node.name!r} is not allowed (allowed: abs, round, floor, ceil, "
                "ln, sqrt, exp, lower, upper, length, trim, least, greatest, nullif, coalesce, "
                + ", ".join(sorted(EXPR_FUNCTIONS))
                + ")"
            )
        if isinstance(node, exp.In) and (node.args.get("query") or node.args.get("unnest")):
            raise ExpressionError("IN takes a list of values, not a query")
        if isinstance(node, exp.In) and not all(
            isinstance(v, exp.Literal | exp.Boolean | exp.Neg) for v in node.expressions
        ):
            raise ExpressionError(f"{node.sql()!r}: IN takes a list of literal values")
        if isinstance(node, exp.Cast | exp.TryCast):
            to = node.to.this.name if hasattr(node.to.this, "name") else str(node.to.this)
            if to.upper() not in CAST_TYPES:
                raise ExpressionError(
                    f"{node.sql()!r}: cast to one of {', '.join(sorted(CAST_TYPES))}"
                )
        if isinstance(node, exp.Is) and not isinstance(node.expression, exp.Null):
            raise ExpressionError(f"{node.sql()!r}: IS takes NULL (IS NULL, IS NOT NULL)")
    if not any(True for _ in tree.find_all(exp.Column)):
        raise ExpressionError("the expression uses no column")
    return tree


def check_expression(text: str) -> list[str]:
    """Check an expression; the column names it uses, in order of first use."""
    from sqlglot import exp

    tree = parse_expression_tree(text)
    return list(dict.fromkeys(c.name for c in tree.find_all(exp.Column)))


class CustomKPI(BaseModel):
    """``[kpis.NAME]``: a KPI defined in config (kind, table, expressions, unit, targets)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = None
    #: nps (0-10 answers), share (rows where value is true), mean, median,
    #: rate (per × sum(value) / rows), ratio (sum(value) / sum(denominator))
    kind: CustomKind
    #: one of :data:`KPI_TABLES` (survey answers are columns of ``responses``)
    table: str
    #: the expression each row is valued by
    value: str
    #: ``ratio``: the expression whose sum divides the sum of ``value``
    denominator: str | None = None
    #: ``rate``: the rate is per this many rows (1: per row; 1000: per 1,000 rows)
    per: float = 1.0
    #: only rows where this boolean expression is true count (NULL counts as false)
    filter: str | None = None
    #: the column that places a row in a period (default: the table's natural time)
    time_column: str | None = None
    #: the unit shown ("%" is the default of share; "points" of nps)
    unit: str | None = None
    direction: Literal["higher_is_better", "lower_is_better"] = "higher_is_better"
    #: the goal, and the action threshold (worse than this needs action), in the unit
    target: float | None = None
    action: float | None = None
    #: what it measures, in words (default: made from the expressions)
    definition: str | None = None

    @field_validator("table")
    @classmethod
    def _table(cls, v: str) -> str:
        t = v.strip().lower()
        if t in ("survey_answers", "answers"):
            t = "responses"
        if t not in KPI_TABLES:
            raise ValueError(
                f"table {v!r} is not a table a KPI can read (one of {', '.join(KPI_TABLES)}; "
                "survey answers are columns of responses)"
            )
        return t

    @field_validator("per")
    @classmethod
    def _per(cls, v: float) -> float:
        if not v > 0:
            raise ValueError(f"per ({v:g}) must be above 0")
        return v

    @model_validator(mode="after")
    def _expressions(self) -> CustomKPI:
        for field in ("value", "filter", "denominator"):
            text = getattr(self, field)
            if text is None:
                continue
            try:
                check_expression(text)
            except ExpressionError as exc:
                raise ValueError(f"{field} {text!r}: {exc}") from None
        if self.kind == "ratio" and self.denominator is None:
            raise ValueError("kind = 'ratio' needs a denominator expression")
        if self.kind != "ratio" and self.denominator is not None:
            raise ValueError(f"denominator is only for kind = 'ratio' (this KPI is {self.kind!r})")
        if self.kind != "rate" and self.per != 1.0:
            raise ValueError(f"per is only for kind = 'rate' (this KPI is {self.kind!r})")
        if self.time_column is not None and not _NAME.match(self.time_column):
            raise ValueError(f"time_column {self.time_column!r}: name one column of the table")
        if self.target is not None and self.action is not None:
            if self.direction == "higher_is_better" and self.action > self.target:
                raise ValueError(
                    f"action ({self.action:g}) must not be above target ({self.target:g}); "
                    "higher is better"
                )
            if self.direction == "lower_is_better" and self.action < self.target:
                raise ValueError(
                    f"action ({self.action:g}) must not be below target ({self.target:g}); "
                    "lower is better"
                )
        return self

    @property
    def time(self) -> str:
        """The column that places a row in a period."""
        return self.time_column or KPI_TABLES[self.table]

    @property
    def shown_unit(self) -> str:
        if self.unit:
            return self.unit
        if self.kind == "rate":
            return f"per {self.per:,g} {self.table}"
        return {"nps": "points", "share": "%"}.get(self.kind, "")

    def describe(self) -> str:
        """The definition, or one made from the expressions."""
        if self.definition:
            return self.definition
        rows = f"{self.table} rows" + (f" where {self.filter}" if self.filter else "")
        what = {
            "nps": f"% of {self.value} in 9-10 minus % in 0-6",
            "share": f"% where {self.value}",
            "mean": f"mean of {self.value}",
            "median": f"median of {self.value}",
            "rate": f"sum of {self.value} per {self.per:g} rows",
            "ratio": f"sum of {self.value} / sum of {self.denominator}",
        }[self.kind]
        return f"{what}, over {rows}, by {self.time}"


def check_kpi_names(kpis: dict[str, CustomKPI], builtin: set[str]) -> dict[str, CustomKPI]:
    """KPI names are lower-case words that no built-in KPI (or its family) uses."""
    for name in kpis:
        if not _NAME.match(name):
            raise ValueError(
                f"KPI name {name!r}: use lower-case letters, digits and '_', starting with a letter"
            )
        if name in builtin:
            raise ValueError(f"KPI name {name!r} is a built-in KPI; choose another name")
    return kpis
