"""The churn-risk API: analysts train (and the model is kept), anyone reads the evaluation and
pages of scores equal to ``ws.churn.risk.score()``; the envelope for every mistake."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_envelope
from tests.conftest import SHARED

TELCO = SHARED / "data" / "telco_churn" / "Telco-Customer-Churn.csv"
MAPPING = {
    "created_at": "tenure:months-before:2024-01-31",
    "churned_at": "Churn:yes-at:2024-01-31",
}


def _telco(ws) -> None:
    ws.import_files("customers", [TELCO], mapping=MAPPING)


def test_train_read_and_page(make_api):
    api = make_api(_telco)
    assert_envelope(api.get("/api/churn/model"), 404, "not_found")
    assert_envelope(api.get("/api/churn/risk"), 404, "not_found")
    assert_envelope(api.post("/api/churn/model", role="viewer"), 403, "forbidden")

    r = api.post("/api/churn/model", json={"seed": 0})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["kept"] and report["split"] == "stratified" and report["auc"] >= 0.85
    assert report["ci_low"] < report["auc"] < report["ci_high"]

    stored = api.get("/api/churn/model").json()
    assert stored["model_id"] == report["model_id"] and stored["auc"] == report["auc"]

    page = api.get("/api/churn/risk?limit=10&offset=5")
    assert page.status_code == 200, page.text
    body = page.json()
    expected = api.ws.churn.risk.score()
    assert body["n"] == expected.n and body["has_more"] and body["model_id"] == report["model_id"]
    want = expected.customers.iloc[5:15]
    assert [c["customer_id"] for c in body["customers"]] == list(want.customer_id)
    for got, (_, row) in zip(body["customers"], want.iterrows(), strict=True):
        assert got["probability"] == pytest.approx(row.probability, rel=1e-12)
        assert got["ci_low"] <= got["probability"] <= got["ci_high"]
        assert got["reasons"] == row.reasons
    probs = [c["probability"] for c in body["customers"]]
    assert probs == sorted(probs, reverse=True)

    cid = want.customer_id.iloc[3]
    one = api.get(f"/api/churn/risk?customer_id={cid}").json()
    assert one["rank"] == 9 and [c["customer_id"] for c in one["customers"]] == [cid]
    assert_envelope(api.get("/api/churn/risk?customer_id=nobody"), 404, "not_found")

    # an evaluation that is not kept leaves the stored model as it was
    r = api.post("/api/churn/model", json={"seed": 1, "keep": False})
    assert r.status_code == 200 and r.json()["model_id"] is None
    assert api.get("/api/churn/model").json()["model_id"] == report["model_id"]


def test_bad_requests(api):
    assert_envelope(api.post("/api/churn/model", json={"split": "random"}), 422,
                    "invalid_request")  # fmt: skip
    assert_envelope(api.post("/api/churn/model", json={"test_size": 2}), 422, "invalid_request")
    # an empty store: no churn dates to learn from
    err = assert_envelope(api.post("/api/churn/model"), 422, "analysis_error")
    assert "churned_at" in err["message"]
    assert_envelope(api.get("/api/churn/risk?limit=0"), 422, "invalid_request")
