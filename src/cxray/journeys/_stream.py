"""The touchpoint stream: what one trace (a *case*) is, and its touchpoints in time order.

Every journey analysis reads one table of touchpoints with the same columns:

``_case``  the trace the touchpoint belongs to (a customer, a session, an order, ...)
``_ts``    when it happened, as stored (UTC): order and durations use real elapsed time
``_tp``    the touchpoint (events' ``touchpoint``; ``cases:opened`` and the like for
           other tables)
``_eid``   the row's key, which breaks ties between touchpoints at the same instant
``customer_id``  the customer, for slices and outcomes

It is built from ``events`` and, on request, from cases, orders and responses (each
time column a touchpoint of its own), restricted to the from/to window (local
time, through :class:`cxray.metrics.Context`) and to one value of events'
``journey`` column. All of it is portable Ibis.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis

from cxray.config import ProgramConfig
from cxray.exceptions import JourneyError, UnknownAttributeError
from cxray.metrics import NPS_GROUP, NULL_LABEL, Context, TableSource, parse_when

__all__ = ["CASES", "INCLUDE", "Scope", "Stream", "build_stream", "check_hours", "unlabel"]

#: the named notions of a case, and the column that identifies one
CASES = {"customer": "customer_id", "session": "session_id"}

#: tables whose time columns can join the stream as touchpoints of their own
INCLUDE = ("cases", "orders", "responses")

#: table -> (key column, [(time column, touchpoint)]); responses are named by survey
DERIVED: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "cases": (
        "case_id",
        (
            ("opened_at", "cases:opened"),
            ("first_response_at", "cases:first_response"),
            ("resolved_at", "cases:resolved"),
        ),
    ),
    "orders": ("order_id", (("ordered_at", "orders:placed"), ("delivered_at", "orders:delivered"))),
    "responses": ("response_id", (("submitted_at", "responses:"),)),
}

#: the most steps a funnel or a path may have
MAX_STEPS = 50


def unlabel(value: Any) -> Any:
    """A slice value as results show it: ``None`` for the missing ones."""
    return None if value == NULL_LABEL else value


def check_hours(value: Any, what: str = "within") -> float | None:
    """A positive, finite number of hours (or ``None``)."""
    if value is None:
        return None
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise JourneyError(f"{what} must be a number of hours, got {value!r}") from None
    if not math.isfinite(hours) or hours <= 0:
        raise JourneyError(f"{what} must be a positive number of hours, got {value!r}")
    return hours


@dataclass(frozen=True)
class Scope:
    """Which touchpoints a request looks at, and what one trace is.

    ``case``: ``customer`` (every touchpoint of one customer is one trace),
    ``session`` (events' ``session_id``; events without one are left out) or the
    name of any other column of events (an attribute such as ``order_id``).
    ``start``/``end``: dates or date-times in the program's time zone (``end``
    inclusive when a date). ``journey``: only events whose ``journey`` column
    holds this value. ``include``: cases, orders and/or responses as touchpoints.
    """

    case: str = "customer"
    start: Any = None
    end: Any = None
    journey: str | None = None
    include: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        case: str | None = "customer",
        start: Any = None,
        end: Any = None,
        journey: str | None = None,
        include: Sequence[str] | str | None = (),
    ) -> Scope:
        if isinstance(include, str):
            include = [p for p in include.split(",")]
        parts = tuple(dict.fromkeys(p.strip() for p in include or () if p and p.strip()))
        bad = [p for p in parts if p not in INCLUDE]
        if bad:
            raise JourneyError(
                f"include {bad[0]!r}: use one or more of {', '.join(INCLUDE)} (comma-separated)"
            )
        case = (case or "customer").strip()
        if not case:
            raise JourneyError("case must name customer, session or a column of events")
        return cls(case, start or None, end or None, (journey or "").strip() or None, parts)


@dataclass
class Stream:
    """The touchpoint stream of a request, with its context and what was left out."""

    table: ibis.Table
    ctx: Context
    scope: Scope
    #: ``_s_<attr>`` columns holding the ``by`` attributes (labels; see :func:`unlabel`)
    slices: list[str] = field(default_factory=list)
    #: slices that may change within a case (events' own columns): taken at the entry
    event_slices: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def by(self) -> tuple[str, ...]:
        return self.ctx.by

    @property
    def per_customer(self) -> bool:
        return self.case_column == "customer_id"

    @property
    def case_column(self) -> str:
        return CASES.get(self.scope.case, self.scope.case)


def _window(start: Any, end: Any) -> tuple[dt.datetime | None, dt.datetime | None]:
    s = parse_when(start, "--from")
    e = parse_when(end, "--to")
    if e is not None and not (isinstance(end, dt.datetime) or "T" in str(end)):
        e = e + dt.timedelta(days=1)  # a date is inclusive
    return s, e


def _label(col: ibis.Value) -> ibis.Value:
    return col.cast("string").fill_null(NULL_LABEL)


def build_stream(
    tables: TableSource,
    config: ProgramConfig,
    scope: Scope,
    *,
    by: Sequence[str] = (),
) -> Stream:
    """The stream of ``scope``, with the ``by`` attributes attached as slice columns."""
    start, end = _window(scope.start, scope.end)
    try:
        ctx = Context(tables, config, start=start, end=end, by=tuple(by))
    except Exception as exc:  # the window's own checks (start before end)
        raise JourneyError(str(exc)) from None
    if len(set(ctx.by)) != len(ctx.by):
        raise JourneyError("each by attribute may be given once")
    events_cols = [c for c in ctx.columns("events") if not c.startswith("_")]
    case_col = CASES.get(scope.case, scope.case)
    if case_col not in events_cols:
        raise JourneyError(
            f"unknown case {scope.case!r}: use customer, session or a column of events "
            f"({', '.join(c for c in events_cols if c not in ('timestamp', 'touchpoint'))})"
        )
    customer_cols = [c for c in ctx.columns("customers") if not c.startswith("_")]
    for attr in ctx.by:
        if attr != NPS_GROUP and attr not in events_cols and attr not in customer_cols:
            known = sorted({NPS_GROUP, *events_cols, *customer_cols} - {"timestamp"})
            raise UnknownAttributeError(
                f"unknown attribute {attr!r}; a journey can be sliced by a column of events "
                f"or customers: {', '.join(known)}"
            )
    notes: list[str] = []
    branches = [_events_branch(ctx, scope, case_col)]
    for name in scope.include:
        cols = ctx.columns(name)
        if case_col not in cols:
            notes.append(f"{name}: no {case_col} column to follow the case by; left out")
            continue
        branches.extend(_derived_branches(ctx, name, case_col))
    t = branches[0] if len(branches) == 1 else ibis.union(*branches, distinct=False)
    window = ctx.in_window(ctx.local(t._ts)) if (start or end) else None
    if window is not None:
        t = t.filter(window)
    slices: list[str] = []
    event_slices = False
    for attr in ctx.by:
        name = f"_s_{attr}"
        if attr in t.columns:  # an events column, carried by the branches: may vary in a case
            event_slices = True
            t = t.mutate(**{name: _label(t[attr])}).drop(attr)
        else:  # the customer's (or their latest NPS group)
            got = ctx.slice_column(t, attr)
            assert got is not None
            t = got[0].mutate(**{name: got[0][name].fill_null(NULL_LABEL)})
        slices.append(name)
    return Stream(t, ctx, scope, slices, event_slices, notes)


def _events_branch(ctx: Context, scope: Scope, case_col: str) -> ibis.Table:
    e = ctx.tables("events")
    e = e.filter(e[case_col].notnull() & e.timestamp.notnull() & e.touchpoint.notnull())
    if scope.journey is not None:
        e = e.filter(e.journey == scope.journey)
    extra = {a: e[a].cast("string") for a in ctx.by if a in e.columns}
    return e.select(
        _case=e[case_col].cast("string"),
        _ts=e.timestamp,
        _tp=e.touchpoint.cast("string"),
        _eid=e.event_id.cast("string"),
        customer_id=e.customer_id.cast("string"),
        **extra,
    )


def _derived_branches(ctx: Context, name: str, case_col: str) -> list[ibis.Table]:
    key, times = DERIVED[name]
    t = ctx.tables(name)
    cols = ctx.columns(name)
    out = []
    for time_col, touchpoint in times:
        if time_col not in cols:
            continue
        rows = t.filter(t[case_col].notnull() & t[time_col].notnull())
        if name == "responses":
            survey = rows.survey.cast("string") if "survey" in cols else ibis.null("string")
            tp = ibis.literal(touchpoint) + survey.fill_null("response")
        else:
            tp = ibis.literal(touchpoint)
        extra = {
            a: (rows[a].cast("string") if a in cols else ibis.null("string"))
            for a in ctx.by
            if a in ctx.columns("events")
        }
        out.append(
            rows.select(
                _case=rows[case_col].cast("string"),
                _ts=rows[time_col],
                _tp=tp.cast("string"),
                _eid=rows[key].cast("string"),
                customer_id=rows.customer_id.cast("string"),
                **extra,
            )
        )
    return out
