"""Funnels, paths, the graph and outcomes on the demo world, held against the definitions."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from cxray import stats
from tests.journeys import _reference as ref

SHOP = ["visit_site", "product_viewed", "added_to_cart", "checkout_started",
        "payment_submitted", "order_placed"]  # fmt: skip


@pytest.fixture(scope="module")
def rows(demo):
    return demo.table("events").to_pandas().to_dict("records")


def test_session_funnel_equals_the_definition(demo, rows):
    f = demo.journeys.funnel(SHOP, case="session")
    counts, hours, _ = ref.funnel(rows, SHOP, case="session_id")
    assert [r.cases for r in f.rows] == counts
    level, min_n = demo.config.measurement.confidence, demo.config.measurement.min_n
    for k, r in enumerate(f.rows[1:], 1):
        exact = stats.proportion(counts[k], counts[k - 1], confidence=level, min_n=min_n)
        assert (r.conversion.estimate, r.conversion.ci_low, r.conversion.ci_high) == (
            exact.estimate, exact.ci_low, exact.ci_high,
        )  # fmt: skip
        assert r.conversion.method == "Wilson score"
        assert r.from_first.estimate == pytest.approx(counts[k] / counts[0])
        for q, got in ((0.5, r.median), (0.9, r.p90)):
            want = stats.quantile(np.array(hours[k]), q, confidence=level, min_n=min_n)
            assert got.estimate == pytest.approx(want.estimate, rel=1e-9)
            assert (got.ci_low, got.ci_high) == pytest.approx((want.ci_low, want.ci_high))
        assert r.customers <= r.cases  # sessions of the same customers
    rec = f.records()[1]
    assert {"step", "customers", "conversion", "ci_low", "ci_high", "conversion_from_first",
            "median_hours", "p90_hours"} <= set(rec)  # fmt: skip


def test_customer_funnel_within_hours(demo, rows):
    f = demo.journeys.funnel(["checkout_started", "order_placed"], within_hours=2)
    counts, _, censored = ref.funnel(rows, ["checkout_started", "order_placed"], 2)
    assert [r.cases for r in f.rows] == counts and f.censored == censored
    assert all(r.customers == r.cases for r in f.rows)


def test_slices_add_up_and_are_compared(demo):
    whole = demo.journeys.funnel(SHOP, case="session")
    by = demo.journeys.funnel(SHOP, case="session", by="segment")
    assert {r.slices["segment"] for r in by.rows} == {"consumer", "smb", "enterprise"}
    for step in SHOP:
        assert sum(r.cases for r in by.rows if r.step == step) == whole.get(step).cases
    tested = [r for r in by.rows if r.vs_rest is not None]
    assert len(tested) == 3 * (len(SHOP) - 1)
    p = [r.vs_rest.p_value for r in tested]
    fdr = stats.benjamini_hochberg(p, demo.config.measurement.fdr)
    assert [r.q_value for r in tested] == pytest.approx(list(fdr.q_values))
    assert [r.significant for r in tested] == list(fdr.reject)
    r = by.get("added_to_cart", segment="smb")
    rest = [x for x in by.rows if x.step == "added_to_cart" and x.slices["segment"] != "smb"]
    want = stats.proportion_diff(
        (r.cases, r.previous),
        (sum(x.cases for x in rest), sum(x.previous for x in rest)),
        min_n=demo.config.measurement.min_n,
    )
    assert r.vs_rest.p_value == pytest.approx(want.p_value)


def test_slices_by_an_event_column_take_the_entry(demo):
    f = demo.journeys.funnel(["order_placed", "delivery_tracked"], by=["channel"])
    assert {r.slices["channel"] for r in f.rows} <= {"web", "app", "store", None}
    total = demo.journeys.funnel(["order_placed", "delivery_tracked"])
    assert sum(r.cases for r in f.rows if r.index == 1) == total.entered


def test_nps_group_and_two_attributes(demo):
    f = demo.journeys.funnel(["checkout_started", "order_placed"], by=["nps_group", "region"])
    groups = {r.slices["nps_group"] for r in f.rows}
    assert groups <= {"promoter", "passive", "detractor", None} and len(groups) > 2
    assert all(set(r.slices) == {"nps_group", "region"} for r in f.rows)


def test_window_journey_and_other_tables(demo):
    J = demo.journeys
    assert J.funnel(SHOP, case="session", journey="checkout").get("order_placed").cases == (
        J.funnel(SHOP, case="session").get("order_placed").cases
    )
    late = J.funnel(SHOP, case="session", start="2026-08-01", end="2026-10-31")
    early = J.funnel(SHOP, case="session", end="2026-07-31")
    whole = J.funnel(SHOP, case="session")
    assert 0 < late.entered < whole.entered and late.entered + early.entered <= whole.entered
    # cases and orders as touchpoints: an order's case (by order_id) from placed to delivered
    f = J.funnel(["orders:placed", "delivery_tracked", "orders:delivered"], case="order_id",
                 include="orders")  # fmt: skip
    assert f.entered == demo.table("orders").count().to_pyarrow().as_py()
    assert 0 < f.rows[-1].cases <= f.rows[1].cases
    g = J.graph(include=["cases", "responses"])
    assert {"cases:opened", "cases:resolved"} <= {a.name for a in g.activities}
    assert any(a.name.startswith("responses:") for a in g.activities)
    s = J.funnel(["visit_site", "order_placed"], case="session", include="cases")
    assert s.notes == ["cases: no session_id column to follow the case by; left out"]


def test_paths_and_graph_agree(demo):
    J = demo.journeys
    g = J.graph(case="session")
    p = J.paths(case="session", top=500, max_steps=50)
    assert p.cases == g.cases and not any(v.truncated for v in p.variants)
    assert sum(v.cases for v in p.variants) == p.cases
    assert {f.touchpoint: f.exits for f in p.touchpoints if f.exits} == g.end_activities
    assert {f.touchpoint: f.starts for f in p.touchpoints if f.starts} == g.start_activities
    assert {f.touchpoint: f.self_loops for f in p.touchpoints if f.self_loops} == {
        e.source: e.count for e in g.edges if e.source == e.target
    }
    collapsed = J.paths(case="session", top=500, max_steps=50, collapse=True)
    assert collapsed.distinct_variants < p.distinct_variants
    assert all(all(a != b for a, b in pairwise(v.steps)) for v in collapsed.variants)


def test_outcomes_by_touchpoint_against_pandas(demo):
    o = demo.journeys.outcomes(group="touchpoint", top=50)
    ev = demo.table("events").to_pandas()
    resp = demo.table("responses").to_pandas()
    start = ev.groupby("customer_id").timestamp.min().rename("t0")
    r = resp[resp.nps.notna() & resp.customer_id.notna()].join(start, on="customer_id")
    r = r[r.submitted_at >= r.t0].sort_values(["submitted_at", "response_id"])
    first = r.groupby("customer_id").nps.first()
    with_failed = set(ev.loc[ev.touchpoint == "payment_failed", "customer_id"])
    sub = first[first.index.isin(with_failed)]
    row = o.get("payment_failed")
    assert row.cases == len(with_failed)
    assert row.nps.n == len(sub)
    assert row.nps.estimate == pytest.approx(
        100 * ((sub >= 9).mean() - (sub <= 6).mean()), abs=1e-9
    )
    rest = first[~first.index.isin(with_failed)]
    assert row.vs_rest["nps"].n_b == len(rest)
    assert o.overall.cases == ev.customer_id.nunique()
    churned = demo.table("customers").to_pandas().set_index("customer_id").churned_at
    c = churned.reindex(sorted(with_failed)).dropna()
    t0 = start.reindex(c.index)
    assert row.churn.n == len(with_failed)
    assert row.churn.estimate == pytest.approx(100 * (c >= t0).sum() / len(with_failed))


def test_outcomes_by_variant(demo):
    o = demo.journeys.outcomes(case="session", journey="checkout", top=5)
    assert len(o.rows) == 5 and o.rows[0].cases >= o.rows[-1].cases
    assert all(r.nps.n <= r.cases for r in o.rows)
    recs = o.to_frame()
    assert {"label", "nps", "nps_ci_low", "csat", "churn", "churn_q_value"} <= set(recs.columns)
    assert isinstance(recs, pd.DataFrame)
