"""Run a KPI: one grouped aggregate query in the database, then the statistics core.

Only aggregates leave the database (counts, sums, sums of squares). Medians
fetch the handful of order statistics their exact interval needs, ranked in
the database. Everything is order-independent: sums, counts, and order
statistics of ties are the same whatever the row order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd

from cxray import stats
from cxray.metrics._context import PERIODS, Context
from cxray.metrics._custom import (
    CUSTOM_AGGREGATES,
    custom_compare,
    custom_estimate,
    custom_metrics,
)
from cxray.metrics._registry import KPI, Rows

__all__ = ["Cell", "compare", "compute", "compute_all", "period_starts"]


@dataclass(frozen=True)
class Cell:
    """One KPI value for one slice (and period)."""

    keys: tuple[str, ...]
    period: dt.date | None
    agg: dict[str, Any]
    estimate: stats.Estimate


def _fusable(kpi: KPI, ctx: Context) -> bool:
    return (
        isinstance(kpi.rows, Rows)
        and kpi.kind in ("nps", "proportion", "mean", "median")
        and not kpi.per_customer
        and kpi.table != "customers"
        and (ctx.period is None or kpi.periodic)
    )


def compute_all(registry: list[KPI], ctx: Context) -> dict[str, list[Cell]]:
    """Every KPI of ``registry``; those whose rows share a base in one query (see ``Rows``)."""
    groups: dict[Any, list[KPI]] = {}
    out: dict[str, list[Cell]] = {}
    for kpi in registry:
        if _fusable(kpi, ctx):
            assert isinstance(kpi.rows, Rows)
            groups.setdefault(kpi.rows.base, []).append(kpi)
    for members in groups.values():
        if len(members) > 1:
            out.update(_compute_together(members, ctx))
    for kpi in registry:
        if kpi.name not in out:
            out[kpi.name] = compute(kpi, ctx)
    return {kpi.name: out[kpi.name] for kpi in registry}


def _compute_together(members: list[KPI], ctx: Context) -> dict[str, list[Cell]]:
    """KPIs over the same base rows: one grouped aggregate, each KPI's part filtered."""
    first = members[0].rows
    assert isinstance(first, Rows)
    t = first.base(ctx)
    window = ctx.in_window(t._t)
    if window is not None:
        t = t.filter(window)
    got = ctx.slices(t)
    if got is None:
        return {kpi.name: [] for kpi in members}
    t, keys = got
    if ctx.period is not None:
        t = t.mutate(_period=ctx.bucket(t._t))
        keys = [*keys, "_period"]
    metrics: dict[str, Any] = {}
    parts = []
    for i, kpi in enumerate(members):
        rows = kpi.rows
        assert isinstance(rows, Rows)
        where = rows.where(ctx, t) if rows.where is not None else None
        value = rows.value(ctx, t)
        mine = _metrics(kpi.kind, value, where)
        metrics.update({f"{name}_{i}": expr for name, expr in mine.items()})
        parts.append((kpi, list(mine), where, value))
    grouped = _grouped(t, keys, metrics)
    out = {}
    for i, (kpi, names, where, value) in enumerate(parts):
        rows_i = []
        for row in grouped:
            r = {k: row[k] for k in keys}
            r.update({name: row[f"{name}_{i}"] or 0 for name in names})
            n = r["_p"] + r["_q"] + r["_d"] if kpi.kind == "nps" else r["_n"]
            if n:
                rows_i.append(r)
        own = t.filter(where) if where is not None else t
        out[kpi.name] = _cells(kpi, ctx, own.mutate(_v=value), keys, rows_i)
    return out


def compute(kpi: KPI, ctx: Context) -> list[Cell]:
    """Every slice of one KPI; an empty list when the KPI cannot be cut this way."""
    if ctx.period is not None and not kpi.periodic:
        return []
    if kpi.kind == "churn":
        return _churn(kpi, ctx)
    if kpi.kind == "health":
        return _health(kpi, ctx)
    assert kpi.rows is not None
    t = kpi.rows(ctx)
    window = ctx.in_window(t._t)
    if window is not None:
        t = t.filter(window)
    if ctx.period is not None and ctx.start is None and kpi.table == "customers":
        # customers placed by when they joined: periods start with the activity data
        span = ctx.data_range
        if span is not None:
            t = t.filter(t._t >= ibis.timestamp(span[0]))
    got = ctx.slices(t)
    if got is None:
        return []
    t, keys = got
    if ctx.period is not None:
        t = t.mutate(_period=ctx.bucket(t._t))
        keys = [*keys, "_period"]
    if kpi.per_customer:
        t = t.filter(t.customer_id.notnull())
        t = t.group_by([*keys, "customer_id"]).aggregate(_v=t._v.sum())
    return _finish_all(kpi, ctx, t, keys)


def _ones(flag: ibis.BooleanValue) -> ibis.IntegerValue:
    """1 where ``flag`` is true, else 0: sums of it count rows on every backend
    (PostgreSQL cannot cast a boolean to BIGINT)."""
    return ibis.ifelse(flag, 1, 0)


def _metrics(kind: str, v: ibis.Value, where: ibis.BooleanValue | None) -> dict[str, Any]:
    """The aggregates a KPI of ``kind`` rests on, over the rows where ``where`` holds."""
    if kind == "nps":
        return {
            "_p": _ones(v >= 9).sum(where=where),
            "_q": _ones((v >= 7) & (v <= 8)).sum(where=where),
            "_d": _ones(v <= 6).sum(where=where),
        }
    if kind == "proportion":
        return {"_x": _ones(v).sum(where=where), "_n": v.count(where=where)}
    if kind == "mean":
        x = v.cast("float64")
        return {
            "_n": x.count(where=where),
            "_s": x.sum(where=where),
            "_s2": (x * x).sum(where=where),
        }
    if kind == "median":
        return {"_n": v.count(where=where)}
    raise AssertionError(kind)  # pragma: no cover


def _grouped(t: ibis.Table, keys: list[str], metrics: dict[str, Any]) -> list[dict[str, Any]]:
    agg = t.group_by(keys).aggregate(**metrics) if keys else t.aggregate(**metrics)
    return agg.to_pyarrow().to_pylist()


def _finish_all(kpi: KPI, ctx: Context, t: ibis.Table, keys: list[str]) -> list[Cell]:
    if kpi.kind in CUSTOM_AGGREGATES:  # rate and ratio, KPIs defined in config
        metrics = custom_metrics(kpi.kind, t)
    else:
        metrics = _metrics(kpi.kind, t._v, None)
    if kpi.evidence is not None:
        metrics["_k"] = _ones(kpi.evidence(ctx, t)).sum()
    rows = _grouped(t, keys, metrics)
    if not keys and rows and all(not v for v in rows[0].values()):
        rows = []  # no data at all
    return _cells(kpi, ctx, t, keys, rows)


def without_evidence(cell: Cell) -> bool:
    """A cell none of whose rows carries the KPI's data (``KPI.evidence``): suppressed."""
    return "_k" in cell.agg and not cell.agg["_k"]


def _cells(
    kpi: KPI, ctx: Context, t: ibis.Table, keys: list[str], rows: list[dict[str, Any]]
) -> list[Cell]:
    """Cells from the aggregate rows of one KPI (``t``: its rows, for order statistics)."""
    samples: dict[tuple[Any, ...], np.ndarray] = {}
    if kpi.kind == "median":
        samples = _order_statistics(ctx, t, keys, rows)
    cells = []
    reason: str | None = None
    for row in rows:
        k = tuple(row[name] for name in keys)
        period = k[-1] if ctx.period is not None else None
        slice_keys = k[:-1] if ctx.period is not None else k
        agg = {name: (row[name] or 0) for name in row if name not in keys}
        if kpi.kind == "median":
            agg["_sample"] = samples.get(k, np.empty(0))
        est = estimate(kpi, ctx, agg)
        if kpi.no_evidence is not None and "_k" in agg and not agg["_k"]:
            if reason is None:
                reason = kpi.no_evidence(ctx)
            text = reason.replace("{n}", f"{est.n:,}")
            est = dataclasses.replace(est, suppressed=True, reason=text)
        cells.append(Cell(slice_keys, period, agg, est))
    return cells


def estimate(kpi: KPI, ctx: Context, agg: dict[str, Any]) -> stats.Estimate:
    """The statistics core's estimate from a cell's aggregates, labelled with the KPI."""
    m = ctx.config.measurement
    opts: dict[str, Any] = {"confidence": m.confidence, "min_n": m.min_n}
    kind = "mean" if kpi.kind == "health" else kpi.kind
    if kind == "nps":
        est = stats.nps(int(agg["_p"]), int(agg["_q"]), int(agg["_d"]), **opts)
    elif kind in ("proportion", "churn"):
        est = stats.proportion(int(agg["_x"]), int(agg["_n"]), percent=True, **opts)
    elif kind == "mean":
        est = stats.mean(int(agg["_n"]), float(agg["_s"]), float(agg["_s2"]), **opts)
    elif kind in CUSTOM_AGGREGATES:
        est = custom_estimate(kpi, agg, **opts)
    else:
        est = stats.median(agg["_sample"], **opts)
    return dataclasses.replace(est, metric=kpi.name, unit=kpi.unit, definition=kpi.definition)


def compare(kpi: KPI, ctx: Context, now: dict[str, Any], before: dict[str, Any]) -> Any:
    """The change from ``before`` to ``now`` with its two-sample test (``None`` for medians)."""
    m = ctx.config.measurement
    opts: dict[str, Any] = {"confidence": m.confidence, "min_n": m.min_n}
    kind = "mean" if kpi.kind == "health" else kpi.kind
    if kind in CUSTOM_AGGREGATES:
        return custom_compare(kpi, now, before, **opts)
    if kind == "nps":
        a = (int(now["_p"]), int(now["_q"]), int(now["_d"]))
        b = (int(before["_p"]), int(before["_q"]), int(before["_d"]))
        if sum(a) == 0 or sum(b) == 0:
            return None
        return stats.nps_diff(a, b, **opts)
    if kind in ("proportion", "churn"):
        if not now["_n"] or not before["_n"]:
            return None
        return stats.proportion_diff(
            (int(now["_x"]), int(now["_n"])),
            (int(before["_x"]), int(before["_n"])),
            percent=True,
            **opts,
        )
    if kind == "mean":
        if now["_n"] < 2 or before["_n"] < 2:
            return None
        return stats.mean_diff(
            (int(now["_n"]), float(now["_s"]), float(now["_s2"])),
            (int(before["_n"]), float(before["_s"]), float(before["_s2"])),
            **opts,
        )
    return None


# ------------------------------------------------------------------ medians
def _order_statistics(
    ctx: Context, t: ibis.Table, keys: list[str], rows: list[dict[str, Any]]
) -> dict[tuple[Any, ...], np.ndarray]:
    """Per group, a stand-in sample with the same order statistics where the median needs them.

    The database ranks the values of each group; only the ranks used by the
    point estimate (linear interpolation) and by the exact interval are
    fetched. The stand-in is non-decreasing and equal to the real sorted
    sample at those ranks, so :func:`cxray.stats.median` gives exactly the
    result it would give on every raw value.
    """
    level = ctx.config.measurement.confidence
    wanted: list[dict[str, Any]] = []
    sizes: dict[tuple[Any, ...], int] = {}
    ranks_of: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        n = int(row["_n"] or 0)
        if n == 0:
            continue
        k = tuple(row[name] for name in keys)
        h = (n - 1) * 0.5
        ranks = {math.floor(h) + 1, math.ceil(h) + 1}
        if n >= 2:
            lo, hi, _ = stats.order_statistic_ranks(n, 0.5, level)
            ranks |= {lo, hi}
        sizes[k] = n
        ranks_of[k] = sorted(ranks)
        for r in ranks:
            wanted.append({**{name: row[name] for name in keys}, "_rank": r})
    if not wanted:
        return {}
    if keys:
        w = ibis.window(group_by=[t[k] for k in keys], order_by=t._v)
    else:
        w = ibis.window(order_by=t._v)
    ranked = t.select(*keys, _v=t._v, _rank=ibis.row_number().over(w) + 1)
    frame = pd.DataFrame(wanted)
    want = ibis.memtable(frame, schema={**{k: ranked[k].type() for k in keys}, "_rank": "int64"})
    got = ranked.semi_join(
        want, [*(ranked[k] == want[k] for k in keys), ranked._rank == want._rank]
    )
    values: dict[tuple[Any, ...], dict[int, float]] = {}
    for row in got.to_pyarrow().to_pylist():
        k = tuple(row[name] for name in keys)
        values.setdefault(k, {})[int(row["_rank"])] = float(row["_v"])
    out = {}
    for k, n in sizes.items():
        have = values.get(k, {})
        sample = np.empty(n)
        prev = 0
        for r in ranks_of[k]:
            sample[prev:r] = have[r]
            prev = r
        sample[prev:] = have[ranks_of[k][-1]]
        out[k] = sample
    return out


# ------------------------------------------------------------------ churn
def period_starts(period: str, first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
    """Starts of the whole periods from the one holding ``first`` to the one holding ``last``."""
    d = first.date()
    if period == "week":
        d -= dt.timedelta(days=d.weekday())
    elif period == "month":
        d = d.replace(day=1)
    elif period == "quarter":
        d = d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1)
    out = []
    while dt.datetime.combine(d, dt.time()) <= last:
        out.append(dt.datetime.combine(d, dt.time()))
        d = _next(d, period)
    return out


def _next(d: dt.date, period: str) -> dt.date:
    if period == "day":
        return d + dt.timedelta(days=1)
    if period == "week":
        return d + dt.timedelta(days=7)
    months = 1 if period == "month" else 3
    m = d.month - 1 + months
    return d.replace(year=d.year + m // 12, month=m % 12 + 1)


def _window(ctx: Context) -> tuple[dt.datetime, dt.datetime] | None:
    """The window: as given, else the span of the activity tables, else (a store of
    customers only, like the IBM Telco file) the span of the customers' own dates."""
    span = ctx.data_range or _customer_span(ctx)
    start = ctx.start or (span[0] if span else None)
    end = ctx.end or (span[1] + dt.timedelta(microseconds=1) if span else None)
    if start is None or end is None:
        return None
    return start, end


def _customer_span(ctx: Context) -> tuple[dt.datetime, dt.datetime] | None:
    """First and last local date a customer joined or left; ``None`` without customers."""
    c = ctx.tables("customers")
    created, churned = ctx.local(c.created_at), ctx.local(c.churned_at)
    row = c.aggregate(a=created.min(), b=created.max(), d=churned.max()).to_pyarrow()
    got = row.to_pylist()[0]
    if got["a"] is None:
        return None
    last = max(x for x in (got["b"], got["d"]) if x is not None)
    return got["a"], last


def _churn_dates(ctx: Context) -> tuple[int, int]:
    """Customers, and customers with a churn date, in the whole store."""
    c = ctx.tables("customers")
    got = c.aggregate(n=c.count(), k=c.churned_at.count()).to_pyarrow().to_pylist()[0]
    return int(got["n"] or 0), int(got["k"] or 0)


def _suppressed_cell(kpi: KPI, ctx: Context, n: int, reason: str) -> Cell:
    """The one cell a KPI that cannot be measured at all shows, saying why."""
    est = estimate(kpi, ctx, {"_x": 0, "_n": 0})
    est = dataclasses.replace(est, n=n, suppressed=True, reason=reason)
    return Cell(tuple(None for _ in ctx.by), None, {"_x": 0, "_n": 0, "_k": 0}, est)


def _churn(kpi: KPI, ctx: Context) -> list[Cell]:
    """Churn rate per slice (and period); suppressed with its reason where it cannot be told.

    Without a single churn date in the store, a churn rate of 0 % could mean that nobody
    left or that leaving is not recorded: every cell is suppressed and says so. When no
    customer is at risk at the start of the window (customers only, no period), one
    suppressed cell says what to do instead of leaving churn out.
    """
    customers, dated = _churn_dates(ctx)
    if customers == 0:
        return []
    c = ctx.tables("customers")
    c = c.mutate(_created=ctx.local(c.created_at), _churned=ctx.local(c.churned_at))
    got = ctx.slices(c)
    window = _window(ctx)
    if got is None or window is None:
        return []
    cells = _churn_cells(kpi, ctx, c, got, window)
    if dated == 0:
        reason = (
            f"no churn dates: churned_at is empty for all {customers:,} customers "
            "(no one left, or leaving is not recorded?); import churned_at"
        )
        cells = [
            Cell(
                x.keys,
                x.period,
                {**x.agg, "_k": 0},
                dataclasses.replace(x.estimate, suppressed=True, reason=reason),
            )
            for x in cells
        ]
        return cells or [_suppressed_cell(kpi, ctx, customers, reason)]
    if not cells:
        reason = (
            f"nobody was a customer at the window's start ({window[0]:%Y-%m-%d}) to count "
            "churn among; use --period month or a later --from"
        )
        return [_suppressed_cell(kpi, ctx, 0, reason)]
    return cells


def _churn_cells(
    kpi: KPI,
    ctx: Context,
    c: ibis.Table,
    got: tuple[ibis.Table, list[str]],
    window: tuple[dt.datetime, dt.datetime],
) -> list[Cell]:
    c, keys = got
    start, end = window
    if ctx.period is not None:
        starts = period_starts(ctx.period, start, end - dt.timedelta(microseconds=1))
        bounds = [(s, _next(s.date(), ctx.period)) for s in starts]
        frame = pd.DataFrame(
            {
                "_period": [s.date() for s, _ in bounds],
                "_ps": [s for s, _ in bounds],
                "_pe": [dt.datetime.combine(e, dt.time()) for _, e in bounds],
            }
        )
        p = ibis.memtable(frame, schema={"_period": "date", "_ps": "timestamp", "_pe": "timestamp"})
        # Period bounds are period starts, so comparing a time with them is comparing its
        # period's start: count customers per (slice, joined period, churned period) first,
        # then cross the few counts, not every customer, with the periods.
        unit = PERIODS[ctx.period]
        c = c.mutate(_created=c._created.truncate(unit), _churned=c._churned.truncate(unit))
        c = c.group_by([*keys, "_created", "_churned"]).aggregate(_k=ibis._.count())
        c = c.cross_join(p)
        keys = [*keys, "_period"]
        ps, pe, weight = c._ps, c._pe, c._k
    else:
        ps, pe, weight = ibis.timestamp(start), ibis.timestamp(end), ibis.literal(1)
    at_risk = (c._created < ps) & (c._churned.isnull() | (c._churned >= ps))
    churned = at_risk & c._churned.notnull() & (c._churned < pe)
    metrics = {"_x": (_ones(churned) * weight).sum(), "_n": (_ones(at_risk) * weight).sum()}
    agg = c.group_by(keys).aggregate(**metrics) if keys else c.aggregate(**metrics)
    cells = []
    for row in agg.to_pyarrow().to_pylist():
        if not row["_n"]:
            continue
        k = tuple(row[name] for name in keys)
        period = k[-1] if ctx.period is not None else None
        slice_keys = k[:-1] if ctx.period is not None else k
        a = {"_x": row["_x"] or 0, "_n": row["_n"] or 0}
        cells.append(Cell(slice_keys, period, a, estimate(kpi, ctx, a)))
    return cells


# ------------------------------------------------------------------ health
def health_scores(ctx: Context, as_of: dt.datetime) -> ibis.Table:
    """One row per customer active at ``as_of`` (local time) with ``_v``, the 0-100 score."""
    h = ctx.config.health
    horizon = ibis.interval(days=h.horizon_days)
    t_end = ibis.timestamp(as_of)
    t_start = t_end - horizon
    c = ctx.tables("customers")
    created, churned = ctx.local(c.created_at), ctx.local(c.churned_at)
    c = c.filter((created <= t_end) & (churned.isnull() | (churned > t_end)))

    r = ctx.tables("responses")
    r = r.mutate(_ts=ctx.local(r.submitted_at))
    r = r.filter(r.nps.notnull() & r.customer_id.notnull() & (r._ts <= t_end))
    w = ibis.window(group_by=r.customer_id, order_by=[ibis.desc(r._ts), ibis.desc(r.response_id)])
    r = r.mutate(_rn=ibis.row_number().over(w))
    survey = r.filter(r._rn == 0).select(_c1=r.customer_id, _survey=r.nps.cast("float64") / 10.0)

    o = ctx.tables("orders")
    o = o.mutate(_ts=ctx.local(o.ordered_at))
    o = o.filter(o._ts <= t_end)
    orders = o.group_by(_c2=o.customer_id).aggregate(
        _last_order=o._ts.max(),
        _recent_orders=_ones(o._ts > t_start).sum(),
    )
    e = ctx.tables("events")
    e = e.mutate(_ts=ctx.local(e.timestamp))
    e = e.filter(e._ts <= t_end)
    events = e.group_by(_c3=e.customer_id).aggregate(_last_event=e._ts.max())

    k = ctx.tables("cases")
    k = k.mutate(_ts=ctx.local(k.opened_at), _res=ctx.local(k.resolved_at))
    k = k.filter(k.customer_id.notnull() & (k._ts <= t_end) & (k._ts > t_start))
    bad = (
        k._res.isnull()
        | (k._res > t_end)
        | (k.contacts.fill_null(1) > 1)
        | k.reopened.fill_null(False)
    )
    cases = k.group_by(_c4=k.customer_id).aggregate(_bad=_ones(bad).sum())

    j = c.left_join(survey, c.customer_id == survey._c1).drop("_c1")
    j = j.left_join(orders, j.customer_id == orders._c2).drop("_c2")
    j = j.left_join(events, j.customer_id == events._c3).drop("_c3")
    j = j.left_join(cases, j.customer_id == cases._c4).drop("_c4")

    last = ibis.greatest(
        j._last_order.fill_null(j._last_event), j._last_event.fill_null(j._last_order)
    )
    days = (t_end.epoch_seconds() - last.epoch_seconds()).cast("float64") / 86400.0
    recency = ibis.greatest(1.0 - days / h.horizon_days, 0.0).fill_null(0.0)
    frequency = ibis.least(
        j._recent_orders.fill_null(0).cast("float64") / h.orders_for_full_frequency, 1.0
    )
    support = 1.0 - ibis.least(j._bad.fill_null(0).cast("float64") / 2.0, 1.0)
    parts = {
        "survey": j._survey.fill_null(0.5),
        "recency": recency,
        "frequency": frequency,
        "support": support,
    }
    total = sum(h.weights.values())
    score = sum((w / total) * parts[name] for name, w in sorted(h.weights.items()) if w > 0)
    return j.mutate(_v=100.0 * score)


def _health(kpi: KPI, ctx: Context) -> list[Cell]:
    window = _window(ctx)
    if window is None:
        return []
    as_of = window[1] - dt.timedelta(microseconds=1)
    t = health_scores(ctx, as_of)
    got = ctx.slices(t)
    if got is None:
        return []
    t, keys = got
    return _finish_all(dataclasses.replace(kpi, kind="mean"), ctx, t, keys)


assert set(PERIODS) == {"day", "week", "month", "quarter"}
