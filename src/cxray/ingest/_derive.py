"""Derived columns in ``--map``: a contract timestamp computed from a column of the file.

A file without dates (a snapshot such as the IBM Telco churn file: a tenure in months and a
Yes/No churn flag) can still feed ``created_at`` and ``churned_at``:

``--map created_at=tenure:months-before:2024-01-31``
    the customer joined ``tenure`` calendar months before 2024-01-31 (a whole number);
``--map created_at=age:days-before:2024-01-31``
    ... ``age`` days before it (fractions allowed);
``--map churned_at=Churn:yes-at:2024-01-31``
    left on 2024-01-31 when ``Churn`` is yes (yes/y/true/t/1), still a customer when it is
    no (no/n/false/f/0) or empty.

The form is ``CANONICAL=SOURCE:RULE:DATE``; the date (``YYYY-MM-DD`` or a date-time) is read
in the program's time zone like every naive timestamp. The source column is *used up*: it
becomes the canonical column and is not kept as an attribute too (``Churn`` kept beside
``churned_at`` would hand the outcome to every model as a feature). A value the rule cannot
read (a tenure that is not a number, a flag that is not yes/no) fails the import with its
file, row, column and value, and nothing is written. Derivations are pure functions of the
row, so importing the same file again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cxray.config._sources import DERIVED_FORM, DERIVED_RULES, check_derived, source_of
from cxray.exceptions import SourceError

__all__ = ["RULES", "Derivation", "derivation_sql", "source_of", "split_derivations"]

RULES = DERIVED_RULES
_FORM = DERIVED_FORM
#: a thousand years: longer tenures are typing errors
_MAX_MONTHS = 12000
_YES = ("yes", "y", "true", "t", "1")
_NO = ("no", "n", "false", "f", "0")


@dataclass(frozen=True)
class Derivation:
    """``canonical`` computed from the file's ``source`` column by ``rule`` at ``date``."""

    canonical: str
    source: str
    rule: str
    date: dt.datetime
    text: str  # as the user wrote it

    @property
    def option(self) -> str:
        return f"{self.canonical}={self.text}"


def split_derivations(
    mapping: dict[str, str], columns: list[str], timestamps: set[str]
) -> tuple[dict[str, str], dict[str, Derivation]]:
    """Plain renames and derivations of ``mapping``; a value that names a column of the file
    (``columns``) is always a rename. ``timestamps``: the contract's timestamp columns."""
    plain: dict[str, str] = {}
    derived: dict[str, Derivation] = {}
    for canonical, value in mapping.items():
        m = _FORM.match(value.strip())
        if value in columns or m is None:
            plain[canonical] = value
            continue
        option = f"--map {canonical}={value}"
        rule = m["rule"]
        date = check_derived(value, option)
        assert date is not None
        canon = canonical.strip().lower()
        if canon not in timestamps:
            raise SourceError(
                f"{option}: {rule} makes a timestamp, and {canonical!r} is not a timestamp "
                f"column ({', '.join(sorted(timestamps))})"
            )
        derived[canon] = Derivation(canon, m["source"].strip(), rule, date, value.strip())
    return plain, derived


def derivation_sql(d: Derivation, text: str, local_to_utc: str) -> tuple[str, str, str]:
    """SQL for ``d`` over the source value ``text`` (trimmed text, NULL when empty):
    ``(expression, failing predicate, rule message)``. ``local_to_utc`` is a format string
    with one ``{}`` that turns a naive local TIMESTAMP expression into UTC."""
    at = local_to_utc.format(f"TIMESTAMP '{d.date:%Y-%m-%d %H:%M:%S.%f}'")
    where = f"{d.source!r} (derived by --map {d.option})"
    if d.rule == "yes-at":
        low = f"lower({text})"
        yes, no = ", ".join(f"'{v}'" for v in _YES), ", ".join(f"'{v}'" for v in _NO)
        expr = f"CASE WHEN {low} IN ({yes}) THEN {at} END"
        bad = f"{text} IS NOT NULL AND {low} NOT IN ({yes}, {no})"
        return expr, bad, f"{where}: not yes/no (yes, y, true, t, 1 / no, n, false, f, 0)"
    num = f"TRY_CAST({text} AS DOUBLE)"
    if d.rule == "months-before":
        ok = f"{num} = trunc({num}) AND {num} BETWEEN 0 AND {_MAX_MONTHS}"
        expr = f"CASE WHEN {ok} THEN {at} - to_months(CAST({num} AS INTEGER)) END"
        bad = f"{text} IS NOT NULL AND NOT coalesce({ok}, false)"
        return expr, bad, f"{where}: not a whole number of months from 0 to {_MAX_MONTHS}"
    ok = f"{num} BETWEEN 0 AND {_MAX_MONTHS * 31}"
    expr = f"CASE WHEN {ok} THEN {at} - to_microseconds(CAST(round({num} * 86400e6) AS BIGINT)) END"
    bad = f"{text} IS NOT NULL AND NOT coalesce({ok}, false)"
    return expr, bad, f"{where}: not a number of days from 0 to {_MAX_MONTHS * 31}"
