"""Moments of truth: the planted effects come out on top, the numbers are the rows' own, and a
real e-commerce data set shows what late deliveries cost."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cxray.exceptions import AnalysisError
from cxray.workspace import Workspace
from tests.conftest import SHARED

OLIST = SHARED / "data" / "olist" / "olist_classified_public_dataset.csv"


@pytest.fixture(scope="module")
def moments(demo):
    return demo.drivers.moments()


def test_effects_are_the_rows_own(demo, moments):
    frame = demo.features.responses().to_pandas()
    frame = frame[frame.customer_id.notna() & frame.csat.notna()]
    late = next(m for m in moments.moments if (m.moment, m.outcome) == ("late_delivery", "csat"))
    exposed = frame[frame.late_deliveries > 0]
    comparison = frame[(frame.deliveries > 0) & (frame.late_deliveries == 0)]
    assert late.n_exposed == len(exposed) and late.n_comparison == len(comparison)
    assert late.exposed_value == pytest.approx(100 * exposed.top_box.mean())
    assert late.comparison_value == pytest.approx(100 * comparison.top_box.mean())
    assert late.effect == pytest.approx(late.exposed_value - late.comparison_value)
    assert late.customers == exposed.customer_id.nunique()
    assert late.impact == pytest.approx(late.effect * len(exposed) / len(frame))
    assert late.ci_low < late.effect < late.ci_high < 0 and late.significant


def test_churn_moments_per_customer(demo, moments):
    customers = demo.features.customers().to_pandas()
    late = next(m for m in moments.moments if (m.moment, m.outcome) == ("late_delivery", "churn"))
    exposed = customers[customers.late_deliveries > 0]
    comparison = customers[(customers.deliveries > 0) & (customers.late_deliveries == 0)]
    assert late.exposed_value == pytest.approx(100 * exposed.churned.mean())
    assert late.comparison_value == pytest.approx(100 * comparison.churned.mean())
    assert late.impact == pytest.approx(late.effect / 100 * len(exposed))
    assert moments.as_of is not None


def test_q_values_adjust_across_moments(moments):
    for outcome in moments.outcomes:
        rows = [m for m in moments.moments if m.outcome == outcome and not m.suppressed]
        assert rows
        for m in rows:
            assert m.q_value >= m.p_value - 1e-15
            assert m.significant == (m.q_value <= moments.fdr)


def test_ranked_by_what_they_cost_on_csat(moments):
    assert moments.rank_by == "csat" and moments.outcomes == ["csat", "nps", "ces", "churn"]
    costs = [m.impact for m in moments.moments if m.outcome == "csat" and m.significant]
    harms = [c for c in costs if c < 0]
    assert harms == sorted(harms)  # most costly first among the significant harms
    assert moments.ranking()[0] in ("late_delivery", "not_first_contact")


def test_ranking_follows_the_first_outcome(demo):
    nps = demo.drivers.moments(["nps"])
    assert nps.rank_by == "nps" and nps.outcomes == ["nps"]
    assert nps.ranking()[0] == "late_delivery"


def test_bad_outcomes_and_empty_stores(demo, tmp_path):
    with pytest.raises(AnalysisError, match=r"unknown outcome\(s\) 'promoter'"):
        demo.drivers.moments(["promoter"])
    with Workspace.open(tmp_path / "cx.duckdb") as ws:
        ws.import_frame(
            "responses",
            pd.DataFrame({"response_id": ["R1"], "submitted_at": ["2026-01-01"], "nps": [9]}),
        )
        with pytest.raises(AnalysisError, match="no touchpoint to compare"):
            ws.drivers.moments()


@pytest.mark.slow
def test_the_demo_worlds_planted_effects_come_out_on_top(tmp_path_factory):
    """The default demo world (seed 42, 20,000 customers, 24 months): late deliveries, slow
    e-mail support and cases not solved at first contact are the costliest moments of truth,
    and late deliveries the first driver of NPS."""
    path = tmp_path_factory.mktemp("default-demo") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo()
        report = ws.drivers.moments()
        top = report.ranking()[:3]
        assert set(top) == {"late_delivery", "not_first_contact", "case_via_email"}
        for m in report.moments:
            if m.moment in top and m.outcome == "csat":
                assert m.significant and m.impact < 0
        drivers = ws.drivers("nps", bootstrap=50).analyses[0].drivers
        assert drivers[0].driver == "late_deliveries"
        assert drivers[0].priority == "fix first"


def test_real_olist_reviews_after_late_deliveries(tmp_path):
    """Olist's reviewed orders (real Brazilian e-commerce): a review after a late delivery
    is in the top box about a third as often as one after an on-time delivery."""
    raw = pd.read_csv(OLIST, dtype=str).drop(columns=["Unnamed: 0"])
    cid = "C" + raw.id
    with Workspace.open(tmp_path / "olist.duckdb") as ws:
        ws.import_frame(
            "customers",
            pd.DataFrame({"customer_id": cid, "created_at": raw.order_purchase_timestamp}),
        )
        ws.import_frame(
            "orders",
            pd.DataFrame(
                {
                    "order_id": "O" + raw.id,
                    "customer_id": cid,
                    "ordered_at": raw.order_purchase_timestamp,
                    "amount": raw.order_products_value,
                    "status": raw.order_status,
                    "promised_at": raw.order_estimated_delivery_date,
                    "delivered_at": raw.order_delivered_customer_date,
                }
            ),
        )
        ws.import_frame(
            "responses",
            pd.DataFrame(
                {
                    "response_id": "R" + raw.id,
                    "customer_id": cid,
                    "submitted_at": raw.review_creation_date,
                    "csat": raw.review_score,
                }
            ),
        )
        report = ws.drivers.moments()
        drivers = ws.drivers("csat", bootstrap=50)
    (late,) = [m for m in report.moments if m.moment == "late_delivery"]
    assert report.outcomes == ["csat"]  # no NPS, CES or churn in this data: said, not shown
    assert any("nps left out" in w for w in report.warnings)
    assert late.exposed_value < 25 and late.comparison_value > 60
    assert late.significant and math.isfinite(late.q_value)
    assert drivers.analyses[0].drivers[0].driver == "late_deliveries"
