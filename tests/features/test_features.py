"""The feature layer counts, for a hand-made customer, exactly what happened in each window."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cxray.exceptions import AnalysisError
from cxray.workspace import Workspace


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("features") / "cx.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.import_frame(
            "customers",
            pd.DataFrame(
                {
                    "customer_id": ["C1", "C2", "C3"],
                    "created_at": ["2026-01-01", "2026-04-01", "2025-06-01"],
                    "churned_at": ["2026-05-01", None, "2026-02-01"],
                    "region": ["North", "South", "North"],
                    "monthly_fee": [10.5, 20.0, 5.0],
                }
            ),
        )
        ws.import_frame(
            "orders",
            pd.DataFrame(
                {
                    "order_id": ["O1", "O2", "O3"],
                    "customer_id": ["C1", "C1", "C1"],
                    "ordered_at": ["2026-03-01", "2026-03-10", "2026-02-01"],
                    "amount": [100.0, 50.0, 30.0],
                    "status": ["completed", "completed", "cancelled"],
                    "promised_at": ["2026-03-05", "2026-03-15", None],
                    "delivered_at": ["2026-03-08", "2026-03-14", None],
                }
            ),
        )
        ws.import_frame(
            "cases",
            pd.DataFrame(
                {
                    "case_id": ["T1", "T2"],
                    "customer_id": ["C1", "C1"],
                    "opened_at": ["2026-03-09T10:00:00", "2026-03-18T08:00:00"],
                    "first_response_at": ["2026-03-10T12:00:00", "2026-03-18T09:00:00"],
                    "resolved_at": ["2026-03-11T00:00:00", None],
                    "channel": ["email", "chat"],
                    "contacts": [2, None],
                    "reopened": [False, None],
                }
            ),
        )
        ws.import_frame(
            "events",
            pd.DataFrame(
                {
                    "customer_id": ["C1", "C1", "C1"],
                    "timestamp": [
                        "2026-03-10T09:00:00",
                        "2026-03-10T09:30:00",
                        "2026-03-12T09:00:00",
                    ],
                    "touchpoint": ["checkout_started", "order_placed", "checkout_started"],
                }
            ),
        )
        ws.import_frame(
            "responses",
            pd.DataFrame(
                {
                    "response_id": ["R1", "R2", "R3", "R4"],
                    "customer_id": ["C1", "C1", None, "C1"],
                    "submitted_at": ["2026-03-20", "2026-03-07", "2026-03-20", "2026-06-01"],
                    "nps": [8, 3, 10, 9],
                    "csat": [4, 2, 5, None],
                    "q_delivery": [4, 1, 5, 5],
                }
            ),
        )
        yield ws


def _by_id(frame: pd.DataFrame, key: str) -> dict[str, dict]:
    return {r[key]: r for r in frame.to_dict("records")}


def test_response_features_count_the_window_before_each_answer(world):
    rows = _by_id(world.features.responses().to_pandas(), "response_id")
    r1 = rows["R1"]  # 2026-03-20: the 30 days from 2026-02-18
    assert (r1["orders"], r1["amount"]) == (2, 150.0)  # the cancelled order is older
    assert (r1["deliveries"], r1["late_deliveries"]) == (2, 1)
    assert r1["days_late"] == pytest.approx(3.0)
    assert (r1["cases"], r1["cases_unresolved"], r1["cases_reopened"]) == (2, 1, 0)
    assert (r1["cases_fcr"], r1["cases_not_fcr"], r1["cases_slow_response"]) == (0, 1, 1)
    assert r1["contacts"] == 2
    assert r1["first_response_hours"] == pytest.approx((26 + 1) / 2)
    assert r1["resolution_hours"] == pytest.approx(38.0)
    assert (r1["cases_via_email"], r1["cases_via_chat"]) == (1, 1)
    assert (r1["journey_started_checkout"], r1["journey_abandoned_checkout"]) == (2, 1)
    assert (r1["promoter"], r1["detractor"], r1["top_box"]) == (0, 0, 1)
    assert r1["q_delivery"] == 4

    r2 = rows["R2"]  # 2026-03-07: O1 promised for the 5th had not arrived (it came on the 8th)
    assert (r2["orders"], r2["late_deliveries"]) == (1, 1)
    assert r2["days_late"] == pytest.approx(2.0)  # late by two days at the moment of answer
    assert (r2["cases"], r2["journey_started_checkout"]) == (0, 0)
    assert (r2["detractor"], r2["top_box"]) == (1, 0)

    r4 = rows["R4"]  # 2026-06-01: nothing in the 30 days before
    assert (r4["orders"], r4["deliveries"], r4["cases"]) == (0, 0, 0)
    assert math.isnan(r4["first_response_hours"])


def test_anonymous_responses_have_no_history(world):
    r3 = _by_id(world.features.responses().to_pandas(), "response_id")["R3"]
    for col in ("orders", "late_deliveries", "cases", "journey_started_checkout"):
        assert r3[col] is None or math.isnan(r3[col]), col


def test_window_and_dates(world):
    wide = _by_id(world.features.responses(window_days=60).to_pandas(), "response_id")
    assert wide["R1"]["orders"] == 3  # the cancelled order of 2026-02-01 is now inside
    assert wide["R1"]["amount"] == 150.0  # ... but it is not revenue
    some = world.features.responses(start="2026-03-07", end="2026-03-07").to_pandas()
    assert list(some.response_id) == ["R2"]
    with pytest.raises(AnalysisError, match="window_days must be positive"):
        world.features.responses(window_days=0)


def test_customer_features_as_of_a_date(world):
    frame = world.features.customers(as_of="2026-03-20", lookback_days=30).to_pandas()
    assert list(frame.customer_id) == ["C1"]  # C2 joined later, C3 had left
    c1 = frame.iloc[0].to_dict()
    assert c1["tenure_days"] == pytest.approx(78.0)
    assert c1["recency_days"] == pytest.approx(10.0)
    assert (c1["frequency"], c1["monetary"]) == (2, 150.0)
    assert (c1["orders_total"], c1["amount_total"]) == (3, 150.0)
    assert c1["latest_nps"] == 3 and c1["latest_detractor"] == 1 and c1["latest_promoter"] == 0
    assert c1["responses"] == 1  # R2; R1 is at the as-of moment, not before it
    assert c1["churned"] == 1  # left on 2026-05-01, within 90 days
    assert c1["monthly_fee"] == pytest.approx(10.5)
    assert (c1["late_deliveries"], c1["cases_not_fcr"]) == (1, 1)
    later = world.features.customers(as_of="2026-03-20", horizon_days=30).to_pandas()
    assert later.iloc[0]["churned"] == 0  # not within 30 days


def test_catalogue_describes_every_column(world):
    f = world.features
    responses = f.responses()
    for feat in f.catalogue("responses"):
        assert feat.name in responses.columns, feat.name
    customers = f.customers(as_of="2026-03-20")
    for feat in f.catalogue("customers"):
        assert feat.name in customers.columns, feat.name
    moments = {m.name for m in f.moments()}
    assert {"late_delivery", "slow_first_response", "not_first_contact", "case_via_email",
            "abandoned_checkout"} <= moments  # fmt: skip


def test_default_as_of_leaves_room_for_the_churn_horizon(world):
    # the latest moment in the data is the response of 2026-06-01
    assert world.features.as_of().date().isoformat() == "2026-03-03"


def test_numbers_and_yes_no_answers_from_a_csv_file_are_drivers(tmp_path, write):
    """A CSV export brings its extra columns in as text; the layer reads numbers and yes/no
    answers as numbers, and leaves other text (and names it computes itself) alone."""
    responses = write(
        "r.csv",
        "response_id,submitted_at,customer_id,nps,q_speed,recommend,tier,orders\n"
        "A,2026-01-02,C1,9, 4,Yes,gold,7\n"
        "B,2026-01-03,C1,3,,no,silver,7\n"
        "C,2026-01-04,C2,7,2.5,TRUE,gold,7\n",
    )
    customers = write(
        "c.csv",
        "customer_id,created_at,churned_at,senior,monthly_fee,churned\n"
        "C1,2025-01-01,,0,70.5,no\nC2,2025-01-01,2026-03-01,1, 20 ,yes\n",
    )
    with Workspace.open(tmp_path / "cx.duckdb") as ws:
        ws.import_files("responses", [responses])
        ws.import_files("customers", [customers])
        f = ws.features
        assert f.ratings == ["q_speed", "recommend"]  # not tier (text), not orders (computed)
        rows = _by_id(f.responses().to_pandas(), "response_id")
        assert rows["A"]["q_speed"] == 4.0 and math.isnan(rows["B"]["q_speed"])
        assert [rows[k]["recommend"] for k in "ABC"] == [1, 0, 1]
        assert set(f.customer_attributes) == {"senior", "monthly_fee"}
        c = _by_id(f.customers(as_of="2026-01-10").to_pandas(), "customer_id")
        assert (c["C1"]["senior"], c["C2"]["monthly_fee"]) == (0, 20.0)
        assert (c["C1"]["churned"], c["C2"]["churned"]) == (0, 1)  # the layer's own outcome
        with pytest.raises(AnalysisError, match="2 responses with every driver known: too few"):
            ws.drivers("nps", ["q_speed", "recommend"], bootstrap=0)  # B has no q_speed


def test_comment_sentiment_and_themes_once_enriched(tmp_path):
    from cxray import text

    with Workspace.open(tmp_path / "cx.duckdb", tmp_path / "cxray.toml") as ws:
        ws.load_demo(seed=2, customers=300, months=3)
        assert not ws.features.has_sentiment and ws.features.themes == []
        scorer, model_id = text.resolve_model(None, ws.store)
        text.enrich_sentiment(ws.store, scorer, model_id)
        text.assign_store_themes(ws.store, ws.config)
        f = ws.features  # a new layer sees the scores
        assert f.has_sentiment and "delivery" in f.themes
        frame = f.responses().to_pandas()
        scored = frame.dropna(subset=["comment_sentiment"])
        assert len(scored) > 30
        assert scored.comment_sentiment.between(-1, 1).all()
        assert set(frame.theme_delivery.dropna().unique()) <= {0, 1}
        stored = ws.store.backend.table("text_sentiment").to_pandas()
        one = stored[(stored.table_name == "responses") & (stored.field == "comment")].iloc[0]
        row = frame[frame.response_id == one.row_key].iloc[0]
        assert row.comment_sentiment == pytest.approx(one.sentiment_score)
        (a,) = ws.drivers("nps", ["comment_sentiment", "theme_delivery"], bootstrap=0).analyses
        sentiment = next(d for d in a.drivers if d.driver == "comment_sentiment")
        assert sentiment.direction == "+" and sentiment.share > 50  # kinder words, higher NPS
