"""The churn API (reasons, survival, Cox) answers what ``Workspace.churn`` computes, the
shape ``cxray churn ... --format json`` prints, and bad requests with the error envelope."""

from __future__ import annotations

import pytest

from cxray.store import MODELS
from tests.api.conftest import assert_envelope


def test_survival_equals_the_workspace(demo):
    r = demo.get("/api/churn/survival?by=plan")
    assert r.status_code == 200, r.text
    body = r.json()
    want = demo.ws.churn.survival("plan").to_dict()
    assert body["summary"]["by"] == "plan" and body["summary"]["n"] == want["summary"]["n"]
    assert [g["group"] for g in body["summary"]["groups"]] == [
        g["group"] for g in want["summary"]["groups"]
    ]
    assert len(body["curves"]) == len(want["curves"])
    for got, exp in zip(body["curves"], want["curves"], strict=True):
        assert {"group", "days", "survival", "ci_low", "ci_high", "at_risk"} <= set(got)
        assert got["survival"] == pytest.approx(exp["survival"], rel=1e-12)
    assert body["summary"]["tests"][0]["comparison"] == "overall"


def test_cox_and_reasons(demo):
    r = demo.get("/api/churn/cox?covariate=recency_days")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_id"] is None and body["by"] == "nps_group"
    assert body["covariates"][0]["covariate"] == "recency_days"
    first = body["covariates"][0]
    assert first["ci_low"] <= first["hazard_ratio"] <= first["ci_high"]
    # three months of 500 customers: few leave, and the fit says so
    assert any("rough" in n for n in body["notes"])
    assert (
        demo.ws.store.backend.table(MODELS).count().to_pyarrow().as_py() == 0
    )  # GET stores nothing
    r = demo.get("/api/churn/reasons?period=month")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == "month" and body["stated"] == sum(x["n"] for x in body["reasons"])
    assert all("period" in x for x in body["reasons"])


def test_bad_requests_get_the_envelope(demo):
    err = assert_envelope(demo.get("/api/churn/survival?by=loyalty"), 422, "analysis_error")
    assert "cannot group by 'loyalty'" in err["message"]
    assert_envelope(demo.get("/api/churn/reasons?period=week"), 422, "invalid_request")
    assert_envelope(demo.get("/api/churn/survival?bands=1"), 422, "invalid_request")
    err = assert_envelope(demo.get("/api/churn/cox?covariate=speed"), 422, "analysis_error")
    assert "speed" in err["message"]


def test_an_empty_store_says_so(api):
    err = assert_envelope(api.get("/api/churn/survival"), 422, "analysis_error")
    assert "no data" in err["message"]


def test_a_key_is_needed(demo):
    assert demo.client.get("/api/churn/survival").status_code == 401
