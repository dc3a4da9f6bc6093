"""What happened to a customer in a window before a moment: the window features.

An *anchor* is a row with a key, a customer and a moment (``_key``, ``_cid``,
``_at``): a survey response and its ``submitted_at``, or a customer and an
as-of date. For each anchor the functions here count, in the store, what the
customer's orders, deliveries, support cases and journeys were in the
``window`` before the moment (``[_at - window, _at)``), as of that moment: a
case still open at the moment counts as unresolved even if it was resolved
later, and a delivery that had not arrived by its promise counts as late.

Everything is a portable Ibis expression (joins on the customer with a time
range, ``group_by``, ``CASE``), so the same features come out of DuckDB,
PostgreSQL and Spark. Anchors without a customer get no counts (``NULL``):
nothing is known of what happened to an anonymous respondent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from cxray.config import JourneyConfig, ProgramConfig
from cxray.features._catalogue import Feature, Moment, slug

__all__ = ["NOT_REVENUE", "WINDOW_NAMES", "WINDOW_PREFIXES", "WindowPlan", "window_features"]

TableSource = Callable[[str], ibis.Table]

#: order statuses that are not revenue (as in the revenue KPIs)
NOT_REVENUE = ("cancelled", "canceled", "returned")
#: every name a window feature can have (and the prefixes of the ones made per channel or
#: journey): an attribute column of the same name is not read as a rating
WINDOW_NAMES = frozenset({
    "orders", "amount", "deliveries", "late_deliveries", "days_late", "cases",
    "cases_reopened", "cases_unresolved", "cases_fcr", "cases_not_fcr", "cases_slow_response",
    "contacts", "first_response_hours", "resolution_hours",
})  # fmt: skip
WINDOW_PREFIXES = ("cases_via_", "journey_started_", "journey_abandoned_")
#: at most this many case channels get a count of their own (the most frequent ones)
MAX_CHANNELS = 8
_DAY = 86400.0


def _seconds(a: ir.TimestampValue, b: ir.TimestampValue) -> ir.FloatingValue:
    """Seconds from ``a`` to ``b``."""
    return (b.epoch_seconds() - a.epoch_seconds()).cast("float64")


def _count(cond: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(cond, 1, 0).sum()


@dataclass(frozen=True)
class WindowPlan:
    """Which window features a store supports, decided once from its data."""

    orders: bool
    deliveries: bool
    cases: bool
    channels: tuple[str, ...]
    journeys: tuple[tuple[str, JourneyConfig], ...]
    slow_hours: float

    @classmethod
    def of(cls, tables: TableSource, config: ProgramConfig) -> WindowPlan:
        """What the store holds, in three small queries (one per table)."""
        o = tables("orders")
        c = tables("cases")
        e = tables("events")
        dated = o.promised_at.notnull() | o.delivered_at.notnull()
        row = o.aggregate(n=o.count(), dated=_count(dated)).to_pyarrow().to_pylist()[0]
        has_orders, has_deliveries = bool(row["n"]), bool(row["dated"])
        counts = (
            c.group_by(ch=c.channel.lower())
            .aggregate(n=c.count())
            .order_by([ibis.desc("n"), "ch"])
            .to_pyarrow()
            .to_pylist()
        )
        has_cases = bool(counts)
        named = [r["ch"] for r in counts if r["ch"] is not None]
        # one channel for every case says nothing
        channels = tuple(named[:MAX_CHANNELS]) if len(named) > 1 else ()
        journeys: list[tuple[str, JourneyConfig]] = []
        starts = sorted({j.start for j in config.journeys.values()})
        if starts:
            wanted = e.filter(e.touchpoint.isin(starts))
            found = {
                r["tp"]
                for r in wanted.group_by(tp=wanted.touchpoint)
                .aggregate(n=wanted.count())
                .to_pyarrow()
                .to_pylist()
            }
            journeys = [(n, j) for n, j in sorted(config.journeys.items()) if j.start in found]
        return cls(
            orders=has_orders,
            deliveries=has_deliveries,
            cases=has_cases,
            channels=channels,
            journeys=tuple(journeys),
            slow_hours=config.features.slow_first_response_hours,
        )

    # ------------------------------------------------------------ what it makes
    def catalogue(self) -> list[Feature]:
        out: list[Feature] = []
        f = out.append
        if self.orders:
            f(Feature("orders", "Orders", "orders placed in the window", "count", None, "orders"))
            f(Feature("amount", "Amount spent", "revenue of the orders placed in the window "
                      "(not cancelled or returned)", "amount", None, "orders"))  # fmt: skip
        if self.deliveries:
            f(Feature("deliveries", "Deliveries", "deliveries due or made in the window",
                      "count", None, "orders", auto=False))  # fmt: skip
            f(Feature("late_deliveries", "Late deliveries", "deliveries in the window that "
                      "arrived after their promised date (or had not arrived by it at the "
                      "moment)", "count", "lower", "orders"))  # fmt: skip
            f(Feature("days_late", "Days late", "the most days a delivery in the window was "
                      "late by (0 when none was)", "days", "lower", "orders"))  # fmt: skip
        if self.cases:
            slow = f"{self.slow_hours:g}"
            f(Feature("cases", "Support cases", "cases opened in the window", "count", "lower",
                      "cases", auto=False))  # fmt: skip
            f(Feature("cases_reopened", "Reopened cases", "cases opened in the window that "
                      "were reopened", "count", "lower", "cases"))  # fmt: skip
            f(Feature("cases_unresolved", "Unresolved cases", "cases opened in the window "
                      "and not resolved at the moment", "count", "lower", "cases"))  # fmt: skip
            f(Feature("cases_fcr", "Cases solved at first contact", "cases opened in the "
                      "window and resolved at the first contact, not reopened", "count",
                      "higher", "cases", auto=False))  # fmt: skip
            f(Feature("cases_not_fcr", "Cases not solved at first contact", "resolved cases "
                      "of the window that took more than one contact or were reopened",
                      "count", "lower", "cases"))  # fmt: skip
            f(Feature("cases_slow_response", "Slow first responses", f"cases of the window "
                      f"that waited more than {slow} h for a first response "
                      "([features] slow_first_response_hours)", "count", "lower",
                      "cases"))  # fmt: skip
            f(Feature("contacts", "Contacts", "customer contacts of the window's cases",
                      "count", "lower", "cases", auto=False))  # fmt: skip
            f(Feature("first_response_hours", "First response time", "mean hours to the "
                      "first response of the window's cases (empty without one)", "hours",
                      "lower", "cases", auto=False))  # fmt: skip
            f(Feature("resolution_hours", "Resolution time", "mean hours to resolution of "
                      "the window's resolved cases (empty without one)", "hours", "lower",
                      "cases", auto=False))  # fmt: skip
            for ch in self.channels:
                f(Feature(f"cases_via_{slug(ch)}", f"Cases via {ch}", f"cases of the window "
                          f"handled through the {ch} channel", "count", None,
                          "cases"))  # fmt: skip
        for name, j in self.journeys:
            title = j.title or name
            f(Feature(f"journey_started_{slug(name)}", f"{title} started", f"{j.start} events "
                      "in the window", "count", None, "events", auto=False))  # fmt: skip
            f(Feature(f"journey_abandoned_{slug(name)}", f"{title} abandoned", f"{j.start} "
                      f"events of the window not followed by {j.success} within "
                      f"{j.window_hours:g} h", "count", "lower", "events"))  # fmt: skip
        return out

    def moments(self) -> list[Moment]:
        """The touchpoint experiences these features can compare."""
        out: list[Moment] = []
        if self.deliveries:
            out.append(Moment("late_delivery", "A late delivery", "late_deliveries",
                              "deliveries", "deliveries on time"))  # fmt: skip
        if self.cases:
            out += [
                Moment("slow_first_response", "A slow first response", "cases_slow_response",
                       "cases", "cases answered in time"),
                Moment("not_first_contact", "A case not solved at first contact",
                       "cases_not_fcr", "cases", "cases solved at first contact or open"),
                Moment("reopened_case", "A reopened case", "cases_reopened", "cases",
                       "cases not reopened"),
                Moment("unresolved_case", "An unresolved case", "cases_unresolved", "cases",
                       "cases resolved"),
            ]  # fmt: skip
            for ch in self.channels:
                out.append(Moment(f"case_via_{slug(ch)}", f"A case via {ch}",
                                  f"cases_via_{slug(ch)}", "cases",
                                  "cases through other channels"))  # fmt: skip
        for name, j in self.journeys:
            title = j.title or name
            out.append(Moment(f"abandoned_{slug(name)}", f"An abandoned {title.lower()}",
                              f"journey_abandoned_{slug(name)}",
                              f"journey_started_{slug(name)}",
                              f"{title.lower()} completed"))  # fmt: skip
        return out


def window_features(
    tables: TableSource, plan: WindowPlan, anchors: ibis.Table, window_days: float
) -> ibis.Table:
    """``anchors`` (``_key``, ``_cid``, ``_at``) with every window feature of ``plan``."""
    width = ibis.interval(seconds=round(window_days * _DAY))
    a = anchors.select("_key", "_cid", "_at").filter(lambda t: t._cid.notnull())
    parts: list[tuple[ibis.Table, dict[str, bool]]] = []  # (aggregate, {column: is a count})

    if plan.orders:
        o = tables("orders")
        status = o.status.lower().fill_null("")
        o = o.select(
            _oc=o.customer_id,
            _ot=o.ordered_at,
            _amt=o.amount.cast("float64"),
            _rev=~status.isin(NOT_REVENUE),
            _cancel=status.isin(("cancelled", "canceled")),
            _prom=o.promised_at,
            _dlv=o.delivered_at,
        )
        j = a.join(o, [a._cid == o._oc, o._ot < a._at, o._ot >= a._at - width])
        agg = j.group_by("_key").aggregate(
            orders=j.count(),
            amount=ibis.ifelse(j._rev, j._amt, 0.0).sum(),
        )
        parts.append((agg, {"orders": True, "amount": True}))
        if plan.deliveries:
            both = o._prom.notnull() & o._dlv.notnull()
            # the moment of the delivery experience: the arrival, or the broken promise
            moment = ibis.ifelse(both, ibis.least(o._prom, o._dlv), o._prom.coalesce(o._dlv))
            d = o.filter(~o._cancel).mutate(_m=moment)
            j = a.join(d, [a._cid == d._oc, d._m < a._at, d._m >= a._at - width])
            late = j._prom.notnull() & j._dlv.notnull() & (j._dlv > j._prom) & (j._prom < j._at)
            seen = ibis.least(j._dlv, j._at)
            days = ibis.ifelse(late, _seconds(j._prom, seen) / _DAY, 0.0)
            agg = j.group_by("_key").aggregate(
                deliveries=j.count(), late_deliveries=_count(late), days_late=days.max()
            )
            parts.append((agg, {"deliveries": True, "late_deliveries": True, "days_late": True}))

    if plan.cases:
        c = tables("cases")
        c = c.select(
            _cc=c.customer_id,
            _op=c.opened_at,
            _fr=c.first_response_at,
            _rs=c.resolved_at,
            _ch=c.channel.lower(),
            _ct=c.contacts,
            _ro=c.reopened.fill_null(False),
        )
        j = a.join(c, [a._cid == c._cc, c._op < a._at, c._op >= a._at - width])
        resolved = j._rs.notnull() & (j._rs < j._at) & (j._rs >= j._op)
        fcr = ibis.ifelse(j._ct.isnull(), ~j._ro, (j._ct == 1) & ~j._ro)
        answered = j._fr.notnull() & (j._fr < j._at) & (j._fr >= j._op)
        waited = _seconds(j._op, ibis.ifelse(answered, j._fr, j._at)) / 3600.0
        columns: dict[str, ir.Value] = {
            "cases": j.count(),
            "cases_reopened": _count(j._ro),
            "cases_unresolved": _count(~resolved),
            "cases_fcr": _count(resolved & fcr),
            "cases_not_fcr": _count(resolved & ~fcr),
            "cases_slow_response": _count(waited > plan.slow_hours),
            "contacts": j._ct.fill_null(0).sum(),
            "first_response_hours": ibis.ifelse(answered, _seconds(j._op, j._fr) / 3600.0, None)
            .cast("float64")
            .mean(),
            "resolution_hours": ibis.ifelse(resolved, _seconds(j._op, j._rs) / 3600.0, None)
            .cast("float64")
            .mean(),
        }
        for ch in plan.channels:
            columns[f"cases_via_{slug(ch)}"] = _count(j._ch == ch)
        agg = j.group_by("_key").aggregate(**columns)
        counts = {k: k not in ("first_response_hours", "resolution_hours") for k in columns}
        parts.append((agg, counts))

    if plan.journeys:
        e = tables("events")
        for name, jc in plan.journeys:
            starts = e.filter(e.touchpoint == jc.start).select(_ec=e.customer_id, _st=e.timestamp)
            done = e.filter(e.touchpoint == jc.success).select(_dc=e.customer_id, _dt=e.timestamp)
            span = ibis.interval(seconds=round(jc.window_hours * 3600))
            finished = starts.semi_join(
                done,
                [starts._ec == done._dc, done._dt >= starts._st, done._dt <= starts._st + span],
            ).select(_fc=ibis._._ec, _ft=ibis._._st)
            flagged = starts.left_join(
                finished.distinct(), [starts._ec == finished._fc, starts._st == finished._ft]
            ).mutate(_done=lambda t: t._fc.notnull())
            j = a.join(flagged, [a._cid == flagged._ec, flagged._st < a._at,
                                 flagged._st >= a._at - width])  # fmt: skip
            # a start counts as abandoned once its window is over at the moment, unfinished
            abandoned = ~j._done & (j._st + span <= j._at)
            key = slug(name)
            agg = j.group_by("_key").aggregate(
                **{
                    f"journey_started_{key}": j.count(),
                    f"journey_abandoned_{key}": _count(abandoned),
                }
            )
            parts.append((agg, {f"journey_started_{key}": True, f"journey_abandoned_{key}": True}))

    out = anchors
    for agg, kinds in parts:
        agg = agg.rename(_k2="_key")
        out = out.left_join(agg, out._key == agg._k2).drop("_k2")
        known = out._cid.notnull()
        out = out.mutate(
            **{
                col: ibis.ifelse(known, out[col].fill_null(0), ibis.null()).cast(out[col].type())
                for col, is_count in kinds.items()
                if is_count
            }
        )
    return out
