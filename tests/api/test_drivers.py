"""The drivers API answers what ``Workspace.drivers`` computes, keeps it until the data
changes, and answers bad requests with the error envelope."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_envelope


def test_drivers_equal_the_workspace(demo):
    r = demo.get("/api/drivers?outcome=csat&bootstrap=50&seed=2")
    assert r.status_code == 200, r.text
    body = r.json()
    (a,) = body["analyses"]
    assert a["outcome"] == "csat" and a["model"] == "linear" and a["bootstrap"] == 50
    expected = demo.ws.drivers("csat", bootstrap=50, seed=2).records()
    assert [d["driver"] for d in a["drivers"]] == [d["driver"] for d in expected]
    for got, want in zip(a["drivers"], expected, strict=True):
        assert got["share"] == pytest.approx(want["share"], rel=1e-12)
        assert got["ci_low"] == pytest.approx(want["ci_low"], rel=1e-12)
    assert set(a["r2"]) >= {"estimate", "ci_low", "ci_high", "n"}


def test_named_drivers_and_slices(demo):
    r = demo.get("/api/drivers?outcome=nps&driver=late_deliveries,orders&by=segment&bootstrap=0")
    assert r.status_code == 200, r.text
    analyses = r.json()["analyses"]
    assert len(analyses) >= 2 and all("segment" in a for a in analyses)
    assert all({d["driver"] for d in a["drivers"]} == {"late_deliveries", "orders"}
               for a in analyses)  # fmt: skip


def test_moments_and_features(demo):
    r = demo.get("/api/drivers/moments?outcome=nps&outcome=csat")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rank_by"] == "nps" and body["outcomes"] == ["nps", "csat"]
    assert {m["moment"] for m in body["moments"]} >= {"late_delivery"}
    f = demo.get("/api/drivers/features?unit=customers")
    assert f.status_code == 200
    assert {"tenure_days", "recency_days"} <= {x["name"] for x in f.json()}


def test_bad_requests_get_the_envelope(demo):
    err = assert_envelope(demo.get("/api/drivers?outcome=loyalty"), 422, "analysis_error")
    assert "unknown outcome 'loyalty'" in err["message"]
    err = assert_envelope(demo.get("/api/drivers?outcome=nps&driver=speed"), 422, "analysis_error")
    assert "unknown driver(s) 'speed'" in err["message"]
    assert_envelope(demo.get("/api/drivers?bootstrap=-1"), 422, "invalid_request")
    assert_envelope(demo.get("/api/drivers/moments?outcome=promoter"), 422, "analysis_error")


def test_a_key_is_needed(demo):
    assert demo.client.get("/api/drivers").status_code == 401
