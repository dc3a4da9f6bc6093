"""The KPI registry: what each KPI is, in words and as rows to aggregate.

A KPI is a row builder (an Ibis table with ``_t``, the local time that places
a row in a period, and ``_v``, the value to aggregate) plus a *kind* that says
how the value is summarised: ``nps`` (counts of promoters, passives,
detractors), ``proportion`` (successes among rows), ``mean`` (n, sum, sum of
squares), ``median`` (exact order-statistic interval), and two kinds with
their own queries: ``churn`` (customers at risk at the start of each period)
and ``health`` (a per-customer composite as of the end of the window).
Exact definitions and formulas: ``docs/metrics.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import ibis

from cxray.config import JourneyConfig
from cxray.config._kpis import CustomKPI
from cxray.exceptions import UnknownMetricError
from cxray.metrics._context import Context
from cxray.metrics._loop import followup_base, recovery_base
from cxray.store import FOLLOWUPS, INVITATIONS

__all__ = ["KPI", "Kind", "Rows", "business_hours", "get_kpi", "kpis"]

#: ``rate`` and ``ratio`` are KPIs defined in config (``cxray.metrics._custom``)
Kind = Literal["nps", "proportion", "mean", "median", "churn", "health", "rate", "ratio"]
RowBuilder = Callable[[Context], ibis.Table]

#: orders that are not revenue
NOT_REVENUE = ("cancelled", "returned")


@dataclass(frozen=True)
class Rows:
    """A row builder in parts: the rows of ``base`` where ``where`` holds, valued ``value``.

    KPIs whose rows share a ``base`` (the same function) are computed together,
    in one aggregate query over it (each KPI's aggregates filtered by its own
    ``where``): the four survey KPIs read the responses once, the support KPIs
    the cases once, a journey's completion and abandonment its starts once.
    """

    base: RowBuilder
    value: Callable[[Context, ibis.Table], ibis.Value]
    where: Callable[[Context, ibis.Table], ibis.BooleanValue] | None = None

    def __call__(self, ctx: Context) -> ibis.Table:
        t = self.base(ctx)
        if self.where is not None:
            t = t.filter(self.where(ctx, t))
        return t.mutate(_v=self.value(ctx, t))


@dataclass(frozen=True)
class KPI:
    """One key performance indicator."""

    name: str
    title: str
    unit: str
    definition: str
    table: str
    time_column: str
    kind: Kind
    rows: RowBuilder | None = None
    #: ``mean`` of per-customer sums of ``_v`` (revenue per customer)
    per_customer: bool = False
    #: can be cut by period (health is an as-of value)
    periodic: bool = True
    #: which of the KPI's rows carry the data it is about (a customer with an order for
    #: the historical CLV, any input for health); a cell where no row does is suppressed
    #: with ``no_evidence``'s reason instead of showing a 0.0 or a constant (a text in
    #: which ``{n}`` is the cell's customers, worked out once per scorecard)
    evidence: Callable[[Context, ibis.Table], ibis.BooleanValue] | None = None
    no_evidence: Callable[[Context], str] | None = None

    @property
    def base(self) -> str:
        """The name targets are configured under (``completion`` for ``completion:checkout``)."""
        return self.name.split(":", 1)[0]


def _t(ctx: Context, t: ibis.Table, col: str) -> ibis.Table:
    return t.mutate(_t=ctx.local(t[col]))


def _hours(a: ibis.Value, b: ibis.Value) -> ibis.Value:
    return (b.epoch_seconds() - a.epoch_seconds()).cast("float64") / 3600.0


# ------------------------------------------------------------------ surveys
def _responses(ctx: Context) -> ibis.Table:
    return _t(ctx, ctx.tables("responses"), "submitted_at")


def _top_box(scale: str) -> Callable[[Context, ibis.Table], ibis.Value]:
    def value(ctx: Context, t: ibis.Table) -> ibis.Value:
        lo, hi = ctx.config.scale(scale).top_box_values()
        return t[scale].between(lo, hi)

    return value


_nps = Rows(_responses, lambda ctx, t: t.nps, lambda ctx, t: t.nps.notnull())
_csat = Rows(_responses, _top_box("csat"), lambda ctx, t: t.csat.notnull())
_ces_mean = Rows(_responses, lambda ctx, t: t.ces.cast("float64"), lambda ctx, t: t.ces.notnull())
_ces_easy = Rows(_responses, _top_box("ces"), lambda ctx, t: t.ces.notnull())
#: responses cxray's surveys collected: ``completed`` is false while only some steps are in
_collected = Rows(_responses, lambda ctx, t: t.completed, lambda ctx, t: t.completed.notnull())
_left = Rows(_responses, lambda ctx, t: ~t.completed, lambda ctx, t: t.completed.notnull())


def _invitations(ctx: Context) -> ibis.Table:
    """Survey invitations that were e-mailed, placed in time by when they were sent."""
    return _t(ctx, ctx.tables(INVITATIONS), "sent_at")


_answered = Rows(
    _invitations, lambda ctx, t: t.responded_at.notnull(), lambda ctx, t: t.sent_at.notnull()
)


# ------------------------------------------------------------------ closed loop
# (cxray.metrics._loop: follow-ups count once their SLA has run out)
_contacted = Rows(followup_base, lambda ctx, f: f._contacted)
_to_contact = Rows(followup_base, lambda ctx, f: f._hours, lambda ctx, f: f._contacted)
_sla_met = Rows(followup_base, lambda ctx, f: f._sla_met)
_recovered = Rows(recovery_base, lambda ctx, f: f._next_nps >= 7)


# ------------------------------------------------------------------ support
def _cases(ctx: Context) -> ibis.Table:
    return _t(ctx, ctx.tables("cases"), "opened_at")


def _fcr_value(ctx: Context, c: ibis.Table) -> ibis.Value:
    not_reopened = ~c.reopened.fill_null(False)
    # fallback where contacts is unknown: resolved and not reopened
    return ibis.ifelse(c.contacts.isnull(), not_reopened, (c.contacts == 1) & not_reopened)


def _resolved(ctx: Context, c: ibis.Table) -> ibis.BooleanValue:
    return c.resolved_at.notnull() & (c.resolved_at >= c.opened_at)


_fcr = Rows(_cases, _fcr_value, lambda ctx, c: c.resolved_at.notnull())
_first_response = Rows(
    _cases,
    lambda ctx, c: _hours(c.opened_at, c.first_response_at),
    lambda ctx, c: c.first_response_at.notnull() & (c.first_response_at >= c.opened_at),
)
_resolution = Rows(_cases, lambda ctx, c: _hours(c.opened_at, c.resolved_at), _resolved)


#: 1970-01-01, day 0 of ``epoch_seconds // 86400``, was a Thursday (Monday = 0)
_EPOCH_WEEKDAY = 3


def business_hours(ctx: Context, a: ibis.Value, b: ibis.Value) -> ibis.Value:
    """Business hours from stored (UTC) times ``a`` to ``b`` (``a <= b``), per ``[business_hours]``.

    Both are taken to the calendar's local time; with ``H`` the hours a day is
    open and ``t`` the time of day clamped to the opening hours (measured from
    opening), the result is ``H * W(da, db) - open(da) * t(a) + open(db) * t(b)``,
    where ``W`` counts the open days in ``[da, db)`` and ``open(d)`` is 1 on an
    open day. ``W`` is a difference of a closed-form count of open weekdays since
    a Monday and of the holidays (on open weekdays) before each date. Integer
    arithmetic on seconds since the epoch, ``CASE`` and ``IN``: portable SQL.
    """
    cal = ctx.config.business_hours
    zone = cal.timezone or ctx.zone
    opens = dt.time.fromisoformat(cal.start)
    closes = dt.time.fromisoformat(cal.end)
    s0 = opens.hour * 3600 + opens.minute * 60 + opens.second
    s1 = closes.hour * 3600 + closes.minute * 60 + closes.second
    weekdays = set(cal.weekdays)
    # open weekdays before weekday i of a week (Monday = 0)
    before = [sum(1 for w in range(i) if w in weekdays) for i in range(7)]
    holidays = sorted(
        (h - dt.date(1970, 1, 1)).days for h in set(cal.holidays) if h.weekday() in weekdays
    )

    def parts(ts: ibis.Value) -> tuple[ibis.Value, ibis.Value, ibis.Value]:
        secs = ctx.local(ts, zone).epoch_seconds().cast("int64")
        day = secs // 86400
        clock = ibis.least(ibis.greatest(secs - day * 86400, s0), s1) - s0
        shifted = day + _EPOCH_WEEKDAY  # days since the Monday before the epoch
        weekday = shifted % 7
        count = (shifted // 7) * len(weekdays) + ibis.cases(
            *((weekday == i, before[i]) for i in range(1, 7)), else_=0
        )
        is_open = weekday.isin(sorted(weekdays))
        for h in holidays:
            count = count - ibis.ifelse(day > h, 1, 0)
        if holidays:
            is_open = is_open & ~day.isin(holidays)
        return count, ibis.ifelse(is_open, 1, 0), clock

    ca, oa, ta = parts(a)
    cb, ob, tb = parts(b)
    seconds = (cb - ca) * (s1 - s0) - oa * ta + ob * tb
    return seconds.cast("float64") / 3600.0


_resolution_business = Rows(
    _cases, lambda ctx, c: business_hours(ctx, c.opened_at, c.resolved_at), _resolved
)


# ------------------------------------------------------------------ journeys
def _journey_starts(journey: JourneyConfig) -> RowBuilder:
    """The journey's starts whose window is over, each with ``_done``: completed in time."""

    def rows(ctx: Context) -> ibis.Table:
        e = ctx.tables("events")
        starts = e.filter(e.touchpoint == journey.start)
        done = e.filter(e.touchpoint == journey.success).select(_c=e.customer_id, _ts=e.timestamp)
        window = ibis.interval(seconds=round(journey.window_hours * 3600))
        completed = starts.semi_join(
            done,
            [
                starts.customer_id == done._c,
                done._ts >= starts.timestamp,
                done._ts <= starts.timestamp + window,
            ],
        ).select(_eid=ibis._.event_id)
        # a start whose window is not over by the last event cannot be judged yet
        last = e.timestamp.max().as_scalar()
        starts = starts.filter(starts.timestamp + window <= last)
        starts = starts.mutate(_done=starts.event_id.isin(completed._eid))
        return _t(ctx, starts, "timestamp")

    return rows


# ------------------------------------------------------------------ business
def _revenue_orders(ctx: Context) -> ibis.Table:
    o = ctx.tables("orders")
    status = o.status.lower().fill_null("")
    return o.filter(~status.isin(NOT_REVENUE))


def _revenue(ctx: Context) -> ibis.Table:
    o = _revenue_orders(ctx)
    return _t(ctx, o, "ordered_at").mutate(_v=o.amount.cast("float64"))


def _referral(ctx: Context) -> ibis.Table:
    c = ctx.tables("customers")
    c = c.filter(c.acquisition_channel.notnull())
    return _t(ctx, c, "created_at").mutate(_v=c.acquisition_channel.lower() == "referral")


def _clv(ctx: Context) -> ibis.Table:
    c = ctx.tables("customers")
    o = _revenue_orders(ctx)
    spend = o.group_by(_cid=o.customer_id).aggregate(_rev=o.amount.cast("float64").sum())
    c = c.left_join(spend, c.customer_id == spend._cid).drop("_cid")
    c = c.mutate(_ordered=c._rev.notnull())
    return _t(ctx, c, "created_at").mutate(_v=c._rev.fill_null(0.0)).drop("_rev")


def _clv_missing(ctx: Context) -> str:
    """Why a historical CLV is suppressed: no revenue orders at all, or none from these."""
    o = ctx.tables("orders")
    if int(o.count().to_pyarrow().as_py()) == 0:
        return "no orders: import orders to measure lifetime revenue"
    if int(_revenue_orders(ctx).count().to_pyarrow().as_py()) == 0:
        return "no revenue orders: every order is cancelled or returned"
    return "no orders from these {n} customers: their CLV would be a bare 0.0"


#: which parts of the health score read which inputs (``cxray.metrics.health_scores``)
HEALTH_INPUTS = {
    "survey": ("_survey",),
    "recency": ("_last_order", "_last_event"),
    "frequency": ("_last_order",),
    "support": ("_bad",),
}


def _health_evidence(ctx: Context, t: ibis.Table) -> ibis.BooleanValue:
    """A customer with at least one input to a weighted component of the health score."""
    cols = sorted(
        {c for part, w in ctx.config.health.weights.items() if w > 0 for c in HEALTH_INPUTS[part]}
    )
    flag = ibis.literal(False)
    for col in cols:
        flag = flag | t[col].notnull()
    return flag


def _health_missing(ctx: Context) -> str:
    h = ctx.config.health
    total = sum(h.weights.values())
    # every input missing: survey 0.5, recency 0, frequency 0, support 1 (no bad case)
    constant = 100.0 * (0.5 * h.weights.get("survey", 0.0) + h.weights.get("support", 0.0)) / total
    return (
        "no activity: no NPS answer, order, event or case for these {n} customers "
        f"(each would score a constant {constant:.1f})"
    )


def kpis(
    config_journeys: dict[str, JourneyConfig] | None = None,
    *,
    surveys: bool = False,
    loop: bool = False,
    custom: Mapping[str, CustomKPI] | None = None,
) -> list[KPI]:
    """Every KPI, in scorecard order; one completion and abandonment pair per journey.

    ``custom``: the KPIs defined in config (``ProgramConfig.kpis``), listed last.

    ``surveys``: include the completion and abandonment of surveys collected by cxray
    (scorecards do when the responses have the ``completed`` column surveys add).
    ``loop``: include the closed loop's KPIs (scorecards do when follow-ups exist).
    """
    out = [
        KPI(
            "nps",
            "NPS",
            "points",
            "% promoters (9-10) - % detractors (0-6) among NPS answers",
            "responses",
            "submitted_at",
            "nps",
            _nps,
        ),
        KPI(
            "csat",
            "CSAT (top box)",
            "%",
            "% of CSAT answers in the top box ([scales.csat] top_box best answers)",
            "responses",
            "submitted_at",
            "proportion",
            _csat,
        ),
        KPI(
            "ces_mean",
            "CES (mean)",
            "score",
            "mean CES answer on the [scales.ces] scale",
            "responses",
            "submitted_at",
            "mean",
            _ces_mean,
        ),
        KPI(
            "ces_easy",
            "CES (% easy)",
            "%",
            "% of CES answers in the easiest [scales.ces] top_box answers",
            "responses",
            "submitted_at",
            "proportion",
            _ces_easy,
        ),
        KPI(
            "fcr",
            "First contact resolution",
            "%",
            "% of resolved cases with contacts = 1 and not reopened "
            "(not reopened alone where contacts is missing)",
            "cases",
            "opened_at",
            "proportion",
            _fcr,
        ),
        KPI(
            "first_response_mean",
            "First response time (mean)",
            "hours",
            "mean hours from opened_at to first_response_at, cases with a reply",
            "cases",
            "opened_at",
            "mean",
            _first_response,
        ),
        KPI(
            "first_response_median",
            "First response time (median)",
            "hours",
            "median hours from opened_at to first_response_at, cases with a reply",
            "cases",
            "opened_at",
            "median",
            _first_response,
        ),
        KPI(
            "resolution_mean",
            "Time to resolution (mean)",
            "hours",
            "mean calendar hours from opened_at to resolved_at, resolved cases",
            "cases",
            "opened_at",
            "mean",
            _resolution,
        ),
        KPI(
            "resolution_median",
            "Time to resolution (median)",
            "hours",
            "median calendar hours from opened_at to resolved_at, resolved cases",
            "cases",
            "opened_at",
            "median",
            _resolution,
        ),
        KPI(
            "resolution_business_mean",
            "Time to resolution, business hours (mean)",
            "hours",
            "mean business hours ([business_hours]) from opened_at to resolved_at, resolved cases",
            "cases",
            "opened_at",
            "mean",
            _resolution_business,
        ),
        KPI(
            "resolution_business_median",
            "Time to resolution, business hours (median)",
            "hours",
            "median business hours ([business_hours]) from opened_at to resolved_at, "
            "resolved cases",
            "cases",
            "opened_at",
            "median",
            _resolution_business,
        ),
    ]
    for name, j in sorted((config_journeys or {}).items()):
        title = j.title or name
        starts = _journey_starts(j)
        what = f"{j.start} followed by {j.success} within {j.window_hours:g} h (same customer)"
        out.append(
            KPI(
                f"completion:{name}",
                f"{title} completion",
                "%",
                f"% of {what}",
                "events",
                "timestamp",
                "proportion",
                Rows(starts, lambda ctx, t: t._done),
            )
        )
        out.append(
            KPI(
                f"abandonment:{name}",
                f"{title} abandonment",
                "%",
                f"% of {j.start} not followed by {j.success} within {j.window_hours:g} h",
                "events",
                "timestamp",
                "proportion",
                Rows(starts, lambda ctx, t: ~t._done),
            )
        )
    if surveys:
        out += [
            KPI(
                "completion:surveys",
                "Survey completion",
                "%",
                "% of responses to cxray's surveys that were completed (partial ones count "
                "as started)",
                "responses",
                "submitted_at",
                "proportion",
                _collected,
            ),
            KPI(
                "abandonment:surveys",
                "Survey abandonment",
                "%",
                "% of responses to cxray's surveys left partial (some steps answered, not all)",
                "responses",
                "submitted_at",
                "proportion",
                _left,
            ),
            KPI(
                "response_rate",
                "Survey response rate",
                "%",
                "% of e-mailed survey invitations answered to the end, by when they were sent",
                "responses",
                "sent_at",
                "proportion",
                _answered,
            ),
        ]
    if loop:
        out += [
            KPI(
                "followup_rate",
                "Follow-up rate",
                "%",
                "% of follow-ups whose SLA has run out whose customer was contacted "
                "(in time or late)",
                FOLLOWUPS,
                "opened_at",
                "proportion",
                _contacted,
            ),
            KPI(
                "time_to_contact",
                "Time to first contact (median)",
                "hours",
                "median hours from opened_at to contacted_at, contacted follow-ups whose SLA "
                "has run out",
                FOLLOWUPS,
                "opened_at",
                "median",
                _to_contact,
            ),
            KPI(
                "sla_met",
                "Follow-ups within SLA",
                "%",
                "% of follow-ups whose SLA has run out that were contacted or closed by due_at",
                FOLLOWUPS,
                "opened_at",
                "proportion",
                _sla_met,
            ),
            KPI(
                "recovery_rate",
                "Detractor recovery rate",
                "%",
                "% of contacted follow-ups of NPS detractors (0-6) whose next NPS answer is "
                "7 or more",
                FOLLOWUPS,
                "opened_at",
                "proportion",
                _recovered,
            ),
        ]
    out += [
        KPI(
            "churn_rate",
            "Churn rate",
            "%",
            "% of customers active at the start of the period who churned in it",
            "customers",
            "churned_at",
            "churn",
        ),
        KPI(
            "referral_rate",
            "Referral rate",
            "%",
            "% of new customers (created in the period) with acquisition_channel = referral",
            "customers",
            "created_at",
            "proportion",
            _referral,
        ),
        KPI(
            "revenue_per_customer",
            "Revenue per customer",
            "currency",
            "mean order revenue (not cancelled or returned) per customer who ordered",
            "orders",
            "ordered_at",
            "mean",
            _revenue,
            per_customer=True,
        ),
        KPI(
            "clv",
            "Historical CLV",
            "currency",
            "mean lifetime revenue to date (orders not cancelled or returned) per customer, "
            "by the period the customer joined",
            "customers",
            "created_at",
            "mean",
            _clv,
            evidence=lambda ctx, t: t._ordered,
            no_evidence=_clv_missing,
        ),
        KPI(
            "health",
            "Customer health score",
            "score",
            "mean 0-100 health of customers active at the end of the window ([health])",
            "customers",
            "created_at",
            "health",
            periodic=False,
            evidence=_health_evidence,
            no_evidence=_health_missing,
        ),
    ]
    if custom:
        from cxray.metrics._custom import custom_kpis

        out += custom_kpis(custom)
    return out


def get_kpi(
    name: str,
    config_journeys: dict[str, JourneyConfig] | None = None,
    custom: Mapping[str, CustomKPI] | None = None,
) -> KPI:
    table = {k.name: k for k in kpis(config_journeys, surveys=True, loop=True, custom=custom)}
    if name not in table:
        raise UnknownMetricError(f"unknown KPI {name!r}; known: {', '.join(table)}")
    return table[name]
