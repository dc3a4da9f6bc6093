"""The lifetime-value API answers what ``Workspace.value`` computes: the kept fit, fitting
(analysts only), CLV per customer a page at a time, the summary; errors as the envelope."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_envelope


def test_no_fit_kept_yet_is_404_and_viewers_cannot_fit(demo):
    assert_envelope(demo.get("/api/clv/fit"), 404, "not_found")
    assert_envelope(demo.post("/api/clv/fit", role="viewer", json={}), 403, "forbidden")


def test_clv_without_a_kept_fit_fits_now_and_says_so(demo):
    r = demo.get("/api/clv/summary")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_id"] is None and "not kept" in body["source"]
    assert "customers" not in body


def test_fit_keeps_it_and_everything_reads_it(demo):
    r = demo.post("/api/clv/fit", json={"unit": "week", "model": "bgnbd"})
    assert r.status_code == 200, r.text
    fit = r.json()
    assert fit["model"] == "bgnbd" and set(fit["params"]) == {"r", "alpha", "a", "b"}
    assert fit["n_customers"] > 100 and fit["log_likelihood"] < 0 and fit["model_id"]
    kept = demo.ws.value.latest_fit()
    assert kept is not None and kept.to_dict() == fit
    got = demo.get("/api/clv/fit")
    assert got.status_code == 200 and got.json() == fit

    page = demo.get("/api/clv/customers?limit=10&offset=5&horizon_days=180&discount_rate=0.05")
    assert page.status_code == 200, page.text
    body = page.json()
    want = demo.ws.value.clv(horizon_days=180, discount_rate=0.05)
    assert body["model_id"] == fit["model_id"] and body["n"] == want.n
    assert body["offset"] == 5 and body["limit"] == 10 and len(body["customers"]) == 10
    expected = want.customers.iloc[5:15]
    assert [c["customer_id"] for c in body["customers"]] == list(expected.customer_id)
    for c, e in zip(body["customers"], expected.to_dict("records"), strict=True):
        assert c["clv"] == pytest.approx(e["clv"], rel=1e-12)
        assert c["p_alive"] == pytest.approx(e["p_alive"], rel=1e-12)
    clvs = [c["clv"] for c in body["customers"]]
    assert clvs == sorted(clvs, reverse=True)

    s = demo.get("/api/clv/summary?horizon_days=180&discount_rate=0.05").json()
    assert s["summary"]["estimate"] == pytest.approx(want.summary.estimate, rel=1e-12)
    assert s["summary"]["ci_low"] < s["summary"]["estimate"] < s["summary"]["ci_high"]
    assert s["summary"]["n"] == want.n and s["method"]


def test_bad_requests_get_the_envelope(demo):
    e = assert_envelope(
        demo.post("/api/clv/fit", json={"calibration_end": "2001-01-01"}), 422, "invalid_request"
    )
    assert "outside the orders' range" in e["message"]
    assert_envelope(demo.post("/api/clv/fit", json={"unit": "month"}), 422, "invalid_request")
    assert_envelope(demo.get("/api/clv/customers?horizon_days=0"), 422, "invalid_request")
    assert_envelope(demo.get("/api/clv/summary?as_of=never"), 422, "invalid_request")


def test_an_empty_store_says_there_are_no_orders(api):
    e = assert_envelope(api.get("/api/clv/summary"), 422, "analysis_error")
    assert "orders table has no orders" in e["message"]
    assert_envelope(api.post("/api/clv/fit", json={}), 422, "analysis_error")
