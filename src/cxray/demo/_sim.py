"""The numeric simulation of one block of demo customers.

Everything a block's customers do is drawn here as numpy arrays of codes and
float-day times (see :class:`~cxray.demo._calendar.Calendar`), in causal order:

1. customers, with a latent satisfaction, an order rate and a churn hazard;
2. orders over each customer's whole possible life, with delivery promises and delays;
3. support cases caused by those orders (late, returned, faulty) or by other needs;
4. survey responses whose scores follow the customer's latent satisfaction and
   what just happened to them (late deliveries, cases, the product fault);
5. churn, drawn from a hazard that rises after a detractor answer; everything the
   customer would have done after churning is then removed;
6. events and mentions, from what remains.

Strings (identifiers, text) are made later by :mod:`cxray.demo._world`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxray.demo._calendar import Calendar
from cxray.demo._effects import Strengths
from cxray.demo._text import NEG, NEU, POS, T

__all__ = ["Block", "simulate_block"]

Cols = dict[str, np.ndarray]

SEGMENTS = ("consumer", "smb", "enterprise")
REGIONS = ("Northeast", "Southeast", "Midwest", "Southwest", "West", "Canada")
PLANS = ("basic", "plus", "business", "enterprise")
ACQUISITION = (
    "organic_search",
    "paid_search",
    "social",
    "referral",
    "email",
    "store",
    "partner",
    "sales",
)
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
CATEGORIES = ("electronics", "home", "kitchen", "furniture", "smart_home", "office", "garden")
ORDER_CHANNELS = ("web", "app", "store")
FULFILLMENT = ("home_delivery", "click_and_collect", "in_store")
CARRIERS = ("ParcelWing", "SwiftLane", "BlueBox Post", "Hearthwell Fleet")
ORDER_STATUSES = ("completed", "cancelled", "returned", "shipped", "processing")
CASE_CHANNELS = ("email", "chat", "phone", "web", "social")
PRIORITIES = ("low", "normal", "high", "urgent")
CASE_STATUSES = ("new", "open", "pending", "solved", "closed")
TEAMS = (
    "Logistics",
    "Returns & Refunds",
    "Technical Support",
    "Billing",
    "Customer Care",
    "Product Advice",
    "Enterprise Desk",
)
AGENTS_PER_TEAM = 8
SURVEYS = ("relationship_nps", "post_delivery", "support_csat", "checkout_ces", "site_feedback")
RESPONSE_TOUCHPOINTS = (
    "quarterly_pulse",
    "order_delivered",
    "case_resolved",
    "checkout_completed",
    "product_page",
    "help_center",
    "checkout",
    "order_tracking",
)
RESPONSE_CHANNELS = ("email", "chat", "phone", "web", "social", "app")
CHURN_REASONS = (
    "price",
    "switched_to_competitor",
    "no_longer_needed",
    "delivery_problems",
    "poor_service",
    "product_quality",
    "moved_away",
    "business_closed",
)
TOUCHPOINTS = (
    "account_created",
    "email_verified",
    "profile_completed",
    "newsletter_subscribed",
    "app_installed",
    "visit_site",
    "app_opened",
    "product_viewed",
    "added_to_cart",
    "checkout_started",
    "payment_submitted",
    "payment_failed",
    "order_placed",
    "store_visit",
    "delivery_tracked",
    "help_center_visited",
    "case_opened",
    "follow_up_contact",
    "case_reopened",
    "case_resolved",
    "survey_completed",
    "email_opened",
    "email_clicked",
    "account_closed",
)
EVENT_CHANNELS = ("web", "app", "email", "phone", "chat", "store", "social")
JOURNEYS = ("onboarding", "checkout", "delivery", "support", "feedback", "marketing", "account")
PLATFORMS = (
    "twitter",
    "facebook",
    "instagram",
    "reddit",
    "trustpilot",
    "google_reviews",
    "app_store",
)
#: 0 social post, 1 review, 2 forum post
PLATFORM_KIND = np.array([0, 0, 0, 2, 1, 1, 1])

TP = {name: i for i, name in enumerate(TOUCHPOINTS)}
EC = {name: i for i, name in enumerate(EVENT_CHANNELS)}
JR = {name: i for i, name in enumerate(JOURNEYS)}
CAT = {name: i for i, name in enumerate(CATEGORIES)}

#: relative order volume by calendar month (index 1–12)
_SEASON = np.array([0, 0.85, 0.85, 0.95, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.45, 1.6])
_LATE_SEASON = np.array([0, 1.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 2.3])
#: how busy each hour of the day is, for purchases and browsing
_HOURS = np.concatenate(
    [
        [0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 1.8, 2.0, 2.1],
        [2.2, 2.0, 1.9, 1.8, 1.8, 1.9, 2.2, 2.6, 2.8, 2.4, 1.6, 0.8],
    ]
)
_PRE_PERIOD = 0.35  # share of customers who joined before the period
_PRE_DAYS = 1095.0
_GROWTH = 0.035 / 30.44  # acquisition growth per day
_MONTH = 30.44

_NPS_MID, _NPS_SLOPE = 8.1, 2.2
_CSAT_MID, _CSAT_SLOPE = 3.95, 1.0
_CES_MID, _CES_SLOPE = 5.0, 1.3


@dataclass
class Block:
    """The simulated rows of one block of customers (numpy columns, no strings yet)."""

    first: int
    customers: Cols
    orders: Cols
    cases: Cols
    responses: Cols
    events: Cols
    mentions: Cols


# ---------------------------------------------------------------- small helpers


def _choice(rng: np.random.Generator, p, size: int) -> np.ndarray:
    cum = np.cumsum(np.asarray(p, dtype=np.float64))
    return np.searchsorted(cum / cum[-1], rng.random(size), side="right").clip(0, len(cum) - 1)


def _choice_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One category per row from a (rows × categories) weight matrix."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return (u[:, None] >= cum).sum(axis=1).clip(0, weights.shape[1] - 1)


def _time_of_day(rng: np.random.Generator, size: int, hours: np.ndarray = _HOURS) -> np.ndarray:
    return (_choice(rng, hours, size) + rng.random(size)) / 24.0


def _get(values: np.ndarray, ref: np.ndarray, fill) -> np.ndarray:
    """``values[ref]``, with ``fill`` where ``ref`` is -1 (also when ``values`` is empty)."""
    return np.append(values, np.asarray([fill], dtype=values.dtype))[ref]


def _take(cols: Cols, index: np.ndarray) -> Cols:
    return {k: v[index] for k, v in cols.items()}


def _concat(parts: list[Cols]) -> Cols:
    keys = parts[0].keys()
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def _last_before(
    ev_cust: np.ndarray, ev_t: np.ndarray, q_cust: np.ndarray, q_t: np.ndarray, width: float
) -> np.ndarray:
    """For each query, the index of the customer's latest event strictly before ``q_t``; -1."""
    if not len(ev_cust):
        return np.full(len(q_cust), -1, dtype=np.int64)
    key = ev_cust * width + ev_t
    order = np.argsort(key, kind="stable")
    pos = np.searchsorted(key[order], q_cust * width + q_t, side="left") - 1
    idx = order[np.maximum(pos, 0)]
    ok = (pos >= 0) & (ev_cust[idx] == q_cust)
    return np.where(ok, idx, -1)


def _decay(
    ev_cust: np.ndarray,
    ev_t: np.ndarray,
    q_cust: np.ndarray,
    q_t: np.ndarray,
    width: float,
    tau: float,
) -> np.ndarray:
    """``exp(-Δ/tau)`` for the time Δ since each query's customer's latest event; 0 if none."""
    idx = _last_before(ev_cust, ev_t, q_cust, q_t, width)
    delta = q_t - _get(ev_t, idx, 0.0)
    return np.where(idx >= 0, np.exp(-delta / tau), 0.0)


def _scale(y: np.ndarray, mid: float, slope: float, lo: int, hi: int) -> np.ndarray:
    return np.clip(np.rint(mid + slope * y), lo, hi).astype(np.int64)


# ---------------------------------------------------------------- the block


def simulate_block(
    cal: Calendar, s: Strengths, seed: int, block: int, first: int, n: int, total: int
) -> Block:
    """Simulate customers ``first .. first + n - 1`` of a world of ``total`` customers."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    D = float(cal.days)
    width = D + 10.0
    cu = _customers(rng, cal, s, first, n, total)
    od = _orders(rng, cal, s, cu)
    cs = _cases(rng, cal, s, cu, od)
    rs = _responses(rng, cal, s, cu, od, cs, width)
    _churn(rng, cal, s, cu, od, cs, rs, width)

    # remove what each customer would have done after churning
    limit = np.where(np.isnan(cu["churned"]), D, cu["churned"])
    keep_o = od["t"] < limit[od["cust"]]
    keep_c = cs["t"] < limit[cs["cust"]]
    keep_r = (rs["cust"] < 0) | (rs["t"] < limit[np.maximum(rs["cust"], 0)])
    o_new = np.cumsum(keep_o) - 1
    c_new = np.cumsum(keep_c) - 1
    od, cs, rs = _take(od, keep_o), _take(cs, keep_c), _take(rs, keep_r)
    cs["order"] = _get(o_new, cs["order"], -1)
    rs["order"] = _get(o_new, rs["order"], -1)
    rs["case"] = _get(c_new, rs["case"], -1)
    rs["cust"] = np.where(rs["anonymous"], -1, rs["cust"])

    ev = _events(rng, cal, cu, od, cs, rs, limit)
    mn = _mentions(rng, cal, cu, od, cs, rs)

    # chronological order inside the block; references follow
    oo = np.argsort(od["t"], kind="stable")
    co = np.argsort(cs["t"], kind="stable")
    o_rank = np.empty_like(oo)
    o_rank[oo] = np.arange(len(oo))
    c_rank = np.empty_like(co)
    c_rank[co] = np.arange(len(co))
    od, cs = _take(od, oo), _take(cs, co)
    cs["order"] = _get(o_rank, cs["order"], -1)
    for table in (rs, ev):
        table["order"] = _get(o_rank, table["order"], -1)
        table["case"] = _get(c_rank, table["case"], -1)
    rs = _take(rs, np.argsort(rs["t"], kind="stable"))
    mn = _take(mn, np.argsort(mn["t"], kind="stable"))
    return Block(first, cu, od, cs, rs, ev, mn)


# ---------------------------------------------------------------- customers


def _customers(
    rng: np.random.Generator, cal: Calendar, s: Strengths, first: int, n: int, total: int
) -> Cols:
    D = float(cal.days)
    # stratified over the whole world, so customer ids run in order of joining
    u = (np.arange(first, first + n) + rng.random(n)) / total
    pre = u < _PRE_PERIOD
    v = np.clip((u - _PRE_PERIOD) / (1 - _PRE_PERIOD), 0, 1)
    joined = np.log1p(v * np.expm1(_GROWTH * D)) / _GROWTH
    created = np.where(pre, -_PRE_DAYS * (1 - u / _PRE_PERIOD), joined)
    created = np.minimum(np.floor(created) + _time_of_day(rng, n), D - 1e-6)

    seg = _choice(rng, [0.80, 0.16, 0.04], n)
    region = _choice(rng, [0.22, 0.21, 0.19, 0.14, 0.16, 0.08], n)
    p_es = np.array([0.04, 0.10, 0.04, 0.22, 0.12, 0.02])[region]
    p_fr = np.where(region == REGIONS.index("Canada"), 0.30, 0.0)
    r = rng.random(n)
    lang = np.where(r < p_es, 1, np.where(r < p_es + p_fr, 2, 0))
    plus = (seg == 0) & (rng.random(n) < 0.38)
    plan = np.where(seg == 0, np.where(plus, 1, 0), seg + 1)
    acq_w = np.array(
        [
            [0.28, 0.20, 0.14, 0.14, 0.06, 0.18, 0.00, 0.00],
            [0.25, 0.20, 0.00, 0.20, 0.00, 0.00, 0.20, 0.15],
            [0.00, 0.00, 0.00, 0.20, 0.00, 0.00, 0.20, 0.60],
        ]
    )
    acq = _choice_rows(rng, acq_w[seg])
    referral = acq == ACQUISITION.index("referral")
    age = np.where(seg == 0, _choice(rng, [0.10, 0.24, 0.24, 0.18, 0.14, 0.10], n), -1)
    opt_in = rng.random(n) < 0.62

    base = (
        rng.normal(0, 0.75, n)
        + s.referral_lift * referral
        + np.array([0.0, -0.05, -0.15])[seg]
        + 0.15 * plus
    )
    monthly = np.array([0.21, 0.7, 1.8])[seg] * rng.lognormal(0, 0.5, n)
    rate = monthly * np.where(referral, s.referral_orders, 1.0) * np.where(plus, 1.3, 1.0) / _MONTH
    spend = np.log(np.array([68.0, 320.0, 2100.0]))[seg] + np.where(
        referral, np.log(s.referral_spend), 0.0
    )
    hazard = (
        np.array([0.022, 0.014, 0.007])[seg]
        * np.where(plus, 0.7, 1.0)
        * rng.lognormal(0, 0.3, n)
        / _MONTH
    )
    return {
        "created": created,
        "start": np.maximum(created, 0.0),
        "seg": seg,
        "region": region,
        "lang": lang,
        "plan": plan,
        "acq": acq,
        "referral": referral,
        "age": age,
        "opt_in": opt_in,
        "base": base,
        "rate": rate,
        "spend": spend,
        "hazard": hazard,
        "exp1": rng.exponential(1.0, n),
        "churned": np.full(n, np.nan),
        "reason": np.full(n, -1),
    }


# ---------------------------------------------------------------- orders


def _orders(rng: np.random.Generator, cal: Calendar, s: Strengths, cu: Cols) -> Cols:
    D = float(cal.days)
    n = len(cu["seg"])
    a = cu["start"]
    peak = _SEASON.max()
    count = rng.poisson(cu["rate"] * (D - a) * peak)
    cust = np.repeat(np.arange(n), count)
    t = a[cust] + rng.random(len(cust)) * (D - a[cust])
    keep = rng.random(len(t)) < _SEASON[cal.moy(t)] / peak
    cust, t = cust[keep], t[keep]
    # most new customers buy right away
    new = np.flatnonzero((cu["created"] >= 0) & (rng.random(n) < 0.65))
    t_first = cu["created"][new] + rng.exponential(0.4, len(new))
    ok = t_first < D
    cust = np.concatenate([cust, new[ok]])
    t = np.concatenate([t, t_first[ok]])
    t = np.floor(t) + _time_of_day(rng, len(t))
    lo = a[cust]
    t = np.where(t <= lo, lo + (np.ceil(lo + 1e-9) - lo) * rng.random(len(t)), t)
    t = np.minimum(t, D - 1e-6)
    m = len(t)
    seg = cu["seg"][cust]

    channel = _choice_rows(
        rng, np.array([[0.47, 0.38, 0.15], [0.9, 0.0, 0.1], [0.9, 0.0, 0.1]])[seg]
    )
    store = channel == 2
    fulfil = np.where(store, 2, np.where(rng.random(m) < 0.12, 1, 0))
    cat = _choice_rows(
        rng,
        np.array(
            [
                [0.24, 0.20, 0.15, 0.09, 0.10, 0.08, 0.14],
                [0.28, 0.06, 0.06, 0.18, 0.06, 0.36, 0.00],
                [0.32, 0.04, 0.04, 0.20, 0.04, 0.36, 0.00],
            ]
        )[seg],
    )
    cat_mult = np.array([1.6, 0.7, 0.9, 3.0, 1.4, 0.8, 1.0])[cat]
    amount = np.exp(cu["spend"][cust] + rng.normal(0, 0.75, m)) * cat_mult
    cents = np.maximum(np.rint(amount * 100), 199).astype(np.int64)
    items = 1 + np.where(seg == 0, rng.poisson(0.6, m), rng.poisson(3.0, m))

    plan = cu["plan"][cust]
    days = np.array([4, 2, 3, 3])[plan] + np.where(cat == CAT["furniture"], 7, 0)
    home = fulfil == 0
    carrier = np.where(
        home, np.where(cat == CAT["furniture"], 3, _choice(rng, [0.35, 0.40, 0.25], m)), -1
    )
    day0 = np.floor(t)
    promised = np.where(home, day0 + days + 20 / 24, np.where(fulfil == 1, day0 + 1 + 14 / 24, t))
    p_late = (
        0.06
        * _LATE_SEASON[cal.moy(t)]
        * np.array([1.9, 1.0, 0.85, 1.4])[np.maximum(carrier, 0)]
        * np.where(home, 1.0, np.where(fulfil == 1, 0.5, 0.0))
    )
    late = rng.random(m) < p_late
    delay = rng.geometric(0.45, m) + np.where(rng.random(m) < 0.05, rng.integers(5, 15, m), 0)
    early = _choice(rng, [0.6, 0.3, 0.1], m)
    on_time_day = np.where(home, np.maximum(day0 + 1, day0 + days - early), day0 + 1)
    hour = np.where(home, 8 + 11.5 * rng.random(m), 8 + 6 * rng.random(m)) / 24
    delivered = np.where(late, np.floor(promised) + delay, on_time_day) + hour
    delivered = np.where(store, t, delivered)

    status = np.zeros(m, dtype=np.int64)
    cancelled = ~store & (rng.random(m) < 0.03)
    delivered = np.where(cancelled, np.nan, delivered)
    pending = ~cancelled & (delivered >= D)
    status = np.where(cancelled, 1, status)
    status = np.where(pending, np.where(t > D - 0.5, 4, 3), status)
    delivered = np.where(pending, np.nan, delivered)
    late = (late & ~cancelled & ~store) & (~pending | (promised < D))

    fs, fe = cal.fault_window
    fault = (cat == CAT["smart_home"]) & (delivered >= fs - 45) & (delivered < fe)
    p_ret = (
        0.04
        * np.where(late, 2.2, 1.0)
        * np.array([1.3, 1.0, 1.0, 1.4, 1.2, 0.8, 1.0])[cat]
        * np.where(fault, 2.5, 1.0)
    )
    returned = ~np.isnan(delivered) & (rng.random(m) < p_ret)
    status = np.where(returned, 2, status)
    return {
        "cust": cust,
        "t": t,
        "channel": channel,
        "fulfil": fulfil,
        "cat": cat,
        "cents": cents,
        "items": items,
        "carrier": carrier,
        "promised": promised,
        "delivered": delivered,
        "status": status,
        "late": late,
        "fault": fault,
        "days_late": np.where(late, np.nan_to_num(delivered, nan=D) - promised, 0.0),
    }


# ---------------------------------------------------------------- cases


def _late_experience(od: Cols) -> tuple[np.ndarray, np.ndarray]:
    """Customer and time at which each late order was felt (delivery, or two days overdue)."""
    idx = np.flatnonzero(od["late"])
    felt = np.where(np.isnan(od["delivered"][idx]), od["promised"][idx] + 2, od["delivered"][idx])
    return od["cust"][idx], felt


def _cases(rng: np.random.Generator, cal: Calendar, s: Strengths, cu: Cols, od: Cols) -> Cols:
    D = float(cal.days)
    seg = cu["seg"]
    parts: list[Cols] = []

    def add(order: np.ndarray, cust: np.ndarray, t: np.ndarray, root: np.ndarray) -> None:
        parts.append(
            {
                "order": order.astype(np.int64),
                "cust": cust.astype(np.int64),
                "t": t,
                "root": root.astype(np.int64),
            }
        )

    delivered = ~np.isnan(od["delivered"])
    # late orders: where is my parcel?
    o = np.flatnonzero(
        od["late"] & (rng.random(len(od["t"])) < np.where(seg[od["cust"]] == 2, 0.6, 0.45))
    )
    asked = od["promised"][o] + rng.uniform(0.1, 1.5, len(o))
    arrived = np.nan_to_num(od["delivered"][o], nan=np.inf) - 1 / 24
    add(
        o,
        od["cust"][o],
        np.maximum(np.minimum(asked, arrived), od["promised"][o] + 0.05),
        _choice(rng, [0.55, 0.30, 0.15], len(o)),
    )
    # damaged in transit
    o = np.flatnonzero(
        delivered & (od["fulfil"] == 0) & ~od["late"] & (rng.random(len(od["t"])) < 0.008)
    )
    add(o, od["cust"][o], od["delivered"][o] + rng.exponential(0.3, len(o)), np.full(len(o), 3))
    # returns
    o = np.flatnonzero((od["status"] == 2) & (rng.random(len(od["t"])) < 0.5))
    root = 4 + _choice(rng, [0.2, 0.35, 0.25, 0.2], len(o))
    add(
        o,
        od["cust"][o],
        od["delivered"][o] + rng.uniform(0.5, 10, len(o)) + np.where(root == 7, 14, 0),
        root,
    )
    # everyday defects
    prone = np.isin(od["cat"], [CAT["electronics"], CAT["smart_home"], CAT["kitchen"], CAT["home"]])
    o = np.flatnonzero(delivered & prone & (rng.random(len(od["t"])) < 0.012))
    add(
        o,
        od["cust"][o],
        od["delivered"][o] + rng.exponential(25, len(o)),
        8 + _choice(rng, [0.5, 0.3, 0.2], len(o)),
    )
    # the product fault: Glow 2 batteries fail during the fault month
    fs, fe = cal.fault_window
    o = np.flatnonzero(od["fault"] & (rng.random(len(od["t"])) < s.fault_rate))
    lo = np.maximum(fs, od["delivered"][o])
    add(o, od["cust"][o], lo + rng.random(len(o)) * (fe - lo), np.full(len(o), 11))
    # needs unrelated to an order: billing, account, product questions
    n = len(seg)
    rate = np.array([0.032, 0.085, 0.25])[seg] / _MONTH
    count = rng.poisson(rate * (D - cu["start"]))
    cust = np.repeat(np.arange(n), count)
    t = cu["start"][cust] + rng.random(len(cust)) * (D - cu["start"][cust])
    cat = 3 + _choice(rng, [0.32, 0.33, 0.35], len(cust))
    within = np.array(
        [
            [0.30, 0.20, 0.30, 0.20],  # billing
            [0.35, 0.35, 0.22, 0.08],  # account
            [0.30, 0.30, 0.25, 0.15],  # product questions
        ]
    )[cat - 3]
    add(np.full(len(cust), -1), cust, t, cat * 4 + _choice_rows(rng, within))

    cs = _concat(parts)
    cs = _take(cs, np.flatnonzero(cs["t"] < D))
    m = len(cs["t"])
    root = cs["root"]
    category = root // 4
    cseg = seg[cs["cust"]]
    fault = root == 11

    channel = _choice_rows(
        rng,
        np.array(
            [
                [0.30, 0.30, 0.22, 0.10, 0.08],
                [0.40, 0.20, 0.30, 0.10, 0.00],
                [0.45, 0.10, 0.45, 0.00, 0.00],
            ]
        )[cseg],
    )
    channel = np.where(fault & (rng.random(m) < 0.4), 2, channel)
    live = (channel == 1) | (channel == 2)  # chat and phone are open 8:00-21:00
    tod = cs["t"] - np.floor(cs["t"])
    shifted = (
        np.floor(cs["t"]) + np.where(tod >= 21 / 24, 1, 0) + 8 / 24 + rng.exponential(1 / 24, m)
    )
    cs["t"] = np.where(live & ((tod < 8 / 24) | (tod >= 21 / 24)), shifted, cs["t"])

    pw = np.tile([0.22, 0.56, 0.17, 0.05], (m, 1))
    pw[cseg == 2] = [0.10, 0.45, 0.30, 0.15]
    pw[np.isin(root, [3, 8, 9, 10])] = [0.10, 0.50, 0.30, 0.10]
    pw[fault] = [0.02, 0.28, 0.50, 0.20]
    priority = _choice_rows(rng, pw)

    frt_median = np.array([22.0, 0.08, 0.03, 5.0, 1.2])[channel]
    frt_sigma = np.array([0.6, 0.8, 0.7, 0.8, 0.9])[channel]
    frt_h = (
        frt_median
        * np.exp(rng.normal(0, 1, m) * frt_sigma)
        * np.array([1.0, 1.0, 0.7, 0.45])[priority]
    )
    p_fcr = (
        np.array([0.40, 0.64, 0.70, 0.45, 0.50])[channel]
        + np.array([-0.05, 0.0, -0.12, 0.05, 0.08, 0.10])[category]
        - 0.10 * fault
    )
    fcr_contact = rng.random(m) < p_fcr
    contacts = np.where(fcr_contact, 1, 1 + rng.geometric(0.55, m))
    reopened = rng.random(m) < np.where(contacts == 1, 0.04, 0.14)
    work = (
        np.array([3.0, 0.25, 0.2, 2.0, 1.0])[channel] * rng.lognormal(0, 0.7, m)
        + (contacts - 1) * np.array([30.0, 14, 14, 20, 18])[channel] * rng.lognormal(0, 0.5, m)
        + np.where(reopened, rng.uniform(48, 120, m), 0.0)
        + np.where(category == 2, 24.0, 0.0)
    )
    first_response = cs["t"] + frt_h / 24
    resolved = first_response + work / 24
    stuck = rng.random(m) < 0.004
    resolved = np.where(stuck | (resolved >= D), np.nan, resolved)
    first_response = np.where(first_response >= D, np.nan, first_response)
    sla = np.array([24.0, 0.25, 0.1, 12.0, 4.0])[channel]
    waited = np.where(np.isnan(first_response), (D - cs["t"]) * 24, frt_h)
    status = np.where(
        np.isnan(resolved),
        np.where(np.isnan(first_response), 0, np.where(stuck | (rng.random(m) < 0.3), 2, 1)),
        np.where(resolved < D - 7, 4, 3),
    )
    team = np.array([0, 1, 2, 3, 4, 5])[category]
    team = np.where((cseg == 2) & (rng.random(m) < 0.8), 6, team)
    agent = team * AGENTS_PER_TEAM + rng.integers(0, AGENTS_PER_TEAM, m)
    cs.update(
        {
            "category": category,
            "channel": channel,
            "priority": priority,
            "first_response": first_response,
            "resolved": resolved,
            "contacts": contacts,
            "reopened": reopened,
            "fcr": (contacts == 1) & ~reopened,
            "status": status,
            "team": team,
            "agent": agent,
            "sla_breached": waited > sla,
            "fault": fault,
            "resolution_days": (first_response + work / 24 - cs["t"]),
        }
    )
    return cs


# ---------------------------------------------------------------- responses


def _responses(
    rng: np.random.Generator,
    cal: Calendar,
    s: Strengths,
    cu: Cols,
    od: Cols,
    cs: Cols,
    width: float,
) -> Cols:
    D = float(cal.days)
    n = len(cu["seg"])
    parts: list[Cols] = []

    def add(cust, t, survey, touch, channel, order=None, case=None) -> None:
        k = len(cust)
        parts.append(
            {
                "cust": np.asarray(cust, np.int64),
                "t": np.asarray(t, np.float64),
                "survey": np.full(k, survey),
                "touch": np.asarray(np.broadcast_to(touch, (k,))),
                "channel": np.asarray(np.broadcast_to(channel, (k,))),
                "order": np.full(k, -1) if order is None else np.asarray(order, np.int64),
                "case": np.full(k, -1) if case is None else np.asarray(case, np.int64),
            }
        )

    # relationship NPS, a quarterly sample of customers of at least 30 days
    for w in cal.month_start[:-1:3]:
        wave = float(w)
        who = np.flatnonzero(
            (cu["created"] < wave - 30)
            & (rng.random(n) < 0.4 * np.array([0.3, 0.3, 0.25])[cu["seg"]])
        )
        t = wave + np.minimum(rng.exponential(3.0, len(who)), 20.0)
        t = np.floor(t) + _time_of_day(rng, len(who))
        add(who, t, 0, 0, np.where(rng.random(len(who)) < 0.75, 0, 5))
    # after a delivery
    o = np.flatnonzero(
        ~np.isnan(od["delivered"]) & (od["fulfil"] != 2) & (rng.random(len(od["t"])) < 0.12)
    )
    add(od["cust"][o], od["delivered"][o] + rng.exponential(1.2, len(o)), 1, 1, 0, order=o)
    # after a solved case, in the channel of the case
    c = np.flatnonzero(~np.isnan(cs["resolved"]) & (rng.random(len(cs["t"])) < 0.42))
    add(
        cs["cust"][c],
        cs["resolved"][c] + rng.exponential(0.8, len(c)),
        2,
        2,
        cs["channel"][c],
        case=c,
        order=cs["order"][c],
    )
    # after checkout on the web or in the app
    o = np.flatnonzero((od["channel"] != 2) & (rng.random(len(od["t"])) < 0.04))
    add(
        od["cust"][o],
        od["t"][o] + rng.uniform(0.003, 0.02, len(o)),
        3,
        3,
        np.where(od["channel"][o] == 1, 5, 3),
        order=o,
    )
    rs = _concat(parts)
    rs = _take(rs, np.flatnonzero(rs["t"] < D))
    m = len(rs["t"])
    c = rs["cust"]
    t = rs["t"]
    survey = rs["survey"]

    # latent satisfaction at the time of answering
    improving = cu["region"][c] == REGIONS.index(s.improving_region)
    trend = np.where(improving, s.region_trend * (t / D - 0.5) - 0.35, 0.0)
    late_c, late_t = _late_experience(od)
    late = _decay(late_c, late_t, c, t, width, s.late_decay_days)
    fault_idx = np.flatnonzero(cs["fault"])
    fault = _decay(cs["cust"][fault_idx], cs["t"][fault_idx], c, t, width, 60.0)
    bad_idx = np.flatnonzero(~cs["fcr"])
    bad = _decay(cs["cust"][bad_idx], cs["t"][bad_idx], c, t, width, 45.0)
    y = (
        cu["base"][c]
        + trend
        - s.late_penalty * late
        - 0.9 * fault
        - 0.4 * bad
        + rng.normal(0, 0.85, m)
    )
    has_o = rs["order"] >= 0
    on_delivery = survey == 1
    y -= np.where(
        on_delivery & _get(od["late"], rs["order"], False),
        s.late_per_day * np.minimum(_get(od["days_late"], rs["order"], 0.0), 7),
        0.0,
    )
    y += np.where(on_delivery & ~_get(od["late"], rs["order"], False) & has_o, 0.15, 0.0)
    on_case = survey == 2
    case_effect = (
        s.fcr_lift * _get(cs["fcr"], rs["case"], False)
        - s.email_penalty
        * (_get(cs["channel"], rs["case"], 0) == CASE_CHANNELS.index(s.slow_channel))
        - s.resolution_penalty
        * np.log1p(np.nan_to_num(_get(cs["resolution_days"], rs["case"], 0.0)))
        - 0.5 * _get(cs["fault"], rs["case"], False)
        + np.array([-0.1, -0.1, -0.2, -0.15, 0.1, 0.2])[_get(cs["category"], rs["case"], 0)]
    )
    y += np.where(on_case, case_effect, 0.0)
    y_ces = np.where(
        on_case,
        y - 0.3 * (_get(cs["contacts"], rs["case"], 1) - 1) + rng.normal(0, 0.5, m),
        0.5 * (cu["base"][c] + trend) - 0.25 * (rs["channel"] == 5) + rng.normal(0, 0.9, m),
    )
    nps = np.where(np.isin(survey, [0, 1]), _scale(y, _NPS_MID, _NPS_SLOPE, 0, 10), -1)
    csat = np.where(np.isin(survey, [1, 2]), _scale(y, _CSAT_MID, _CSAT_SLOPE, 1, 5), -1)
    ces = np.where(np.isin(survey, [2, 3]), _scale(y_ces, _CES_MID, _CES_SLOPE, 1, 7), -1)
    rs.update(nps=nps, csat=csat, ces=ces)
    rs["anonymous"] = (survey == 0) & (rng.random(m) < 0.03)

    # anonymous feedback from the website and the app
    k = rng.poisson(0.35 * n * D / 730.0)
    t = np.sort(rng.random(k) * D)
    y = rng.normal(0.1, 1.1, k)
    anon = {
        "cust": np.full(k, -1),
        "t": t,
        "survey": np.full(k, 4),
        "touch": 4 + _choice(rng, [0.35, 0.25, 0.25, 0.15], k),
        "channel": np.where(rng.random(k) < 0.7, 3, 5),
        "order": np.full(k, -1),
        "case": np.full(k, -1),
        "nps": np.full(k, -1),
        "csat": _scale(y, _CSAT_MID, _CSAT_SLOPE, 1, 5),
        "ces": np.full(k, -1),
        "anonymous": np.ones(k, bool),
    }
    rs = _concat([rs, anon])
    _comments(rng, cu, od, cs, rs, late_c, late_t, width)
    return rs


def _sentiment(rs: Cols) -> np.ndarray:
    nps, csat, ces = rs["nps"], rs["csat"], rs["ces"]
    from_nps = np.where(nps <= 6, NEG, np.where(nps <= 8, NEU, POS))
    from_csat = np.where(csat <= 2, NEG, np.where(csat == 3, NEU, POS))
    from_ces = np.where(ces <= 3, NEG, np.where(ces <= 5, NEU, POS))
    return np.where(nps >= 0, from_nps, np.where(csat >= 0, from_csat, from_ces))


#: what a comment is about when nothing in particular happened, by sentiment
_GENERAL_TOPICS = {
    NEG: (
        [
            T["price_value"],
            T["product_quality"],
            T["website_app"],
            T["slow_support"],
            T["returns"],
            T["product_range"],
            T["late_delivery"],
            T["general"],
        ],
        [0.22, 0.2, 0.14, 0.1, 0.1, 0.1, 0.08, 0.06],
    ),
    NEU: (
        [
            T["price_value"],
            T["product_quality"],
            T["website_app"],
            T["delivery_experience"],
            T["product_range"],
            T["general"],
        ],
        [0.2, 0.2, 0.15, 0.15, 0.1, 0.2],
    ),
    POS: (
        [
            T["helpful_support"],
            T["product_quality"],
            T["delivery_experience"],
            T["price_value"],
            T["website_app"],
            T["product_range"],
            T["general"],
        ],
        [0.18, 0.24, 0.16, 0.14, 0.1, 0.1, 0.08],
    ),
}


def general_topics(rng: np.random.Generator, sentiment: np.ndarray) -> np.ndarray:
    out = np.empty(len(sentiment), dtype=np.int64)
    for sent, (topics, p) in _GENERAL_TOPICS.items():
        rows = np.flatnonzero(sentiment == sent)
        out[rows] = np.asarray(topics)[_choice(rng, p, len(rows))]
    return out


def _comments(
    rng: np.random.Generator,
    cu: Cols,
    od: Cols,
    cs: Cols,
    rs: Cols,
    late_c: np.ndarray,
    late_t: np.ndarray,
    width: float,
) -> None:
    """Choose which responses carry a comment, its topic, sentiment and language."""
    m = len(rs["t"])
    sent = _sentiment(rs)
    survey = rs["survey"]
    p = np.where(sent == NEG, 0.55, np.where(sent == NEU, 0.3, 0.42))
    p = np.where(survey == 4, 0.75, np.where(survey == 3, 0.25, p))
    has = rng.random(m) < p
    topic = general_topics(rng, sent)
    u = rng.random(m)
    known = rs["cust"] >= 0
    c = np.maximum(rs["cust"], 0)
    # a recent late delivery is what unhappy customers talk about
    recent = _decay(late_c, late_t, c, rs["t"], width, 20.0) * known
    topic = np.where((sent != POS) & (u < 0.85 * recent), T["late_delivery"], topic)
    fault_idx = np.flatnonzero(cs["fault"])
    faulty = _decay(cs["cust"][fault_idx], cs["t"][fault_idx], c, rs["t"], width, 45.0) * known
    topic = np.where(u < 0.8 * faulty, T["thermostat_fault"], topic)
    # after a delivery: the delivery
    on_delivery = survey == 1
    late = _get(od["late"], rs["order"], False)
    topic = np.where(
        on_delivery & late & (u < np.where(sent == POS, 0.5, 0.9)), T["late_delivery"], topic
    )
    topic = np.where(
        on_delivery & ~late & (sent == POS) & (u < 0.55), T["delivery_experience"], topic
    )
    # after a case: how it was handled, or what it was about
    on_case = survey == 2
    by_category = np.array(
        [
            T["late_delivery"],
            T["returns"],
            T["product_defect"],
            T["billing"],
            T["general"],
            T["product_range"],
        ]
    )[_get(cs["category"], rs["case"], 0)]
    by_category = np.where(_get(cs["fault"], rs["case"], False), T["thermostat_fault"], by_category)
    slow = (_get(cs["channel"], rs["case"], 0) == 0) | (
        _get(cs["resolution_days"], rs["case"], 0.0) > 2
    )
    handled = np.where(
        sent == POS,
        T["helpful_support"],
        np.where(
            ~_get(cs["fcr"], rs["case"], False) & (u < 0.5),
            T["repeat_contact"],
            np.where(slow, T["slow_support"], T["helpful_support"]),
        ),
    )
    v = rng.random(m)
    topic = np.where(on_case, np.where(v < 0.65, handled, by_category), topic)
    # at checkout and on the website: the website, mostly
    digital = np.isin(survey, [3, 4]) & (v < 0.6)
    topic = np.where(digital, T["website_app"], topic)
    lang = np.where(known, cu["lang"][c], _choice(rng, [0.9, 0.07, 0.03], m))
    lang = np.where((lang > 0) & (rng.random(m) < 0.55), lang, 0)
    rs.update(has_comment=has, topic=topic, sentiment=sent, lang=lang)


# ---------------------------------------------------------------- churn


def _churn(
    rng: np.random.Generator,
    cal: Calendar,
    s: Strengths,
    cu: Cols,
    od: Cols,
    cs: Cols,
    rs: Cols,
    width: float,
) -> None:
    """Draw churn times from a hazard that follows each customer's latest NPS answer."""
    D = float(cal.days)
    n = len(cu["seg"])
    r = np.flatnonzero((rs["cust"] >= 0) & (rs["nps"] >= 0))
    nps = rs["nps"][r]
    mult_r = np.where(
        nps <= 6, s.detractor_hazard, np.where(nps <= 8, s.passive_hazard, s.promoter_hazard)
    )
    seg_c = np.concatenate([np.arange(n), rs["cust"][r]])
    seg_t = np.concatenate([cu["start"], rs["t"][r]])
    seg_m = np.concatenate([np.ones(n), mult_r])
    order = np.lexsort((seg_t, seg_c))
    seg_c, seg_t, seg_m = seg_c[order], seg_t[order], seg_m[order]
    nxt = np.append(seg_t[1:], D)
    last = np.append(seg_c[1:] != seg_c[:-1], True)
    seg_end = np.where(last, D, nxt)
    rate = cu["hazard"][seg_c] * seg_m
    cum = np.cumsum(rate * (seg_end - seg_t))
    before = cum - rate * (seg_end - seg_t)
    firsts = np.flatnonzero(np.append(True, seg_c[1:] != seg_c[:-1]))
    target = before[firsts] + cu["exp1"]
    idx = np.searchsorted(cum, target, side="right")
    lasts = np.append(firsts[1:], len(seg_c)) - 1
    churned = idx <= lasts
    i = np.minimum(idx, len(seg_c) - 1)
    when = seg_t[i] + (target - before[i]) / rate[i]
    when = np.where(churned & (when < D), when, np.nan)
    cu["churned"] = when

    # the stated reason follows what happened before leaving
    who = np.flatnonzero(~np.isnan(when))
    tw = when[who]
    late_c, late_t = _late_experience(od)
    recent_late = _decay(late_c, late_t, who, tw, width, 90.0) > np.exp(-1)
    bad = np.flatnonzero(~cs["fcr"])
    recent_bad = _decay(cs["cust"][bad], cs["t"][bad], who, tw, width, 90.0) > np.exp(-1)
    fl = np.flatnonzero(cs["fault"])
    faulty = _decay(cs["cust"][fl], cs["t"][fl], who, tw, width, 150.0) > np.exp(-1)
    business = cu["seg"][who] > 0
    w = np.column_stack(
        [
            np.full(len(who), 3.0),
            np.full(len(who), 2.5),
            np.full(len(who), 2.2),
            0.6 + 6 * recent_late,
            0.6 + 5 * recent_bad,
            0.8 + 8 * faulty,
            np.where(business, 0.0, 0.5),
            np.where(business, 0.8, 0.0),
        ]
    )
    reason = _choice_rows(rng, w)
    cu["reason"][who] = np.where(rng.random(len(who)) < 0.15, -1, reason)


# ---------------------------------------------------------------- events


def _events(
    rng: np.random.Generator,
    cal: Calendar,
    cu: Cols,
    od: Cols,
    cs: Cols,
    rs: Cols,
    limit: np.ndarray,
) -> Cols:
    D = float(cal.days)
    n = len(cu["seg"])
    parts: list[Cols] = []
    sessions = [0]

    def new_sessions(k: int) -> np.ndarray:
        out = sessions[0] + np.arange(k)
        sessions[0] += k
        return out

    def add(cust, t, tp, channel, journey, session=None, order=None, case=None) -> None:
        k = len(t)
        parts.append(
            {
                "cust": np.asarray(cust, np.int64),
                "t": np.asarray(t, np.float64),
                "tp": np.asarray(np.broadcast_to(tp, (k,)), np.int64),
                "channel": np.asarray(np.broadcast_to(channel, (k,)), np.int64),
                "journey": np.full(k, journey, np.int64),
                "session": np.full(k, -1) if session is None else np.asarray(session, np.int64),
                "order": np.full(k, -1) if order is None else np.asarray(order, np.int64),
                "case": np.full(k, -1) if case is None else np.asarray(case, np.int64),
            }
        )

    # onboarding, for customers who joined during the period
    c = np.flatnonzero(cu["created"] >= 0)
    k = len(c)
    t0 = cu["created"][c]
    ch = np.where(rng.random(k) < 0.6, EC["web"], EC["app"])
    sess = new_sessions(k)
    add(c, t0, TP["account_created"], ch, JR["onboarding"], sess)
    v = rng.random(k) < 0.85
    t1 = t0 + rng.exponential(8 / 1440, k)
    add(c[v], t1[v], TP["email_verified"], EC["email"], JR["onboarding"], sess[v])
    p = v & (rng.random(k) < 0.55)
    add(
        c[p],
        (t1 + rng.exponential(30 / 1440, k))[p],
        TP["profile_completed"],
        ch[p],
        JR["onboarding"],
        sess[p],
    )
    nl = cu["opt_in"][c] & (rng.random(k) < 0.7)
    add(
        c[nl],
        (t0 + rng.uniform(0.5, 3, k) / 1440)[nl],
        TP["newsletter_subscribed"],
        ch[nl],
        JR["onboarding"],
        sess[nl],
    )
    ai = (ch == EC["web"]) & (rng.random(k) < 0.35)
    add(
        c[ai],
        (t0 + rng.exponential(2.0, k))[ai],
        TP["app_installed"],
        EC["app"],
        JR["onboarding"],
        new_sessions(int(ai.sum())),
    )

    # shopping sessions: the ones that ended in an order, and the many that did not
    online = np.flatnonzero(od["channel"] != 2)
    _funnel(
        rng,
        add,
        new_sessions,
        od["cust"][online],
        od["t"][online],
        od["channel"][online],
        depth=None,
        order=online,
    )
    store = np.flatnonzero(od["channel"] == 2)
    sess = new_sessions(len(store))
    add(
        od["cust"][store],
        od["t"][store] - rng.uniform(5, 40, len(store)) / 1440,
        TP["store_visit"],
        EC["store"],
        JR["checkout"],
        sess,
    )
    add(
        od["cust"][store],
        od["t"][store],
        TP["order_placed"],
        EC["store"],
        JR["checkout"],
        sess,
        order=store,
    )
    window = np.maximum(limit - cu["start"], 0)
    count = rng.poisson(cu["rate"] * 1.0 * window)
    cust = np.repeat(np.arange(n), count)
    t = cu["start"][cust] + rng.random(len(cust)) * window[cust]
    t = np.floor(t) + _time_of_day(rng, len(t))
    app_share = np.where(cu["seg"] == 0, rng.uniform(0.2, 0.7, n), 0.05)
    ch = np.where(rng.random(len(t)) < app_share[cust], 1, 0)
    depth = _choice(rng, [0.38, 0.34, 0.14, 0.09, 0.05], len(t))
    _funnel(rng, add, new_sessions, cust, t, ch, depth=depth, order=None)

    # checking on a parcel; late ones get checked again and again
    o = np.flatnonzero((od["fulfil"] == 0) & (od["status"] != 1))
    k = rng.poisson(0.4 + 1.6 * od["late"][o])
    oi = np.repeat(o, k)
    lo = od["t"][oi] + 0.5
    hi = np.where(
        np.isnan(od["delivered"][oi]), np.minimum(od["promised"][oi] + 5, D), od["delivered"][oi]
    )
    t = lo + rng.random(len(oi)) * np.maximum(hi - lo, 0.01)
    ch = _choice(rng, [0.45, 0.35, 0.2], len(oi))
    ch = np.array([EC["app"], EC["web"], EC["email"]])[ch]
    sess = np.where(ch == EC["email"], -1, new_sessions(len(oi)))
    add(od["cust"][oi], t, TP["delivery_tracked"], ch, JR["delivery"], sess, order=oi)

    # support
    k = len(cs["t"])
    case_ch = np.array([EC["email"], EC["chat"], EC["phone"], EC["web"], EC["social"]])[
        cs["channel"]
    ]
    ci = np.arange(k)
    online_case = np.isin(case_ch, [EC["web"], EC["chat"]])
    sess = np.where(online_case, new_sessions(k), -1)
    hc = rng.random(k) < 0.4
    hc_sess = np.where(online_case, sess, new_sessions(k))
    add(
        cs["cust"][hc],
        (cs["t"] - rng.exponential(15 / 1440, k))[hc],
        TP["help_center_visited"],
        EC["web"],
        JR["support"],
        hc_sess[hc],
        case=ci[hc],
    )
    add(cs["cust"], cs["t"], TP["case_opened"], case_ch, JR["support"], sess, case=ci)
    extra = cs["contacts"] - 1
    fi = np.repeat(ci, extra)
    lo = np.nan_to_num(cs["first_response"][fi], nan=cs["t"][fi])
    hi = np.nan_to_num(cs["resolved"][fi], nan=D)
    add(
        cs["cust"][fi],
        lo + rng.random(len(fi)) * np.maximum(hi - lo, 0),
        TP["follow_up_contact"],
        case_ch[fi],
        JR["support"],
        case=fi,
    )
    solved = ~np.isnan(cs["resolved"])
    ro = solved & cs["reopened"]
    add(
        cs["cust"][ro],
        (cs["t"] + 0.7 * (cs["resolved"] - cs["t"]))[ro],
        TP["case_reopened"],
        case_ch[ro],
        JR["support"],
        case=ci[ro],
    )
    add(
        cs["cust"][solved],
        cs["resolved"][solved],
        TP["case_resolved"],
        case_ch[solved],
        JR["support"],
        case=ci[solved],
    )

    # answering a survey
    r = np.flatnonzero(rs["cust"] >= 0)
    resp_ch = np.array([EC["email"], EC["chat"], EC["phone"], EC["web"], EC["social"], EC["app"]])[
        rs["channel"][r]
    ]
    add(
        rs["cust"][r],
        rs["t"][r],
        TP["survey_completed"],
        resp_ch,
        JR["feedback"],
        order=rs["order"][r],
        case=rs["case"][r],
    )

    # marketing email
    opted = np.flatnonzero(cu["opt_in"])
    count = rng.poisson(0.35 / _MONTH * window[opted])
    cust = np.repeat(opted, count)
    t = cu["start"][cust] + rng.random(len(cust)) * window[cust]
    t = np.floor(t) + _time_of_day(rng, len(t))
    add(cust, t, TP["email_opened"], EC["email"], JR["marketing"])
    clicked = rng.random(len(t)) < 0.25
    add(
        cust[clicked],
        t[clicked] + rng.exponential(3 / 1440, int(clicked.sum())),
        TP["email_clicked"],
        EC["email"],
        JR["marketing"],
    )

    # closing the account
    gone = np.flatnonzero(~np.isnan(cu["churned"]) & (rng.random(n) < 0.6))
    add(
        gone,
        cu["churned"][gone],
        TP["account_closed"],
        np.where(rng.random(len(gone)) < 0.7, EC["web"], EC["phone"]),
        JR["account"],
    )

    ev = _concat(parts)
    created = cu["created"][ev["cust"]]
    keep = (ev["t"] <= limit[ev["cust"]]) & (ev["t"] < D) & (ev["t"] >= np.maximum(created, 0))
    ev = _take(ev, np.flatnonzero(keep))
    ev = _take(ev, np.argsort(ev["t"], kind="stable"))
    # number sessions in order of their first event
    has = ev["session"] >= 0
    ids, first_seen = np.unique(ev["session"][has], return_index=True)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(first_seen, kind="stable")] = np.arange(len(ids))
    ev["session"][has] = rank[np.searchsorted(ids, ev["session"][has])]
    return ev


#: steps of a shopping session: entry, up to three product views, cart, checkout,
#: payment, failed payment, order
_STEPS = np.array(
    [
        -1,
        TP["product_viewed"],
        TP["product_viewed"],
        TP["product_viewed"],
        TP["added_to_cart"],
        TP["checkout_started"],
        TP["payment_submitted"],
        TP["payment_failed"],
        TP["order_placed"],
    ]
)
_STEP_GAP_MIN = np.array([0.0, 0.7, 1.2, 1.2, 1.5, 2.5, 2.0, 0.2, 0.3])


def _funnel(rng, add, new_sessions, cust, t, channel, *, depth, order) -> None:
    """Shopping sessions as events; ``depth`` None means each session ended in an order at ``t``.

    ``depth`` 0 leaves after the landing page, 1 after viewing, 2 after the cart,
    3 after starting checkout, 4 after a failed payment.
    """
    k = len(t)
    if not k:
        return
    views = 1 + rng.binomial(2, 0.25, k)
    step = np.arange(len(_STEPS))
    mask = np.zeros((k, len(_STEPS)), dtype=bool)
    mask[:, 0] = True
    mask[:, 1:4] = step[None, 1:4] <= views[:, None]
    if depth is None:
        mask[:, [4, 5, 6, 8]] = True
    else:
        mask[:, 1:4] &= (depth >= 1)[:, None]
        mask[:, 4] = depth >= 2
        mask[:, 5] = depth >= 3
        mask[:, 6] = mask[:, 7] = depth >= 4
    gaps = rng.exponential(1.0, (k, len(_STEPS))) * _STEP_GAP_MIN / 1440 * mask
    offset = np.cumsum(gaps, axis=1)
    start = t - offset[:, -1] if depth is None else t
    times = start[:, None] + offset
    entry = np.where(channel == 1, TP["app_opened"], TP["visit_site"])
    codes = np.where(step[None, :] == 0, entry[:, None], _STEPS[None, :])
    ch = np.array([EC["web"], EC["app"]])[channel]
    sess = new_sessions(k)
    rows, cols = np.nonzero(mask)
    ord_ref = None
    if order is not None:
        ord_ref = np.where(cols == len(_STEPS) - 1, order[rows], -1)
    add(
        cust[rows],
        times[rows, cols],
        codes[rows, cols],
        ch[rows],
        JR["checkout"],
        sess[rows],
        order=ord_ref,
    )


# ---------------------------------------------------------------- mentions


def _mentions(
    rng: np.random.Generator, cal: Calendar, cu: Cols, od: Cols, cs: Cols, rs: Cols
) -> Cols:
    D = float(cal.days)
    n = len(cu["seg"])
    parts: list[Cols] = []

    def add(cust, t, topic, sent, platform_p) -> None:
        k = len(t)
        parts.append(
            {
                "cust": np.asarray(cust, np.int64),
                "t": np.asarray(t, np.float64),
                "topic": np.asarray(np.broadcast_to(topic, (k,)), np.int64),
                "sentiment": np.asarray(np.broadcast_to(sent, (k,)), np.int64),
                "platform": _choice(rng, platform_p, k),
            }
        )

    social = [0.45, 0.2, 0.05, 0.1, 0.15, 0.05, 0.0]
    reviews = [0.0, 0.05, 0.0, 0.0, 0.45, 0.35, 0.15]
    late_c, late_t = _late_experience(od)
    pick = rng.random(len(late_c)) < 0.03
    add(
        late_c[pick],
        late_t[pick] + rng.exponential(1.0, int(pick.sum())),
        T["late_delivery"],
        NEG,
        social,
    )
    f = np.flatnonzero(cs["fault"] & (rng.random(len(cs["t"])) < 0.3))
    add(
        cs["cust"][f],
        cs["t"][f] + rng.exponential(2.0, len(f)),
        T["thermostat_fault"],
        NEG,
        [0.35, 0.15, 0.0, 0.25, 0.15, 0.05, 0.05],
    )
    known = rs["cust"] >= 0
    for sent, p, platforms in ((POS, 0.04, reviews), (NEG, 0.05, social)):
        r = np.flatnonzero(
            known & (rs["sentiment"] == sent) & (rs["nps"] >= 0) & (rng.random(len(rs["t"])) < p)
        )
        topic = np.where(
            rs["has_comment"][r], rs["topic"][r], general_topics(rng, np.full(len(r), sent))
        )
        add(rs["cust"][r], rs["t"][r] + rng.exponential(3.0, len(r)), topic, sent, platforms)
    k = rng.poisson(0.15 * n * D / 730.0)
    sent = _choice(rng, [0.3, 0.25, 0.45], k)
    add(
        np.full(k, -1),
        rng.random(k) * D,
        general_topics(rng, sent),
        sent,
        [0.3, 0.15, 0.1, 0.1, 0.15, 0.15, 0.05],
    )
    mn = _concat(parts)
    mn = _take(mn, np.flatnonzero(mn["t"] < D))
    m = len(mn["t"])
    # about two thirds of the posts by customers can be matched to them
    mn["cust"] = np.where(rng.random(m) < 0.65, mn["cust"], -1)
    kind = PLATFORM_KIND[mn["platform"]]
    sent = mn["sentiment"]
    stars = np.where(
        sent == NEG,
        np.where(rng.random(m) < 0.7, 1, 2),
        np.where(
            sent == NEU, _choice(rng, [0.25, 0.5, 0.25], m) + 2, np.where(rng.random(m) < 0.7, 5, 4)
        ),
    )
    mn["rating"] = np.where(kind == 1, stars, -1)
    mn["likes"] = rng.negative_binomial(0.6, np.where(sent == NEG, 0.08, 0.15), m)
    known = mn["cust"] >= 0
    lang = np.where(
        known, cu["lang"][np.maximum(mn["cust"], 0)], _choice(rng, [0.9, 0.07, 0.03], m)
    )
    mn["lang"] = np.where((lang > 0) & (rng.random(m) < 0.5), lang, 0)
    mn["kind"] = kind
    return mn
