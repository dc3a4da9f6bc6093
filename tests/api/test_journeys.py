"""GET /api/journeys/...: the workspace's journey results, with the CLI's options."""

from __future__ import annotations

import json

from tests.api.conftest import assert_envelope

SHOP = "visit_site,product_viewed,added_to_cart,checkout_started,payment_submitted,order_placed"


def _plain(obj):
    return json.loads(json.dumps(obj, default=str))


def test_funnel_equals_the_workspace(demo):
    r = demo.get(f"/api/journeys/funnel?steps={SHOP}&case=session&by=segment")
    assert r.status_code == 200, r.text
    body = r.json()
    with demo.client.app.state.cx.lock:
        want = demo.ws.journeys.funnel(SHOP, case="session", by=["segment"]).to_dict()
    assert body == _plain(want)
    assert body["steps"] == SHOP.split(",") and body["case"] == "session"
    rec = body["records"][1]
    assert {"step", "cases", "customers", "conversion", "ci_low", "ci_high",
            "conversion_from_first", "median_hours", "p90_hours", "p_value", "q_value",
            "significant", "segment"} <= set(rec)  # fmt: skip
    # repeated steps work as the comma-separated list does
    again = demo.get("/api/journeys/funnel?" + "&".join(f"steps={s}" for s in SHOP.split(","))
                     + "&case=session&by=segment")  # fmt: skip
    assert again.json() == body


def test_paths_graph_outcomes_touchpoints(demo):
    paths = demo.get("/api/journeys/paths?case=session&top=5&max_steps=8&collapse=true").json()
    assert len(paths["variants"]) == 5 and paths["collapse"] is True
    graph = demo.get("/api/journeys/graph?case=session").json()
    assert graph["arcs"] == graph["events"] - graph["cases"]
    assert sum(graph["start_activities"].values()) == graph["cases"]
    with demo.client.app.state.cx.lock:
        assert graph == _plain(demo.ws.journeys.graph(case="session").to_dict())
    out = demo.get("/api/journeys/outcomes?group=touchpoint&top=5").json()
    assert out["group"] == "touchpoint" and len(out["records"]) == 5
    tps = demo.get("/api/journeys/touchpoints?include=cases").json()
    assert any(t["touchpoint"] == "cases:opened" for t in tps)
    assert tps == sorted(tps, key=lambda t: (-t["events"], t["touchpoint"]))


def test_mistakes_are_one_envelope(demo):
    assert_envelope(demo.client.get(f"/api/journeys/funnel?steps={SHOP}"), 401, "unauthenticated")
    e = assert_envelope(demo.get("/api/journeys/funnel?steps=visit_site,nope"), 422, "analysis_error")
    assert "step 'nope' never occurs" in e["message"]
    e = assert_envelope(demo.get("/api/journeys/funnel?steps=visit_site"), 422, "analysis_error")
    assert "at least two steps" in e["message"]
    e = assert_envelope(demo.get(f"/api/journeys/funnel?steps={SHOP}&by=bogus"), 422, "invalid_request")
    assert "unknown attribute 'bogus'" in e["message"]
    assert_envelope(demo.get(f"/api/journeys/funnel?steps={SHOP}&within=0"), 422,
                    "invalid_request")  # fmt: skip
    assert_envelope(demo.get("/api/journeys/funnel"), 422, "invalid_request")
    e = assert_envelope(demo.get("/api/journeys/graph?case=ticket"), 422, "analysis_error")
    assert "unknown case 'ticket'" in e["message"]
    assert_envelope(demo.get("/api/journeys/outcomes?group=cohort"), 422, "invalid_request")
    assert_envelope(demo.get("/api/journeys/paths?top=0"), 422, "invalid_request")
