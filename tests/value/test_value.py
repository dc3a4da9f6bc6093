"""ws.value end to end on CDNOW: the summary the store computes equals Hardie's files, the fit
is kept as JSON and read back, CLV per customer, and bad input gets a clear error."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from cxray.exceptions import AnalysisError, QueryError
from cxray.store import MODELS
from cxray.workspace import Workspace
from tests.value.conftest import CALIBRATION_END, published


@pytest.fixture(scope="module")
def summary(cdnow):
    frame = cdnow.value.summary(CALIBRATION_END, unit="week").to_pandas()
    return frame.set_index("customer_id").sort_index()


@pytest.fixture(scope="module")
def fit(cdnow):
    return cdnow.value.fit(CALIBRATION_END, unit="week", model="auto")


def _models(ws: Workspace) -> int:
    return ws.store.backend.table(MODELS).count().to_pyarrow().as_py()


def test_summary_equals_hardies_published_summary(summary):
    want = published("cdnow_customers_summary.csv")
    assert len(summary) == 2357 and list(summary.index) == list(want.index)
    assert (summary.frequency == want.frequency).all()
    np.testing.assert_allclose(summary.recency.round(2), want.recency, atol=1e-9)
    np.testing.assert_allclose(summary["T"].round(2), want["T"], atol=1e-9)


def test_summary_equals_the_file_with_transactions(summary):
    want = published("cdnow_customers_summary_with_transactions.csv")
    assert (summary.frequency == want.x).all()
    np.testing.assert_allclose(summary.recency, want.t_x, atol=0.005 + 1e-9)
    # zbar is rounded to cents in the file (22.345 -> 22.35)
    np.testing.assert_allclose(summary.monetary, want.zbar, atol=0.005 + 1e-9)


def test_the_holdout_counts_purchase_days_after_the_calibration_end(cdnow, summary):
    orders = cdnow.table("orders").to_pandas()
    orders["day"] = pd.to_datetime(orders.ordered_at).dt.date
    after = orders[orders.day > dt.date(1997, 9, 30)]
    want = after.groupby("customer_id").day.nunique()
    got = summary.holdout_purchases[summary.holdout_purchases > 0]
    assert got.sort_index().to_dict() == want.sort_index().to_dict()
    assert summary.holdout_spend.sum() == pytest.approx(float(after.amount.astype(float).sum()))
    # in days the summary scales by 7 and the frequencies do not change
    days = cdnow.value.summary(CALIBRATION_END, unit="day").to_pandas().set_index("customer_id")
    days = days.sort_index()
    assert (days.frequency == summary.frequency).all()
    np.testing.assert_allclose(days["T"], summary["T"] * 7, rtol=1e-12)


def test_fit_reproduces_the_golden_parameters_and_checks_the_holdout(fit):
    d = fit.to_dict()
    bg = next(c for c in d["candidates"] if c["model"] == "bgnbd")
    assert bg["log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    spend = d["spend_model"]
    assert spend["n_customers"] == 946
    assert spend["params"]["p"] == pytest.approx(6.25, abs=0.01)
    assert spend["log_likelihood"] == pytest.approx(-4055.92, abs=0.01)
    assert d["n_customers"] == 2357 and d["unit"] == "week"
    assert d["calibration_end"] == CALIBRATION_END and d["data_end"] == "1998-06-30"
    hold = d["holdout"]
    assert hold["length"] == pytest.approx(39.0)
    assert hold["customers"] == 2357 and hold["actual_purchases"] > 0
    # the models predict the holdout to within 15% in total and rank customers well
    assert hold["predicted_purchases"] == pytest.approx(hold["actual_purchases"], rel=0.15)
    assert hold["correlation"] > 0.5
    assert sum(g["n"] for g in hold["by_frequency"]) == 2357
    # auto chose the one with the lower holdout RMSE, and says so
    best = min(d["candidates"], key=lambda c: c["holdout_rmse"])
    assert d["model"] == best["model"] and "holdout" in d["selection"]
    assert abs(d["spend_frequency_correlation"]) < 0.3 and not d["warnings"]
    assert d["model_id"].startswith("clv-")


def test_a_fit_asked_for_by_name_and_without_a_holdout(cdnow):
    bg = cdnow.value.fit(unit="week", model="bgnbd", save=False)
    d = bg.to_dict()
    assert d["model"] == "bgnbd" and set(d["params"]) == {"r", "alpha", "a", "b"}
    assert d["holdout"] is None and d["calibration_end"] == "1998-06-30"
    auto = cdnow.value.fit(unit="week", save=False).to_dict()
    best = max(auto["candidates"], key=lambda c: c["log_likelihood"])
    assert auto["model"] == best["model"] and "log-likelihood" in auto["selection"]


def test_the_kept_fit_reads_back_the_same(cdnow, fit):
    kept = cdnow.value.latest_fit()
    assert kept is not None and kept.model_id == fit.model_id
    assert json.dumps(kept.to_dict(), sort_keys=True) == json.dumps(fit.to_dict(), sort_keys=True)
    row = (
        cdnow.store.backend.table(MODELS)
        .filter(lambda t: t.model_id == fit.model_id)
        .to_pyarrow()
        .to_pylist()[0]
    )
    assert row["name"] == "clv" and row["kind"] == f"{fit.model}+gamma_gamma"
    assert json.loads(row["spec"])["frequency_model"]["params"] == fit.to_dict()["params"]


def test_clv_per_customer(cdnow, fit):
    result = cdnow.value.clv(horizon_days=365, discount_rate=0.10)
    c = result.customers
    assert list(c.columns) == [
        "customer_id", "frequency", "recency", "T", "monetary",
        "expected_purchases", "p_alive", "expected_spend", "clv",
    ]  # fmt: skip
    assert len(c) == 2357 and c.customer_id.is_unique
    assert (np.diff(c.clv.to_numpy()) <= 0).all()  # highest first
    assert ((c.p_alive >= 0) & (c.p_alive <= 1)).all() and (c.clv >= 0).all()
    # CLV never exceeds the undiscounted expected spend x purchases
    assert (c.clv <= c.expected_spend * c.expected_purchases + 1e-9).all()
    s = result.summary
    assert s.n == 2357 and s.ci_low < s.estimate < s.ci_high
    assert s.estimate == pytest.approx(c.clv.mean())
    assert result.total.estimate == pytest.approx(c.clv.sum())
    assert result.model_id == fit.model_id and result.as_of == "1998-06-30"
    d = result.to_dict(top=5)
    assert len(d["customers"]) == 5 and d["summary"]["n"] == 2357
    json.dumps(d, allow_nan=False)


def test_discounting(cdnow, fit):
    plain = cdnow.value.clv(horizon_days=365, discount_rate=0.0).customers.set_index("customer_id")
    np.testing.assert_allclose(plain.clv, plain.expected_spend * plain.expected_purchases)
    steep = cdnow.value.clv(horizon_days=365, discount_rate=0.5).customers.set_index("customer_id")
    steep = steep.loc[plain.index]
    assert (steep.clv <= plain.clv + 1e-12).all() and steep.clv.sum() < plain.clv.sum()
    longer = cdnow.value.clv(horizon_days=730, discount_rate=0.1).customers.set_index("customer_id")
    assert (longer.loc[plain.index].expected_purchases >= plain.expected_purchases - 1e-12).all()


def test_clv_as_of_an_earlier_day(cdnow, fit):
    early = cdnow.value.clv(as_of=CALIBRATION_END)
    assert early.as_of == CALIBRATION_END and early.n == 2357
    assert early.customers["T"].max() == pytest.approx(272 / 7)


def test_no_orders_is_an_error_naming_the_table(ws):
    for call in (ws.value.fit, ws.value.clv, ws.value.summary):
        with pytest.raises(AnalysisError, match="orders table has no orders"):
            call()
    assert _models(ws) == 0


def test_a_calibration_end_outside_the_data_states_the_range(cdnow):
    before = _models(cdnow)
    for day in ("1996-12-31", "1998-07-01"):
        with pytest.raises(QueryError, match="from 1997-01-01 to 1998-06-30"):
            cdnow.value.fit(day)
    with pytest.raises(QueryError, match="not a date"):
        cdnow.value.fit("soon")
    with pytest.raises(QueryError, match="as_of 2001-01-01 is outside"):
        cdnow.value.clv(as_of="2001-01-01")
    assert _models(cdnow) == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"unit": "month"}, "unit 'month'"),
        ({"model": "mbgnbd"}, "model 'mbgnbd'"),
    ],
)
def test_bad_options_are_refused(cdnow, kwargs, match):
    with pytest.raises(QueryError, match=match):
        cdnow.value.fit(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"horizon_days": 0}, "horizon_days"), ({"discount_rate": -0.1}, "discount_rate")],
)
def test_bad_clv_options_are_refused(cdnow, kwargs, match):
    with pytest.raises(QueryError, match=match):
        cdnow.value.clv(**kwargs)


def test_one_customer_needs_many(ws):
    orders = pd.DataFrame(
        {
            "order_id": ["a", "b", "c"],
            "customer_id": ["c1"] * 3,
            "ordered_at": ["2025-01-01", "2025-02-01", "2025-03-01"],
            "amount": [10.0, 20.0, 30.0],
        }
    )
    ws.import_frame("orders", orders)
    with pytest.raises(AnalysisError, match="only one customer .* need many customers"):
        ws.value.fit()
    assert _models(ws) == 0
    # the summary itself is fine: one row
    s = ws.value.summary(unit="day").to_pandas()
    assert s.to_dict("records")[0] | {"first_purchase": None} == {
        "customer_id": "c1", "frequency": 2, "recency": 59.0, "T": 59.0, "monetary": 25.0,
        "first_purchase": None,
    }  # fmt: skip


def test_nobody_bought_again(ws):
    n = 40
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_id": [f"c{i}" for i in range(n)],
            "ordered_at": [f"2025-01-{1 + i % 28:02d}" for i in range(n)],
            "amount": 10.0,
            "status": ["completed"] * (n - 1) + ["cancelled"],
        }
    )
    ws.import_frame("orders", orders)
    assert ws.value.summary().count().to_pyarrow().as_py() == n - 1  # the cancelled one left out
    with pytest.raises(AnalysisError, match="bought again"):
        ws.value.fit()
