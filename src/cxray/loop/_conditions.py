"""A rule's condition, in the store (an Ibis filter) and on rows in memory (a predicate).

Both follow SQL's three-valued logic, so a row matches in memory exactly when it would
in the store: a comparison with a missing value is *unknown*, ``not unknown`` is unknown,
``false and unknown`` is false, ``true or unknown`` is true, and only *true* matches.

``sentiment`` is the label text enrichment gave the row's text (``negative``,
``neutral``, ``positive``) and ``theme`` a taxonomy theme of it; for cases,
``first_response_hours`` and ``resolution_hours`` are computed from the times. Those
names are joined in by :func:`with_derived` before the filter is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from cxray.config import Comparison, Condition

__all__ = ["DERIVED", "derived_names", "evaluate", "to_filter", "with_derived"]

#: names that are not columns of the table but derived for conditions
DERIVED = ("sentiment", "theme", "first_response_hours", "resolution_hours")
#: the text field whose sentiment and themes a condition on a table reads
_TEXT_FIELD = {"responses": "comment", "cases": "description", "mentions": "text"}
_KEY = {"responses": "response_id", "cases": "case_id", "mentions": "mention_id"}


def derived_names(cond: Condition | None) -> set[str]:
    return set() if cond is None else cond.names() & set(DERIVED)


def with_derived(
    t: ibis.Table, table: str, names: set[str], tables: Callable[[str], ibis.Table]
) -> ibis.Table:
    """``t`` with the derived columns a condition uses (``_d_sentiment``, ``_d_theme`` ...)."""
    key = _KEY[table]
    if "sentiment" in names:
        s = tables("text_sentiment")
        s = s.filter((s.table_name == table) & (s.field == _TEXT_FIELD[table])).select(
            _sk=s.row_key, _d_sentiment=s.sentiment_label
        )
        t = t.left_join(s, t[key] == s._sk).drop("_sk")
    if "theme" in names:
        th = tables("text_themes")
        th = th.filter(th.table_name == table).select(_tk=th.row_key, _d_theme=th.themes)
        t = t.left_join(th, t[key] == th._tk).drop("_tk")
    if "first_response_hours" in names:
        t = t.mutate(
            _d_first_response_hours=(
                t.first_response_at.epoch_seconds() - t.opened_at.epoch_seconds()
            ).cast("float64")
            / 3600.0
        )
    if "resolution_hours" in names:
        t = t.mutate(
            _d_resolution_hours=(t.resolved_at.epoch_seconds() - t.opened_at.epoch_seconds()).cast(
                "float64"
            )
            / 3600.0
        )
    return t


def _column(t: ibis.Table, name: str) -> ir.Value:
    return t[f"_d_{name}"] if name in DERIVED else t[name]


def _compare(t: ibis.Table, c: Comparison) -> ir.BooleanValue:
    col = _column(t, c.name)
    v = c.value
    if v is None:
        return col.isnull() if c.op == "==" else col.notnull()
    if c.name == "theme":  # themes are stored as |id|id| per row; a null in a list names none
        values = [x for x in (v if isinstance(v, tuple) else (v,)) if x is not None]
        if not values:
            return col.isnull() & col.notnull() if c.op == "in" else col.notnull() | col.isnull()
        hits = [col.contains(f"|{x}|") for x in values]
        anyhit = hits[0]
        for h in hits[1:]:
            anyhit = anyhit | h
        return anyhit if c.op in ("==", "in") else ~anyhit
    return {
        "==": lambda: col == v,
        "!=": lambda: col != v,
        "<": lambda: col < v,
        "<=": lambda: col <= v,
        ">": lambda: col > v,
        ">=": lambda: col >= v,
        "in": lambda: col.isin(list(v)),
        "not in": lambda: ~col.isin(list(v)),
    }[c.op]()


def to_filter(t: ibis.Table, cond: Condition) -> ir.BooleanValue:
    """The condition as a boolean column of ``t`` (after :func:`with_derived`)."""
    parts = [to_filter(t, p) if isinstance(p, Condition) else _compare(t, p) for p in cond.parts]
    if cond.op == "not":
        return ~parts[0]
    out = parts[0]
    for p in parts[1:]:
        out = (out & p) if cond.op == "and" else (out | p)
    return out


def _test(c: Comparison, row: Mapping[str, Any]) -> bool | None:
    value = row.get(c.name)
    if c.value is None:
        return (value is None) if c.op == "==" else (value is not None)
    if c.name == "theme":
        values = [
            x for x in (c.value if isinstance(c.value, tuple) else (c.value,)) if x is not None
        ]
        if not values:
            return c.op != "in"
        if value is None:
            return None
        hit = any(f"|{v}|" in str(value) for v in values)
        return hit if c.op in ("==", "in") else not hit
    if value is None:
        return None
    v = c.value
    try:
        if c.op in ("in", "not in"):  # x IN (a, NULL) is unknown unless x is a
            found: bool | None = value in [x for x in v if x is not None]
            if not found and None in v:
                found = None
            if c.op == "in" or found is None:
                return found
            return not found
        if c.op == "==":
            return value == v
        if c.op == "!=":
            return value != v
        if c.op == "<":
            return value < v
        if c.op == "<=":
            return value <= v
        if c.op == ">":
            return value > v
        return value >= v
    except TypeError:
        return None


def evaluate(cond: Condition, row: Mapping[str, Any]) -> bool | None:
    """The condition on one row in memory: True, False or None (unknown), as SQL has it."""
    vals = [evaluate(p, row) if isinstance(p, Condition) else _test(p, row) for p in cond.parts]
    if cond.op == "not":
        return None if vals[0] is None else not vals[0]
    if cond.op == "and":
        if any(v is False for v in vals):
            return False
        return None if any(v is None for v in vals) else True
    if any(v is True for v in vals):
        return True
    return None if any(v is None for v in vals) else False
