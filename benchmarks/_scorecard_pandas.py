"""A straightforward pandas scorecard: the same numbers by segment x month, in data frames.

What an analyst would write: load the columns the KPIs need from the store into
data frames, join each table to the customers' segment, and group by segment
and month (``merge_asof`` for the journey: each start's next success of the
same customer). Same definitions as ``docs/metrics.md`` for the default program.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

__all__ = ["load", "scorecard_pandas"]

Key = tuple[str, Any, str]

#: the group of rows without a segment (pandas drops NaN group keys)
MISSING = "\x00"

COLUMNS = {
    "customers": ["customer_id", "segment", "created_at", "churned_at", "acquisition_channel"],
    "responses": ["customer_id", "submitted_at", "nps", "csat", "ces"],
    "cases": [
        "customer_id",
        "opened_at",
        "first_response_at",
        "resolved_at",
        "contacts",
        "reopened",
    ],
    "orders": ["customer_id", "ordered_at", "amount", "status"],
    "events": ["event_id", "customer_id", "timestamp", "touchpoint"],
}


def load(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The tables' needed columns as pandas frames (amounts as floats)."""
    out = {}
    for name, cols in COLUMNS.items():
        df = con.execute(f"SELECT {', '.join(cols)} FROM {name}").df()
        if name == "orders":
            df["amount"] = df["amount"].astype(float)
        out[name] = df
    return out


def business_hours(a: pd.Series, b: pd.Series, calendar: tuple[int, int, tuple[int, ...]]):
    """Business hours from ``a`` to ``b`` (UTC, no holidays), vectorized with NumPy."""
    s0, s1, days = calendar
    before = np.array([sum(1 for w in range(i) if w in days) for i in range(7)])

    def parts(ts: pd.Series):
        secs = ts.to_numpy("datetime64[s]").astype(np.int64)
        day = secs // 86400
        wd = (day + 3) % 7
        count = (day + 3) // 7 * len(days) + before[wd]
        clock = np.clip(secs - day * 86400, s0, s1) - s0
        return count, np.isin(wd, days).astype(np.int64), clock

    (ca, oa, ta), (cb, ob, tb) = parts(a), parts(b)
    return pd.Series(((cb - ca) * (s1 - s0) - oa * ta + ob * tb) / 3600.0, index=a.index)


def scorecard_pandas(
    frames: dict[str, pd.DataFrame],
    journey: tuple[str, str, float],
    calendar: tuple[int, int, tuple[int, ...]],
) -> dict[Key, tuple[int, float]]:
    """``{(metric, segment, 'YYYY-MM'): (n, estimate)}``."""
    c = frames["customers"]
    seg = c.set_index("customer_id")["segment"]
    out: dict[Key, tuple[int, float]] = {}

    def month(ts: pd.Series) -> pd.Series:
        return ts.dt.strftime("%Y-%m")

    def put(metric: str, grouped: pd.DataFrame) -> None:
        for (s, m), row in grouped.iterrows():
            if row["n"]:
                out[(metric, None if s == MISSING else s, m)] = (int(row["n"]), float(row["est"]))

    def by_segment(df: pd.DataFrame, ts: pd.Series) -> list[pd.Series]:
        return [df["customer_id"].map(seg).fillna(MISSING), month(ts)]

    first = min(
        frames[t][col].min()
        for t, col in (
            ("responses", "submitted_at"),
            ("cases", "opened_at"),
            ("orders", "ordered_at"),
            ("events", "timestamp"),
        )
    )
    last = max(
        frames[t][col].max()
        for t, col in (
            ("responses", "submitted_at"),
            ("cases", "opened_at"),
            ("orders", "ordered_at"),
            ("events", "timestamp"),
        )
    )

    # surveys
    r = frames["responses"]
    for metric, col, value in (
        ("nps", "nps", lambda x: 100.0 * ((x >= 9).astype(int) - (x <= 6).astype(int))),
        ("csat", "csat", lambda x: 100.0 * x.between(4, 5)),
        ("ces_mean", "ces", lambda x: x.astype(float)),
        ("ces_easy", "ces", lambda x: 100.0 * x.between(5, 7)),
    ):
        sub = r[r[col].notna()]
        v = value(sub[col])
        g = v.groupby(by_segment(sub, sub.submitted_at)).agg(n="count", est="mean")
        put(metric, g)

    # support
    k = frames["cases"]
    solved = k[k.resolved_at.notna()]
    reopened = solved.reopened.fillna(False).astype(bool)
    ok = np.where(solved.contacts.isna(), ~reopened, (solved.contacts == 1) & ~reopened)
    g = (
        (100.0 * pd.Series(ok, index=solved.index))
        .groupby(by_segment(solved, solved.opened_at))
        .agg(n="count", est="mean")
    )
    put("fcr", g)
    for name, col in (("first_response", "first_response_at"), ("resolution", "resolved_at")):
        sub = k[k[col].notna() & (k[col] >= k.opened_at)]
        hours = (sub[col] - sub.opened_at).dt.total_seconds() / 3600.0
        grouped = hours.groupby(by_segment(sub, sub.opened_at))
        put(f"{name}_mean", grouped.agg(n="count", est="mean"))
        put(f"{name}_median", grouped.agg(n="count", est="median"))
    sub = k[k.resolved_at.notna() & (k.resolved_at >= k.opened_at)]
    grouped = business_hours(sub.opened_at, sub.resolved_at, calendar).groupby(
        by_segment(sub, sub.opened_at)
    )
    put("resolution_business_mean", grouped.agg(n="count", est="mean"))
    put("resolution_business_median", grouped.agg(n="count", est="median"))

    # journey: each start's next success of the same customer, within the window
    start_tp, success_tp, hours = journey
    window = pd.Timedelta(seconds=round(hours * 3600))
    e = frames["events"]
    starts = e[(e.touchpoint == start_tp) & (e.timestamp + window <= e.timestamp.max())]
    starts = starts[["event_id", "customer_id", "timestamp"]]
    done = e[e.touchpoint == success_tp][["customer_id", "timestamp"]]
    done = done.rename(columns={"timestamp": "done_at"}).dropna(subset=["customer_id"])
    known = starts[starts.customer_id.notna()].sort_values("timestamp")
    nxt = pd.merge_asof(
        known,
        done.sort_values("done_at"),
        left_on="timestamp",
        right_on="done_at",
        by="customer_id",
        direction="forward",
    )
    completed = set(nxt.event_id[nxt.done_at.notna() & (nxt.done_at <= nxt.timestamp + window)])
    flag = 100.0 * starts.event_id.isin(completed)
    g = flag.groupby(by_segment(starts, starts.timestamp)).agg(n="count", est="mean")
    put("completion:checkout", g)
    put("abandonment:checkout", g.assign(est=100.0 - g.est))

    # churn: customers at risk at the start of each month
    cseg = c.segment.fillna(MISSING)
    for ps in pd.date_range(first.to_period("M").to_timestamp(), last, freq="MS"):
        pe = ps + pd.offsets.MonthBegin(1)
        risk = (c.created_at < ps) & (c.churned_at.isna() | (c.churned_at >= ps))
        gone = risk & (c.churned_at < pe)
        g = pd.DataFrame({"n": risk, "x": gone}).groupby(cseg).sum()
        for s, row in g.iterrows():
            if row.n:
                key = ("churn_rate", None if s == MISSING else s, ps.strftime("%Y-%m"))
                out[key] = (int(row.n), 100.0 * row.x / row.n)

    # business
    new = c[c.acquisition_channel.notna() & (c.created_at >= first)]
    ref = 100.0 * (new.acquisition_channel.str.lower() == "referral")
    g = ref.groupby([new.segment.fillna(MISSING), month(new.created_at)]).agg(n="count", est="mean")
    put("referral_rate", g)
    o = frames["orders"]
    o = o[~o.status.fillna("").str.lower().isin(["cancelled", "returned"])]
    known = o[o.customer_id.notna()]
    per = known.groupby([*by_segment(known, known.ordered_at), known.customer_id]).amount.sum()
    g = per.groupby(level=[0, 1]).agg(n="count", est="mean")
    put("revenue_per_customer", g)
    spend = o.groupby("customer_id").amount.sum()
    joined = c[c.created_at >= first]
    life = joined.customer_id.map(spend).fillna(0.0)
    g = life.groupby([joined.segment.fillna(MISSING), month(joined.created_at)]).agg(
        n="count", est="mean"
    )
    put("clv", g)
    return out
