"""Every planted effect of the demo world is there, with the right sign, above the noise.

Each statistic is computed here from the tables alone, with pandas, the way an
analyst would find it; nothing is read from the simulation's internals.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cxray.demo import World

DAY = pd.Timedelta(days=1)


def _nps(scores: pd.Series) -> float:
    return 100.0 * ((scores >= 9).mean() - (scores <= 6).mean())


def late_delivery_gap(w: World, column: str = "nps", window_days: int = 30) -> float:
    """Mean answer within ``window_days`` after a late delivery minus the mean otherwise."""
    o = w.orders.select(["customer_id", "promised_at", "delivered_at"]).to_pandas()
    late = o[o.delivered_at > o.promised_at][["customer_id", "delivered_at"]]
    late = late.sort_values("delivered_at")
    r = w.responses.select(["customer_id", "submitted_at", column]).to_pandas()
    r = r.dropna(subset=["customer_id", column]).sort_values("submitted_at")
    m = pd.merge_asof(
        r,
        late,
        left_on="submitted_at",
        right_on="delivered_at",
        by="customer_id",
        direction="backward",
    )
    after = (m.submitted_at - m.delivered_at) <= window_days * DAY
    return float(m.loc[after, column].mean() - m.loc[~after, column].mean())


def fault_spike(w: World) -> tuple[float, str, float, float]:
    """(ratio of product_defect cases in the peak month to the median month, peak month,
    share of faulty_battery_batch in that month, thermostat mentions ratio)."""
    c = w.cases.select(["opened_at", "category", "root_cause"]).to_pandas()
    c["month"] = c.opened_at.dt.strftime("%Y-%m")
    defects = c[c.category == "product_defect"].groupby("month").size()
    peak = str(defects.idxmax())
    ratio = float(defects.max() / defects.drop(peak).median())
    in_peak = c[(c.month == peak) & (c.category == "product_defect")]
    share = float((in_peak.root_cause == "faulty_battery_batch").mean())
    mt = w.mentions.select(["posted_at", "text"]).to_pandas()
    mt["month"] = mt.posted_at.dt.strftime("%Y-%m")
    thermo = mt[mt.text.str.contains("Glow 2|thermostat", case=False)].groupby("month").size()
    thermo = thermo.reindex(sorted(set(mt.month)), fill_value=0)
    mention_ratio = float(thermo.get(peak, 0) / max(thermo.drop(peak).median(), 1.0))
    return ratio, peak, share, mention_ratio


def _support_answers(w: World) -> pd.DataFrame:
    r = w.responses.select(["case_id", "csat", "ces"]).to_pandas().dropna(subset=["case_id"])
    c = w.cases.select(["case_id", "channel", "contacts", "reopened"]).to_pandas()
    return r.merge(c, on="case_id")


def email_slowness(w: World) -> tuple[float, float, float]:
    """Email against the slowest other channel: (first-response median ratio, resolution
    median ratio), and the CSAT difference email - other channels."""
    c = w.cases.select(["channel", "opened_at", "first_response_at", "resolved_at"]).to_pandas()
    c["frt"] = (c.first_response_at - c.opened_at) / pd.Timedelta(hours=1)
    c["res"] = (c.resolved_at - c.opened_at) / pd.Timedelta(hours=1)
    med = c.groupby("channel")[["frt", "res"]].median()
    others = med.drop("email").max()
    s = _support_answers(w)
    csat_gap = s[s.channel == "email"].csat.mean() - s[s.channel != "email"].csat.mean()
    return (
        float(med.loc["email", "frt"] / others["frt"]),
        float(med.loc["email", "res"] / others["res"]),
        float(csat_gap),
    )


def detractor_churn_ratio(w: World, window_days: int = 90) -> float:
    """90-day churn after a detractor answer divided by the same after a promoter answer."""
    r = w.responses.select(["customer_id", "submitted_at", "nps"]).to_pandas()
    r = r.dropna(subset=["customer_id", "nps"])
    r = r[r.submitted_at <= pd.Timestamp(w.end) - window_days * DAY]
    cu = w.customers.select(["customer_id", "churned_at"]).to_pandas()
    r = r.merge(cu, on="customer_id")
    gone = (r.churned_at > r.submitted_at) & (r.churned_at <= r.submitted_at + window_days * DAY)
    return float(gone[r.nps <= 6].mean() / gone[r.nps >= 9].mean())


def fcr_csat_gap(w: World) -> float:
    s = _support_answers(w)
    fcr = (s.contacts == 1) & ~s.reopened.astype(bool)
    return float(s[fcr].csat.mean() - s[~fcr].csat.mean())


def referral_gaps(w: World) -> tuple[float, float]:
    """(NPS answer difference referral - others, and among consumers the ratio of mean spend
    per month of tenure, referral / others)."""
    cu = w.customers.select(
        ["customer_id", "created_at", "churned_at", "acquisition_channel", "segment"]
    ).to_pandas()
    ref = cu.set_index("customer_id").acquisition_channel == "referral"
    r = w.responses.select(["customer_id", "nps"]).to_pandas().dropna()
    r_ref = r.customer_id.map(ref)
    nps_gap = r[r_ref].nps.mean() - r[~r_ref].nps.mean()
    o = w.orders.select(["customer_id", "amount", "status"]).to_pandas()
    o = o[o.status != "cancelled"]
    spend = o.groupby("customer_id").amount.sum().astype(float)
    cu = cu[cu.segment == "consumer"]
    start = np.maximum(cu.created_at, pd.Timestamp(w.start))
    stop = cu.churned_at.fillna(pd.Timestamp(w.end) + DAY)
    months = ((stop - start) / (30.44 * DAY)).clip(lower=1.0)
    per_month = cu.customer_id.map(spend).fillna(0.0) / months
    is_ref = cu.acquisition_channel == "referral"
    return float(nps_gap), float(per_month[is_ref].mean() / per_month[~is_ref].mean())


def seasonality_ratio(w: World) -> float:
    """Orders per active customer-month in November and December over the other months."""
    o = w.orders.select(["ordered_at"]).to_pandas()
    cu = w.customers.select(["created_at", "churned_at"]).to_pandas()
    months = pd.period_range(pd.Timestamp(w.start), pd.Timestamp(w.end), freq="M")
    counts = o.ordered_at.dt.to_period("M").value_counts()
    rates = {}
    for p in months:
        a, b = p.start_time, p.end_time
        active = ((cu.created_at <= b) & (cu.churned_at.isna() | (cu.churned_at >= a))).sum()
        rates[p] = counts.get(p, 0) / max(active, 1)
    peak = [v for p, v in rates.items() if p.month in (11, 12)]
    rest = [v for p, v in rates.items() if p.month not in (11, 12)]
    return float(np.mean(peak) / np.mean(rest))


def region_trend(w: World, region: str = "Southwest") -> tuple[float, float]:
    """(NPS change last third - first third in ``region``, the same for the other regions)."""
    r = w.responses.select(["customer_id", "submitted_at", "nps"]).to_pandas().dropna()
    cu = w.customers.select(["customer_id", "region"]).to_pandas()
    r = r.merge(cu, on="customer_id")
    lo, hi = pd.Timestamp(w.start), pd.Timestamp(w.end) + DAY
    third = (hi - lo) / 3
    first = r.submitted_at < lo + third
    last = r.submitted_at >= hi - third
    mine = r.region == region
    return (
        _nps(r[mine & last].nps) - _nps(r[mine & first].nps),
        _nps(r[~mine & last].nps) - _nps(r[~mine & first].nps),
    )


def carrier_late_ratio(w: World) -> float:
    o = w.orders.select(["carrier", "promised_at", "delivered_at"]).to_pandas().dropna()
    late = (o.delivered_at > o.promised_at).groupby(o.carrier).mean()
    return float(late["ParcelWing"] / late["SwiftLane"])


# ---------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def world(small_world: World) -> World:
    return small_world


def _floor(world: World, name: str) -> float:
    return world.effect(name).at_least


def test_late_delivery_depresses_following_scores(world: World) -> None:
    gap = late_delivery_gap(world, "nps")
    assert gap < _floor(world, "late_delivery_hurts_scores") < 0
    assert late_delivery_gap(world, "csat") < -0.4


def test_product_fault_spikes_in_its_month(world: World) -> None:
    effect = world.effect("product_fault_spike")
    ratio, peak, share, mentions = fault_spike(world)
    assert peak == effect.details["month"]
    assert ratio > effect.at_least
    assert share > 0.5
    assert mentions > 2.0


def test_email_support_is_slow_and_scores_lower(world: World) -> None:
    frt, res, csat_gap = email_slowness(world)
    assert frt > _floor(world, "slow_email_support")
    assert res > 1.3
    assert csat_gap < -0.2


def test_detractors_churn_more(world: World) -> None:
    assert detractor_churn_ratio(world) > _floor(world, "detractors_churn")


def test_first_contact_resolution_lifts_csat(world: World) -> None:
    assert fcr_csat_gap(world) > _floor(world, "first_contact_resolution_lifts_csat")


def test_referral_customers_score_and_spend_more(world: World) -> None:
    nps_gap, spend_ratio = referral_gaps(world)
    assert nps_gap > _floor(world, "referrals_are_better_customers")
    assert spend_ratio > 1.15


def test_orders_peak_in_the_holidays(world: World) -> None:
    assert seasonality_ratio(world) > _floor(world, "holiday_seasonality")


def test_one_region_improves(world: World) -> None:
    mine, others = region_trend(world)
    assert mine > _floor(world, "region_nps_trend")
    assert abs(others) < mine / 2


def test_one_carrier_runs_late(world: World) -> None:
    assert carrier_late_ratio(world) > _floor(world, "parcelwing_runs_late")


def test_every_effect_is_described(world: World) -> None:
    names = {e.name for e in world.effects}
    assert len(names) == len(world.effects) >= 6
    for e in world.effects:
        assert e.description and e.statistic and e.tables and e.columns
        assert e.direction in ("increase", "decrease")
        assert (e.expected > e.at_least) if e.direction == "increase" else (e.expected < e.at_least)
        for col in e.columns:
            table, column = col.split(".")
            assert column in world.tables()[table].column_names, col
    month = dt.date.fromisoformat(world.effect("product_fault_spike").details["month"] + "-01")
    assert world.start <= month <= world.end
