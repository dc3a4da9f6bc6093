"""Named sources (``[sources.NAME]`` in ``cxray.toml``) and the mapping grammar they share
with ``cxray import --map``.

A named source remembers how one kind of file is imported::

    [sources.telco]
    table = "customers"
    map = { customer_id = "customerID", created_at = "tenure:months-before:2024-01-31" }

``cxray import customers file.csv --source telco`` then reuses it; ``--map`` on the command
line replaces single targets. ``vendor`` names the reader of a vendor export (``qualtrics``,
``typeform``, ...) and ``format`` the file kind of a plain file (``csv``, ``tsv``,
``parquet``, ``jsonl``) when its name does not say it.

A mapping's expression is one of (first match wins):

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
    a derived timestamp (``cxray.ingest._derive``).

A target is a contract column of the table, or ``-`` to leave a column out. One column may
feed several targets.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from cxray.exceptions import SourceError

__all__ = [
    "DERIVED_FORM",
    "DERIVED_RULES",
    "DROP",
    "SOURCE_FORMATS",
    "SQL_FUNCTIONS",
    "TABLES",
    "MapExpr",
    "SourceConfig",
    "Sources",
    "check_derived",
    "check_sql",
    "parse_expression",
    "parse_mapping",
    "referenced_columns",
    "source_of",
]

#: the canonical tables a named source may feed (the data contract's; a test keeps them equal)
TABLES = ("customers", "events", "responses", "cases", "orders", "mentions")
#: ``format`` of a named source: the kind of a plain file whose name does not say it
SOURCE_FORMATS = ("csv", "tsv", "parquet", "jsonl")
#: derived-timestamp rule -> what it means (``cxray.ingest._derive`` computes them)
DERIVED_RULES = {
    "months-before": "calendar months before the date (a whole number)",
    "days-before": "days before the date",
    "yes-at": "the date when the value is yes, empty when no",
}
DERIVED_FORM = re.compile(
    r"^(?P<source>.+):(?P<rule>[a-z][a-z-]*):(?P<date>\d{4}-\d\d-\d\d[T 0-9:.]*)$"
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

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
    low = text.lower()
    if target.startswith(DROP):
        if low.startswith(("sql:", "const:")) or any(a in text for a in _ARROWS):
            raise SourceError(f"{where}: a column to leave out is a column name or #N")
        return MapExpr(target, "column", text, column=text)
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
    if m.kind == "column":  # a derived form names its column before the rule
        return [source_of(text) or text]
    return [m.column] if m.column else []


def source_of(text: str) -> str | None:
    """The source column of a derived form (``tenure`` of ``tenure:months-before:...``)."""
    m = DERIVED_FORM.match(text.strip())
    return m["source"].strip() if m else None


def check_derived(text: str, where: str) -> dt.datetime | None:
    """The date of a derived form, or None when ``text`` is not one; an unknown rule or a
    date that is not a date is an error."""
    m = DERIVED_FORM.match(text.strip())
    if m is None:
        return None
    rule = m["rule"]
    if rule not in DERIVED_RULES:
        known = "; ".join(f"{k}: {v}" for k, v in DERIVED_RULES.items())
        raise SourceError(f"{where}: unknown rule {rule!r} (the rules: {known})")
    try:
        date = dt.datetime.fromisoformat(m["date"].strip())
    except ValueError:
        raise SourceError(
            f"{where}: {m['date']!r} is not a date (YYYY-MM-DD or an ISO 8601 date-time)"
        ) from None
    if date.tzinfo is not None:
        raise SourceError(f"{where}: give the date without a time zone offset")
    return date


class SourceConfig(BaseModel):
    """``[sources.NAME]``: how one kind of file is imported (table, mapping, reader)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the canonical table the files feed
    table: str
    #: target -> expression, as ``--map`` takes them
    map: dict[str, str] = Field(default_factory=dict)
    #: columns of the file to leave out (names or ``#N``), like ``--map -=COLUMN``
    drop: list[str] = Field(default_factory=list)
    #: a vendor reader (``qualtrics``, ``surveymonkey``, ``typeform``, ...); default: detected
    vendor: str | None = None
    #: the kind of a plain file whose name does not say it
    format: str | None = None
    description: str = ""

    @field_validator("table")
    @classmethod
    def _table(cls, v: str) -> str:
        if v.strip().lower() not in TABLES:
            raise ValueError(f"table {v!r} is not a table of cxray (one of {', '.join(TABLES)})")
        return v.strip().lower()

    @field_validator("format")
    @classmethod
    def _format(cls, v: str | None) -> str | None:
        if v is not None and v.strip().lower() not in SOURCE_FORMATS:
            raise ValueError(f"format {v!r}: one of {', '.join(SOURCE_FORMATS)}")
        return v.strip().lower() if v else v

    @model_validator(mode="after")
    def _mapping(self) -> SourceConfig:
        for target, expr in self.map.items():
            where = f"map.{target} = {expr!r}"
            try:
                parse_expression(target, expr, option="map")
                check_derived(expr, where)
            except SourceError as exc:
                raise ValueError(str(exc).replace(f"map {target}={expr.strip()}", where)) from None
        return self

    def mapping(self) -> dict[str, str]:
        """The mapping as ``--map`` gives it (``drop`` as ``-`` targets)."""
        out = {k: v for k, v in self.map.items() if not k.startswith(DROP)}
        drops = [v for k, v in self.map.items() if k.startswith(DROP)] + list(self.drop)
        out.update({DROP * (i + 1): v for i, v in enumerate(drops)})
        return out


def check_source_names(sources: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
    """Source names are lower-case words (they are typed after ``--source``)."""
    for name in sources:
        if not _NAME.match(name):
            raise ValueError(f"source name {name!r}: use lower-case letters, digits, '_' and '-'")
    return sources


#: ``ProgramConfig.sources``: named sources by name
Sources = Annotated[dict[str, SourceConfig], AfterValidator(check_source_names)]
