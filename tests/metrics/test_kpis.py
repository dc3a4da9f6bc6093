"""Every KPI equals an independent pandas computation on the same data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cxray import stats


def _score(card, metric, **slices):
    return card.get(metric, **slices).result


@pytest.fixture(scope="module")
def card(demo):
    return demo.scorecard()


def test_nps_csat_ces(card, frames):
    r = frames["responses"]
    x = r.nps.dropna()
    expected = 100 * ((x >= 9).mean() - (x <= 6).mean())
    got = _score(card, "nps")
    assert got.n == len(x) and math.isclose(got.estimate, expected)
    ref = stats.nps(int((x >= 9).sum()), int(x.between(7, 8).sum()), int((x <= 6).sum()))
    assert (got.ci_low, got.ci_high) == pytest.approx((ref.ci_low, ref.ci_high))
    c = r.csat.dropna()
    assert _score(card, "csat").estimate == pytest.approx(100 * (c >= 4).mean())
    e = r.ces.dropna()
    assert _score(card, "ces_mean").estimate == pytest.approx(e.mean())
    lo, hi = e.mean() - 1.96 * e.std() / len(e) ** 0.5, e.mean() + 1.96 * e.std() / len(e) ** 0.5
    assert _score(card, "ces_mean").ci_low == pytest.approx(lo, abs=0.01)
    assert _score(card, "ces_mean").ci_high == pytest.approx(hi, abs=0.01)
    assert _score(card, "ces_easy").estimate == pytest.approx(100 * (e >= 5).mean())


def test_support_kpis(card, frames):
    k = frames["cases"]
    solved = k[k.resolved_at.notna()]
    fcr = (solved.contacts == 1) & ~solved.reopened.fillna(False).astype(bool)
    got = _score(card, "fcr")
    assert got.n == len(solved) and got.estimate == pytest.approx(100 * fcr.mean())
    replied = k[k.first_response_at.notna()]
    hours = (replied.first_response_at - replied.opened_at).dt.total_seconds() / 3600
    assert _score(card, "first_response_mean").estimate == pytest.approx(hours.mean())
    med = _score(card, "first_response_median")
    ref = stats.median(hours.to_numpy())
    assert (med.estimate, med.ci_low, med.ci_high, med.n) == pytest.approx(
        (ref.estimate, ref.ci_low, ref.ci_high, ref.n)
    )
    res = (solved.resolved_at - solved.opened_at).dt.total_seconds() / 3600
    assert _score(card, "resolution_mean").estimate == pytest.approx(res.mean())
    assert _score(card, "resolution_median").estimate == pytest.approx(np.median(res))


def test_checkout_journey(card, frames, demo):
    e = frames["events"]
    j = demo.config.journeys["checkout"]
    window = pd.Timedelta(hours=j.window_hours)
    starts = e[e.touchpoint == j.start]
    starts = starts[starts.timestamp + window <= e.timestamp.max()]
    done = e[e.touchpoint == j.success][["customer_id", "timestamp"]]
    m = starts.merge(done, on="customer_id", how="left", suffixes=("", "_s"))
    ok = (m.timestamp_s >= m.timestamp) & (m.timestamp_s <= m.timestamp + window)
    completed = ok.groupby(m.event_id).any()
    got = _score(card, "completion:checkout")
    assert got.n == len(starts) and got.estimate == pytest.approx(100 * completed.mean())
    ab = _score(card, "abandonment:checkout")
    assert ab.estimate == pytest.approx(100 - got.estimate)


def test_business_kpis(card, frames):
    c, o = frames["customers"], frames["orders"]
    starts = [
        frames[t][col].min()
        for t, col in (
            ("responses", "submitted_at"),
            ("cases", "opened_at"),
            ("orders", "ordered_at"),
            ("events", "timestamp"),
        )
    ]
    start, end = (
        min(starts),
        max(
            frames[t][col].max()
            for t, col in (
                ("responses", "submitted_at"),
                ("cases", "opened_at"),
                ("orders", "ordered_at"),
                ("events", "timestamp"),
            )
        ),
    )
    active = (c.created_at < start) & (c.churned_at.isna() | (c.churned_at >= start))
    churned = active & (c.churned_at <= end)
    got = _score(card, "churn_rate")
    assert got.n == active.sum() and got.estimate == pytest.approx(
        100 * churned.sum() / active.sum()
    )
    ch = c.acquisition_channel.dropna()
    assert _score(card, "referral_rate").estimate == pytest.approx(100 * (ch == "referral").mean())
    rev = o[~o.status.isin(["cancelled", "returned"])]
    per = rev.groupby("customer_id").amount.sum().astype(float)
    got = _score(card, "revenue_per_customer")
    assert got.n == len(per) and got.estimate == pytest.approx(per.mean())
    clv = c.customer_id.map(per).fillna(0.0)
    assert _score(card, "clv").estimate == pytest.approx(clv.mean())


def test_health_is_a_bounded_score_of_active_customers(card, frames):
    h = _score(card, "health")
    c = frames["customers"]
    assert 0 < h.estimate < 100 and h.ci_low < h.estimate < h.ci_high
    assert h.n <= len(c) and h.n >= (c.churned_at.isna()).sum()


def test_slice_by_imported_attribute_and_customer_join(demo, frames):
    card = demo.scorecard(by=["age_band"], metrics=["nps"])
    r = frames["responses"].merge(
        frames["customers"][["customer_id", "age_band"]], on="customer_id", how="left"
    )
    r = r[r.nps.notna()]
    for band, g in r.groupby(r.age_band.fillna("(none)")):
        label = None if band == "(none)" else band
        s = card.get("nps", age_band=label).result
        assert s.n == len(g)
        assert s.estimate == pytest.approx(100 * ((g.nps >= 9).mean() - (g.nps <= 6).mean()))


def test_period_bucketing(demo, frames):
    card = demo.scorecard(period="month", metrics=["nps", "first_response_median"])
    r = frames["responses"]
    r = r[r.nps.notna()]
    counts = r.groupby(r.submitted_at.dt.strftime("%Y-%m")).size()
    got = {s.slices["period"]: s.result.n for s in card if s.metric == "nps"}
    assert got == counts.to_dict()
    weeks = demo.scorecard(period="week", metrics=["nps"])
    mondays = r.submitted_at.dt.normalize() - pd.to_timedelta(r.submitted_at.dt.day_of_week, "D")
    assert {s.slices["period"]: s.result.n for s in weeks} == (
        r.groupby(mondays.dt.strftime("%Y-%m-%d")).size().to_dict()
    )


def test_window_filters_inclusively(demo, frames):
    card = demo.scorecard(start="2026-06-01", end="2026-06-30", metrics=["nps"])
    r = frames["responses"]
    inside = r[(r.submitted_at >= "2026-06-01") & (r.submitted_at < "2026-07-01")].nps.dropna()
    assert card.get("nps").result.n == len(inside)


def test_slow_email_support_is_found(demo):
    card = demo.scorecard(by=["channel"], metrics=["first_response_median"])
    med = {s.slices["channel"]: s.result for s in card}
    email = med["email"]
    others = max(v.ci_high for k, v in med.items() if k != "email" and not v.suppressed)
    assert email.ci_low > others  # the intervals do not even overlap


def test_nps_group_slices_revenue_and_churn(demo):
    card = demo.scorecard(by=["nps_group"], metrics=["revenue_per_customer", "churn_rate"])
    groups = {s.slices["nps_group"] for s in card}
    assert {"promoter", "passive", "detractor"} <= groups
    churn = {s.slices["nps_group"]: s.result for s in card if s.metric == "churn_rate"}
    assert churn["detractor"].estimate > churn["promoter"].estimate
