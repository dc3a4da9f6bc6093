"""The closed loop's KPIs, and the rows they and ``Loop.measure`` rest on.

Follow-ups (``cxray.loop``) live in the ``followups`` table: when each was opened, when it
was due (the rule's SLA), when the customer was contacted and when it was closed. Four
KPIs read it, placed in periods by ``opened_at``:

* ``followup_rate``: of the follow-ups whose SLA has run out, the share whose customer was
  contacted (in time or late);
* ``time_to_contact``: hours from opening to the first contact (median, exact interval);
* ``sla_met``: of the follow-ups whose SLA has run out, the share contacted or closed by
  the due time;
* ``recovery_rate``: of the contacted follow-ups opened by an NPS detractor's response, the
  share whose next NPS answer is no longer a detractor (7 or more).

A follow-up counts once its SLA has run out (``due_at`` before now): by then it has met
its SLA or missed it, so a period's figures do not drift as newer work arrives, and one
opened an hour ago does not count as "not contacted". :func:`followup_rows` and
:func:`recovery_rows` are portable Ibis, so the KPIs and the measures agree on every
backend. Definitions: ``docs/metrics.md``; how recovery is compared: ``docs/loop.md``.
"""

from __future__ import annotations

import datetime as dt

import ibis

from cxray.config import ProgramConfig, ScaleConfig
from cxray.metrics._context import TIME_TABLES, Context, TableSource
from cxray.store import FOLLOWUPS

__all__ = [
    "RESPONSE_SUBJECT",
    "bottom_box_values",
    "data_end",
    "followup_base",
    "followup_rows",
    "has_followups",
    "loop_now",
    "recovery_base",
    "recovery_rows",
]

#: the subject prefix of follow-ups opened by a response rule (``responses:R123``)
RESPONSE_SUBJECT = "responses:"


def loop_now() -> dt.datetime:
    """Now, in UTC (naive, as stored), to the second."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def bottom_box_values(scale: ScaleConfig) -> tuple[int, int]:
    """The inclusive range of the ``top_box`` worst answers (CSAT 1–2 on 1–5, top_box 2)."""
    if scale.direction == "higher_is_better":
        return scale.min, scale.min + scale.top_box - 1
    return scale.max - scale.top_box + 1, scale.max


def has_followups(tables: TableSource) -> bool:
    """Whether the table source has a ``followups`` table with at least one row."""
    try:
        t = tables(FOLLOWUPS)
    except Exception:  # a source without the loop's tables (a lake of canonical tables)
        return False
    return bool(t.limit(1).count().to_pyarrow().as_py())


def _first(a: ibis.Value, b: ibis.Value) -> ibis.Value:
    """The earlier of two times, either of which may be missing."""
    return ibis.ifelse(a.isnull(), b, ibis.ifelse(b.isnull() | (a <= b), a, b))


def followup_rows(tables: TableSource, now: dt.datetime) -> ibis.Table:
    """Every follow-up with what the loop's measures read:

    * ``_due``: its SLA has run out (``due_at <= now``);
    * ``_contacted``: the customer was reached (``contacted_at`` set);
    * ``_hours``: hours from ``opened_at`` to ``contacted_at`` (null when not contacted);
    * ``_sla_met``: contacted or closed (whichever came first) at or before ``due_at``;
    * ``_group``: ``in_time`` (contacted by the due time), ``late`` (contacted after it),
      ``not_contacted`` (closed without contact, or never worked and past due) or
      ``pending`` (open, not contacted and not yet due).
    """
    f = tables(FOLLOWUPS)
    at = ibis.timestamp(now)
    contacted = f.contacted_at.notnull()
    handled = _first(f.contacted_at, f.closed_at)
    group = ibis.cases(
        (contacted & (f.contacted_at <= f.due_at), "in_time"),
        (contacted, "late"),
        (f.closed_at.notnull() | (f.due_at <= at), "not_contacted"),
        else_="pending",
    )
    hours = (f.contacted_at.epoch_seconds() - f.opened_at.epoch_seconds()).cast("float64") / 3600.0
    return f.mutate(
        _due=f.due_at <= at,
        _contacted=contacted,
        _hours=hours,
        _sla_met=handled.notnull() & (handled <= f.due_at),
        _group=group,
    )


def data_end(tables: TableSource) -> dt.datetime | None:
    """The latest time in the activity tables (responses, cases, orders, events)."""
    ends = []
    for table, col in TIME_TABLES.items():
        if table == "customers":
            continue
        t = tables(table)
        value = t[col].max().to_pyarrow().as_py()
        if value is not None:
            ends.append(value)
    return max(ends) if ends else None


def recovery_rows(
    tables: TableSource,
    config: ProgramConfig,
    now: dt.datetime,
    *,
    churn_until: dt.datetime | None = None,
) -> ibis.Table:
    """The follow-ups opened by a response rule (subject ``responses:ID``), each with its
    triggering response and what the customer did next:

    * ``_t0``, ``_nps0``, ``_csat0``: when the triggering response was submitted, and its
      answers;
    * ``_next_nps``, ``_next_nps_at``, ``_next_csat``, ``_next_csat_at``: the customer's
      next NPS (CSAT) answer after it, in order of ``submitted_at`` then ``response_id``
      (null without one);
    * with ``churn_until`` (the latest time the data covers): ``_churn_known``, the churn
      horizon (``[features] churn_horizon_days``) after the response has passed by then
      and the customer had not left before it; ``_churned``, left within the horizon.

    Plus the columns of :func:`followup_rows`. Follow-ups whose response is gone are left
    out; the customer is the follow-up's, else the response's.
    """
    f = followup_rows(tables, now)
    f = f.filter(f.subject.startswith(RESPONSE_SUBJECT))
    f = f.mutate(_rid=f.subject.substr(len(RESPONSE_SUBJECT)))
    r = tables("responses")
    trigger = r.select(
        _tid=r.response_id, _t0=r.submitted_at, _nps0=r.nps, _csat0=r.csat, _c0=r.customer_id
    )
    f = f.join(trigger, f._rid == trigger._tid).drop("_tid")
    f = f.mutate(_cust=f.customer_id.fill_null(f._c0)).drop("_c0")
    for kind in ("nps", "csat"):
        later = r.filter(r[kind].notnull() & r.customer_id.notnull()).select(
            _nc=r.customer_id, _nt=r.submitted_at, _nid=r.response_id, _nv=r[kind]
        )
        base = f.select(_fk=f.followup_id, _kc=f._cust, _kt=f._t0, _kr=f._rid)
        after = (later._nt > base._kt) | ((later._nt == base._kt) & (later._nid > base._kr))
        j = base.join(later, [base._kc == later._nc, after])
        w = ibis.window(group_by=j._fk, order_by=[j._nt, j._nid])
        j = j.mutate(_rn=ibis.row_number().over(w))
        nxt = j.filter(j._rn == 0).select(
            _nf=j._fk, **{f"_next_{kind}": j._nv, f"_next_{kind}_at": j._nt}
        )
        f = f.left_join(nxt, f.followup_id == nxt._nf).drop("_nf")
    if churn_until is not None:
        c = tables("customers")
        c = c.select(_cc=c.customer_id, _left=c.churned_at)
        f = f.left_join(c, f._cust == c._cc).drop("_cc")
        horizon = ibis.interval(seconds=round(config.features.churn_horizon_days * 86400))
        end = f._t0 + horizon
        stayed_until_t0 = f._left.isnull() | (f._left > f._t0)
        f = f.mutate(
            _churn_known=stayed_until_t0 & (end <= ibis.timestamp(churn_until)),
            _churned=f._left.notnull() & (f._left > f._t0) & (f._left <= end),
        )
    return f


# ------------------------------------------------------------------ KPI rows
def followup_base(ctx: Context) -> ibis.Table:
    """The follow-ups whose SLA has run out, placed in time by ``opened_at`` (``_t``)."""
    f = followup_rows(ctx.tables, loop_now())
    f = f.filter(f._due)
    return f.mutate(_t=ctx.local(f.opened_at))


def recovery_base(ctx: Context) -> ibis.Table:
    """Contacted follow-ups of NPS detractors' responses with a next NPS answer (``_t``:
    ``opened_at``)."""
    f = recovery_rows(ctx.tables, ctx.config, loop_now())
    f = f.filter((f._nps0 <= 6) & f._contacted & f._next_nps.notnull())
    return f.mutate(_t=ctx.local(f.opened_at))
