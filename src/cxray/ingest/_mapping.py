"""User column mappings: ``TARGET=EXPRESSION`` pairs (``--map nps=Q1``).

An expression is one of (first match wins):

``Q1``
    a column of the file by its name (exactly, ignoring case, or once normalized); a value
    that names a column of the file is always that column;
``#3``
    the file's third column (1-based), so that a column without a name can be mapped;
``sql:round(score10::DOUBLE)``
    a DuckDB SQL expression over the file's columns, evaluated in the store on the staged
    values (text for CSV files, trimmed, empty = NULL). It is checked before use: one scalar
    expression, columns of the file only, functions from :data:`SQL_FUNCTIONS`; no
    subqueries, tables or statements;
``const:web`` or ``'web'``
    the same value on every row;
``Churn:Yes->true,No->false`` (or ``→``)
    a value map: each value of the column (trimmed, ignoring case) becomes the value on
    the right; ``*->x`` catches every other value; a value not in the map fails the import;
``tenure:months-before:2024-01-31``
    a derived timestamp (:mod:`cxray.ingest._derive`).

A target is a contract column of the table, or ``-`` to leave a column out. One column may
feed several targets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cxray.exceptions import SourceError

__all__ = [
    "DROP",
    "SQL_FUNCTIONS",
    "MapExpr",
    "parse_expression",
    "parse_mapping",
    "referenced_columns",
]

#: the target that leaves a column out of the import
DROP = "-"
_POSITION = re.compile(r"^#(\d+)$")
_ARROWS = ("->", "→")

#: the functions a ``sql:`` mapping may call (DuckDB names, lower case)
SQL_FUNCTIONS = frozenset(
    """
    abs ceil ceiling floor round trunc sign sqrt ln log log10 log2 exp pow power mod
    greatest least coalesce ifnull nullif if
    lower upper lcase ucase trim ltrim rtrim length len substr substring left right
    replace reverse lpad rpad concat concat_ws split_part strpos instr position contains
    starts_with ends_with prefix suffix regexp_replace regexp_extract regexp_matches
    regexp_full_match md5 repeat
    strptime try_strptime strftime make_date make_timestamp to_timestamp epoch_ms
    date_trunc date_part datepart extract date_add date_diff datediff date_sub
    to_years to_months to_days to_hours to_minutes to_seconds to_microseconds
    year month day hour minute second dayofweek isodow dayofyear week quarter
    last_day age
    """.split()  # noqa: SIM905 - a list of words reads better as words
)


@dataclass(frozen=True)
class MapExpr:
    """One parsed mapping: what ``target`` is made of."""

    target: str
    #: ``column``, ``position``, ``sql``, ``const``, ``values`` or ``derived``
    kind: str
    #: as the user wrote it
    text: str
    #: the source column (``column``, ``values``, ``derived``)
    column: str | None = None
    #: 1-based (``position``)
    position: int | None = None
    #: the checked SQL (``sql``), the value (``const``)
    value: str | None = None
    #: ``values``: (source value, new value), matched ignoring case; ``*`` catches the rest
    pairs: tuple[tuple[str, str], ...] = ()

    @property
    def option(self) -> str:
        return f"--map {self.target}={self.text}"


def parse_mapping(items: Iterable[str], *, option: str = "--map") -> dict[str, str]:
    """``["nps=Q1", "comment=Q2"]`` -> ``{"nps": "Q1", "comment": "Q2"}``; a clear error else.

    Each expression is checked for its form here (a ``sql:`` expression is parsed); the
    columns it names are checked against the file when it is read.
    """
    out: dict[str, str] = {}
    drops = 0
    for item in items:
        target, sep, expr = item.partition("=")
        target, expr = target.strip(), expr.strip()
        if not sep or not target or not expr:
            raise SourceError(
                f"{option} {item!r}: expected TARGET=EXPRESSION, e.g. nps=Q1 "
                "(a column, #N, sql:EXPR, const:VALUE, COLUMN:A->x,B->y)"
            )
        if target == DROP:  # several columns may be left out: keep each
            drops += 1
            target = DROP * drops
        elif target.lower() in (t.lower() for t in out):
            raise SourceError(f"{option} {item!r}: {target!r} is mapped twice")
        parse_expression(target, expr, option=option)
        out[target] = expr
    return out


def parse_expression(
    target: str, text: str, columns: list[str] | None = None, *, option: str = "--map"
) -> MapExpr:
    """Parse one mapping's expression. With ``columns`` (the file's), a value that names
    one of them is that column; without, only the form is checked."""
    text = text.strip()
    where = f"{option} {target}={text}"
    if columns is not None and text in columns:
        return MapExpr(target, "column", text, column=text)
    m = _POSITION.match(text)
    if m:
        n = int(m[1])
        if n < 1:
            raise SourceError(f"{where}: columns are counted from #1")
        if columns is not None and n > len(columns):
            raise SourceError(f"{where}: the file has {len(columns)} columns")
        return MapExpr(target, "position", text, position=n)
    if target.startswith(DROP):
        raise SourceError(f"{where}: a column to leave out is a column name or #N")
    low = text.lower()
    if low.startswith("sql:"):
        sql = text[4:].strip()
        check_sql(sql, where, columns)
        return MapExpr(target, "sql", text, value=sql)
    if low.startswith("const:"):
        return MapExpr(target, "const", text, value=text[6:].strip())
    if len(text) >= 2 and text[0] == text[-1] == "'":
        inner = text[1:-1]
        if "'" in inner.replace("''", ""):
            raise SourceError(f"{where}: a quote inside a constant is written twice ('')")
        return MapExpr(target, "const", text, value=inner.replace("''", "'"))
    arrow = min((i for i in (text.find(a) for a in _ARROWS) if i >= 0), default=-1)
    if arrow >= 0:
        return _value_map(target, text, arrow, where)
    return MapExpr(target, "column", text, column=text)


def _value_map(target: str, text: str, arrow: int, where: str) -> MapExpr:
    colon = text.rfind(":", 0, arrow)
    if colon <= 0:
        raise SourceError(
            f"{where}: a value map is COLUMN:VALUE->NEW,VALUE->NEW (e.g. Churn:Yes->true,No->false)"
        )
    column, body = text[:colon].strip(), text[colon + 1 :]
    pairs: list[tuple[str, str]] = []
    for part in body.split(","):
        for a in _ARROWS:
            old, sep, new = part.partition(a)
            if sep:
                break
        if not sep or not old.strip():
            raise SourceError(
                f"{where}: {part.strip()!r} is not VALUE->NEW (a value map is "
                "COLUMN:VALUE->NEW,VALUE->NEW, e.g. Churn:Yes->true,No->false)"
            )
        key = old.strip()
        if key.lower() in (k.lower() for k, _ in pairs):
            raise SourceError(f"{where}: the value {key!r} is mapped twice")
        pairs.append((key, new.strip()))
    return MapExpr(target, "values", text, column=column, pairs=tuple(pairs))


def check_sql(sql: str, where: str, columns: list[str] | None = None) -> list[str]:
    """Check a ``sql:`` expression: one scalar expression over columns of the file and the
    functions of :data:`SQL_FUNCTIONS`. Returns the column names it uses, as written."""
    import sqlglot
    from sqlglot import exp

    if not sql:
        raise SourceError(f"{where}: the SQL expression is empty")
    try:
        parsed = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).splitlines()[0]
        raise SourceError(f"{where}: not a SQL expression: {first}") from None
    if len(parsed) != 1 or parsed[0] is None:
        raise SourceError(f"{where}: one SQL expression, not several statements")
    tree = parsed[0]
    refused = (exp.Query, exp.Subquery, exp.Table, exp.Star, exp.Command, exp.DDL, exp.DML)
    for node in tree.walk():
        if isinstance(node, refused) or type(node).__name__ in ("Create", "Drop", "Pragma", "Set"):
            raise SourceError(
                f"{where}: only a scalar expression over the file's columns is allowed "
                f"(no queries, tables or statements; found {node.key.upper()})"
            )
        if isinstance(node, exp.Column) and node.table:
            raise SourceError(f"{where}: {node.sql()!r}: name a column of the file without a table")
        if isinstance(node, exp.Func) and not isinstance(
            node, exp.Cast | exp.Case | exp.If | exp.Coalesce | exp.Extract
        ):
            name = _function_name(node)
            if name not in SQL_FUNCTIONS:
                raise SourceError(
                    f"{where}: the function {name!r} is not allowed in a mapping (allowed: "
                    f"{', '.join(sorted(SQL_FUNCTIONS))})"
                )
    used = [c.name for c in tree.find_all(exp.Column)]
    if not used and columns is not None:
        raise SourceError(
            f"{where}: the expression uses no column; for a constant write const:VALUE"
        )
    return used


def _function_name(node: object) -> str:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    rendered = node.sql(dialect="duckdb")
    return rendered.split("(", 1)[0].strip().lower()


def referenced_columns(expr: str) -> list[str]:
    """The column names an expression names (for a vendor source deciding its defaults)."""
    text = expr.strip()
    try:
        m = parse_expression("x", text)
    except SourceError:
        return [text]
    if m.kind == "sql":
        try:
            return check_sql(m.value or "", "")
        except SourceError:
            return []
    if m.kind == "column":
        # a derived form names its column before the rule
        from cxray.ingest._derive import source_of

        return [source_of(text) or text]
    return [m.column] if m.column else []
