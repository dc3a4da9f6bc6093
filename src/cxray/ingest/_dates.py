"""What a column of dates that are not ISO 8601 is written as, and how to read it.

An import takes timestamps as ISO 8601 (``2025-03-01T14:05:00+02:00``). Exports of other
tools write dates their own way: ``19th November 2023``, ``11/19/2023 2:05 PM``,
``19.11.2023``, epoch seconds. Rather than guess silently (``03/04/2023`` is March or
April depending on who wrote it), the import refuses them, and its error says what the
values look like and the ``--map`` that reads them (a DuckDB ``strptime`` expression over
the file's column), checked on the values it saw: :func:`date_hint`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

__all__ = ["date_hint", "guess_date_format"]

_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")
_DAY_FIRST_WORDS = ("%d %B %Y", "%d %b %Y", "%d-%b-%Y", "%d-%b-%y", "%a, %d %b %Y", "%A, %d %B %Y")
_MONTH_FIRST_WORDS = ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y")
_NUMERIC_UNAMBIGUOUS = ("%Y/%m/%d", "%d.%m.%Y", "%d.%m.%y", "%Y%m%d", "%Y.%m.%d")
#: (month first, day first) pairs: which one is meant is told by a day above 12
_NUMERIC_PAIRS = (
    ("%m/%d/%Y", "%d/%m/%Y"),
    ("%m/%d/%y", "%d/%m/%y"),
    ("%m-%d-%Y", "%d-%m-%Y"),
)
_ORDINAL = re.compile(r"(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
#: the SQL that drops English ordinal suffixes (19th -> 19) before strptime
_ORDINAL_SQL = r"regexp_replace({col}, '(\d+)(st|nd|rd|th)\b', '\1', 'gi')"
_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _parses(values: Sequence[str], fmt: str) -> bool:
    for v in values:
        try:
            dt.datetime.strptime(v, fmt)
        except ValueError:
            return False
    return True


def guess_date_format(values: Sequence[str]) -> tuple[list[str], bool] | None:
    """The ``strptime`` formats under which every value reads (more than one only when
    month/day order cannot be told), and whether English ordinal suffixes must be dropped
    first; ``"epoch"`` / ``"epoch_ms"`` for seconds or milliseconds since 1970; None when
    no known way reads them all."""
    vals = [v.strip() for v in values if v and v.strip()]
    if not vals:
        return None
    if all(v.isdigit() and len(v) in (9, 10) for v in vals):
        return ["epoch"], False
    if all(v.isdigit() and len(v) in (12, 13) for v in vals):
        return ["epoch_ms"], False
    ordinal = any(_ORDINAL.search(v) for v in vals)
    plain = [_ORDINAL.sub(r"\1", v) for v in vals] if ordinal else vals
    for dates in (*_DAY_FIRST_WORDS, *_MONTH_FIRST_WORDS, *_NUMERIC_UNAMBIGUOUS):
        for time in _TIMES:
            if _parses(plain, dates + time):
                return [dates + time], ordinal
    for month_first, day_first in _NUMERIC_PAIRS:
        for time in _TIMES:
            a, b = _parses(plain, month_first + time), _parses(plain, day_first + time)
            if a and b:
                return [month_first + time, day_first + time], ordinal
            if a or b:
                return [(month_first if a else day_first) + time], ordinal
    return None


def _sql(column: str, fmt: str, ordinal: bool) -> str:
    col = column if _SIMPLE.fullmatch(column) else '"' + column.replace('"', '""') + '"'
    if fmt == "epoch":
        return f"to_timestamp(CAST({col} AS BIGINT))"
    if fmt == "epoch_ms":
        return f"to_timestamp(CAST({col} AS BIGINT) / 1000)"
    if ordinal:
        col = _ORDINAL_SQL.format(col=col)
    return f"strptime({col}, '{fmt}')"


def _shell(target: str, expr: str) -> str:
    r"""The ``--map`` option as typed in a POSIX shell (in double quotes: ``"`` and ``\``
    escaped)."""
    arg = f"{target}=sql:{expr}".replace("\\", "\\\\").replace('"', '\\"')
    return f'--map "{arg}"'


def date_hint(con: object, target: str, column: str, values: Sequence[str]) -> str | None:
    """What to tell a user whose ``column`` (mapped to ``target``) holds ``values`` (a
    sample) that are not ISO 8601: their format and the ``--map`` that reads them, checked
    with DuckDB on ``con`` against the values; None when no known format reads them all."""
    guess = guess_date_format(values)
    if guess is None:
        return None
    formats, ordinal = guess
    options = []
    for fmt in formats:
        expr = _sql(column, fmt, ordinal)
        if not _reads_all(con, expr, column, values):
            return None
        options.append(_shell(target, expr))
    if len(formats) == 2:
        return (
            f"the values look like dates written {formats[0]!r} (month first) or "
            f"{formats[1]!r} (day first): read them with {options[0]} or {options[1]}"
        )
    what = {"epoch": "seconds since 1970", "epoch_ms": "milliseconds since 1970"}.get(
        formats[0], f"dates written {formats[0]!r}" + (" with ordinals (19th)" if ordinal else "")
    )
    return f"the values look like {what}: read them with {options[0]}"


def _reads_all(con: object, expr: str, column: str, values: Sequence[str]) -> bool:
    """Whether DuckDB's ``expr`` reads every value (the suggestion is what runs)."""
    rows = [v for v in values if v and v.strip()]
    if not rows:
        return False
    safe = expr.replace("strptime(", "try_strptime(", 1)
    sql = (
        f"SELECT count(*) FILTER (WHERE ({safe}) IS NULL) "
        f'FROM (SELECT trim(unnest($1)) AS "{column.replace(chr(34), chr(34) * 2)}")'
    )
    try:
        (bad,) = con.execute(sql, [rows]).fetchone()  # type: ignore[attr-defined]
    except Exception:  # an expression DuckDB cannot take is no suggestion
        return False
    return bad == 0
