"""The money of CX on a small demo world (detractors planted to churn ~3x as fast as
promoters): churn cost and CLV by NPS group, revenue at risk, the what-if and the ROI.

Numbers are checked against an independent pandas computation from the raw tables;
properties: a what-if of 0 % is 0, it scales linearly with the share, every interval
contains its estimate, the same seed gives the same intervals.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cxray.exceptions import AnalysisError
from cxray.value._money import GROUPS, Money, money_text
from cxray.workspace import Workspace
from tests._backends import POSTGRES_URL, assert_same, fresh_postgres, needs_postgres

if os.environ.get("CI") and not POSTGRES_URL:
    pytest.fail("CXRAY_TEST_POSTGRES_URL is not set under CI", pytrace=False)

WORLD = {"seed": 3, "customers": 6000, "months": 12}
HORIZON = 180


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("money") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo(**WORLD)
        yield ws


def _money(ws: Workspace, **kw) -> Money:
    value = SimpleNamespace(store=ws.store, config=ws.config, lock=ws.write_lock)
    return Money(value, **kw)


@pytest.fixture(scope="module")
def money(world):
    return _money(world, n_boot=400)


@pytest.fixture(scope="module")
def groups(money):
    return money.by_nps_group(horizon_days=HORIZON)


def _contains(e) -> bool:
    return e.ci_low <= e.estimate <= e.ci_high


def _reference(ws: Workspace, at: dt.datetime, horizon: float) -> pd.DataFrame:
    """Per active customer, from the raw tables in pandas: group, revenue, churned."""
    c = ws.table("customers").to_pandas()
    r = ws.table("responses").to_pandas()
    o = ws.table("orders").to_pandas()
    naive = lambda s: pd.to_datetime(s).dt.tz_localize(None)  # noqa: E731
    c["created_at"], c["churned_at"] = naive(c.created_at), naive(c.churned_at)
    r["submitted_at"], o["ordered_at"] = naive(r.submitted_at), naive(o.ordered_at)
    c = c[(c.created_at < at) & (c.churned_at.isna() | (c.churned_at >= at))].copy()
    r = r[r.nps.notna() & r.customer_id.notna() & (r.submitted_at < at)]
    r = r.sort_values(["customer_id", "submitted_at", "response_id"])
    last = r.groupby("customer_id").nps.last()
    o = o[(o.ordered_at < at) & ~o.status.fillna("").str.lower().isin(["cancelled", "returned"])]
    rev = o.groupby("customer_id").amount.sum()
    nps = c.customer_id.map(last)
    c["group"] = np.select(
        [nps >= 9, nps >= 7, nps.notna()], ["promoter", "passive", "detractor"], "no answer"
    )
    c["revenue"] = c.customer_id.map(rev).fillna(0.0).astype(float)
    until = at + dt.timedelta(days=horizon)
    c["churned"] = (c.churned_at.notna() & (c.churned_at < until)).astype(int)
    return c


def test_by_nps_group_matches_pandas(world, groups):
    at = dt.datetime.fromisoformat(groups.as_of)
    ref = _reference(world, at, HORIZON)
    assert groups.n == len(ref)
    assert [g.group for g in groups.groups] == [g for g in GROUPS if g in set(ref.group)]
    for g in groups.groups:
        part = ref[ref.group == g.group]
        assert g.n == len(part) and g.churned == part.churned.sum()
        assert g.churn_rate.estimate == pytest.approx(part.churned.mean())
        assert g.clv.estimate == pytest.approx(part.revenue.mean())
        assert g.churn_cost.estimate == pytest.approx((part.revenue * part.churned).sum())
        for e in (g.churn_rate, g.clv, g.churn_cost):
            assert _contains(e) and e.ci_low < e.ci_high
    assert groups.estimate == pytest.approx((ref.revenue * ref.churned).sum())
    assert _contains(groups)
    assert "historical revenue" in groups.clv_source and "cxray clv fit" in groups.clv_source
    assert "Wilson" in groups.method and "bootstrap" in groups.method


def test_planted_effect_detractors_churn_faster(groups):
    d, p = groups.get("detractor").churn_rate, groups.get("promoter").churn_rate
    # planted: 3x the hazard after a detractor's answer, 0.6x after a promoter's
    assert d.estimate / p.estimate > 2.0
    assert d.ci_low > p.ci_high
    t = groups.table
    assert list(t.columns[:4]) == ["group", "n", "churned", "churn_rate"]
    assert (t.churn_rate_low <= t.churn_rate).all() and (t.churn_rate <= t.churn_rate_high).all()


def test_what_if_properties(money):
    zero = money.what_if(0.0, horizon_days=HORIZON)
    assert (zero.estimate, zero.ci_low, zero.ci_high, zero.moved) == (0.0, 0.0, 0.0, 0.0)
    ten = money.what_if(0.10, horizon_days=HORIZON)
    twenty = money.what_if(0.20, horizon_days=HORIZON)
    assert twenty.estimate == pytest.approx(2 * ten.estimate)
    assert (twenty.ci_low, twenty.ci_high) == pytest.approx((2 * ten.ci_low, 2 * ten.ci_high))
    assert ten.estimate > 0 and _contains(ten)
    g = money.by_nps_group(horizon_days=HORIZON)
    d, q = g.get("detractor"), g.get("passive")
    expected = 0.1 * d.n * (d.churn_rate.estimate - q.churn_rate.estimate) * d.clv.estimate
    assert ten.estimate == pytest.approx(expected)
    assert ten.n == d.n and ten.moved == pytest.approx(0.1 * d.n)
    assert ten.sentence.startswith("Moving 10% of detractors") and "passives" in ten.sentence
    assert any("not the result of an experiment" in a for a in ten.assumptions)
    full = money.what_if(1.0, "detractor", "promoter", horizon_days=HORIZON)
    assert full.estimate > money.what_if(1.0, horizon_days=HORIZON).estimate


def test_same_seed_same_intervals_other_seed_other(world, money, groups):
    again = _money(world, n_boot=400).by_nps_group(horizon_days=HORIZON)
    assert again.to_dict() == groups.to_dict()
    other = _money(world, n_boot=400, seed=9).by_nps_group(horizon_days=HORIZON)
    assert other.estimate == groups.estimate and other.ci_low != groups.ci_low


def test_at_risk_without_a_model_uses_observed_rates(money):
    risk = money.at_risk(horizon_days=HORIZON)
    assert risk.source == "observed"
    assert any("cxray churn model" in n for n in risk.notes)
    t = risk.groups
    assert list(t.group) == [g for g in GROUPS if g in set(t.group)]
    assert np.allclose(t.revenue_at_risk, t.clv_total * t.probability)
    assert np.allclose(t.ci_low, t.clv_total * t.probability_low)
    assert (t.ci_low <= t.revenue_at_risk).all() and (t.revenue_at_risk <= t.ci_high).all()
    assert risk.estimate == pytest.approx(t.revenue_at_risk.sum()) and _contains(risk)
    # the rate is the one observed in the horizon before the end of the data
    past = money.by_nps_group(horizon_days=HORIZON, as_of=risk_as_of(money, risk))
    rates = {g.group: g.churn_rate.estimate for g in past.groups}
    assert dict(zip(t.group, t.probability, strict=True)) == pytest.approx(rates)


def risk_as_of(money: Money, risk) -> dt.datetime:
    return money._end() - dt.timedelta(days=risk.horizon_days)


def test_at_risk_by_a_customer_attribute(money):
    risk = money.at_risk("region", horizon_days=HORIZON)
    assert risk.by == "region" and len(risk.groups) >= 5
    assert risk.estimate == pytest.approx(risk.groups.revenue_at_risk.sum())
    with pytest.raises(AnalysisError, match=r"unknown attribute by='regoin'.*region"):
        money.at_risk("regoin")


def test_at_risk_with_the_churn_risk_model(world, money, monkeypatch):
    end = money._end()
    now = money.customers(end, None).to_pandas()
    rng = np.random.default_rng(1)
    p = rng.uniform(0.01, 0.3, len(now))
    scores = pd.DataFrame({"customer_id": now.customer_id, "probability": p,
                           "ci_low": p * 0.5, "ci_high": np.minimum(p * 1.5, 1)})  # fmt: skip
    from cxray.churn._risk import ChurnRisk, RiskScores

    stored = RiskScores(customers=scores, as_of="2026-01-01", horizon_days=90.0,
                        model_id="m1", method="logistic (stub)", estimate=float(p.mean()),
                        ci_low=None, ci_high=None, n=len(p))  # fmt: skip
    monkeypatch.setattr(ChurnRisk, "score", lambda self, *a, **k: stored)
    risk = _money(world, n_boot=400).at_risk()
    assert risk.source == "model" and "logistic (stub)" in risk.method
    frame, _ = money._frame(end, None)
    q = frame.customer_id.map(scores.set_index("customer_id").probability).to_numpy()
    assert risk.estimate == pytest.approx(float((frame.clv.to_numpy() * q).sum()))
    assert risk.ci_low == pytest.approx(float((frame.clv.to_numpy() * q * 0.5).sum()))
    assert risk.notes == []


def test_roi_summary(money):
    roi = money.roi(horizon_days=HORIZON)
    assert roi.estimate == roi.what_if.estimate and _contains(roi)
    assert roi.customers == roi.at_risk.n > 0
    text = " ".join(roi.sentences)
    assert "revenue at risk" in text and "Detractors left at" in text and "Moving 10%" in text
    assert any("not the result of an experiment" in a for a in roi.assumptions)
    d = json.loads(json.dumps(roi.to_dict()))
    assert d["what_if"]["share"] == 0.1 and d["by_nps_group"]["groups"][0]["group"] == "promoter"
    assert d["estimate"] == pytest.approx(roi.estimate)


def test_predictive_clv_is_used_when_a_fit_is_stored(world):
    calls = []

    class FakeValue(SimpleNamespace):
        def latest_fit(self):
            return object()

        def clv(self, as_of=None):
            calls.append(as_of)
            ids = world.table("customers").customer_id.to_pandas()
            frame = pd.DataFrame({"customer_id": ids, "clv": 100.0})
            return SimpleNamespace(customers=frame, horizon_days=365.0, model="bgnbd",
                                   source="kept fit clv-1")  # fmt: skip

    m = Money(FakeValue(store=world.store, config=world.config, lock=None), n_boot=200)
    g = m.by_nps_group(horizon_days=HORIZON)
    assert calls and "predictive CLV over 365 days (bgnbd, kept fit clv-1)" in g.clv_source
    assert all(x.clv.estimate == pytest.approx(100.0) for x in g.groups)
    assert g.estimate == pytest.approx(100.0 * sum(x.churned for x in g.groups))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"share": 1.5}, "share must be between 0 and 1"),
        ({"share": -0.1}, "share must be between 0 and 1"),
        ({"source": "critic"}, "source='critic': not an NPS group"),
        ({"target": "detractor"}, "nothing moves"),
        ({"horizon_days": 0}, "horizon_days must be a positive"),
    ],
)
def test_bad_what_if_input(money, kwargs, message):
    with pytest.raises(AnalysisError, match=message):
        money.what_if(**kwargs)


def test_no_orders_no_churn_dates_no_data(ws, write):
    with pytest.raises(AnalysisError, match="no data yet"):
        _money(ws).roi()
    ws.import_files("customers", [write("c.csv", "customer_id,created_at\na,2024-01-01\n"
                                                 "b,2024-02-01\n")])  # fmt: skip
    ws.import_files("responses", [write("r.csv", "response_id,customer_id,submitted_at,nps\n"
                                                 "r1,a,2024-03-01,3\n")])  # fmt: skip
    with pytest.raises(AnalysisError, match="no churn dates"):
        _money(ws).by_nps_group(horizon_days=30)
    ws.import_files("customers", [write("c2.csv", "customer_id,created_at,churned_at\n"
                                                  "b,2024-02-01,2024-03-15\n")])  # fmt: skip
    with pytest.raises(AnalysisError, match="no orders"):
        _money(ws).by_nps_group(horizon_days=30)
    with pytest.raises(AnalysisError, match="no orders"):
        _money(ws).at_risk()


def test_money_text():
    assert [money_text(x) for x in (830.4, 45_600, 1_234_000, 2.5e9, math.nan)] == [
        "830", "45.6k", "1.23M", "2.50B", "n/a"
    ]  # fmt: skip


@needs_postgres
def test_postgres_gives_the_duckdb_money(world, tmp_path):
    """The per-customer query is portable Ibis: the same figures on PostgreSQL."""
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as pg:
        pg.load_demo(**WORLD)
        got, want = _money(pg, n_boot=200), _money(world, n_boot=200)
        g, w = got.by_nps_group(horizon_days=HORIZON), want.by_nps_group(horizon_days=HORIZON)
        assert_same(g.to_dict(), w.to_dict(), "by NPS group")
        assert_same(got.at_risk("region").to_dict(), want.at_risk("region").to_dict(), "at risk")
        assert_same(got.what_if(0.1).to_dict(), want.what_if(0.1).to_dict(), "what-if")
