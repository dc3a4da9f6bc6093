"""``/api/clv``: the money of CX answers what ``ws.value.money`` computes, to viewers, kept
until the data or a kept model changes; bad requests get the error envelope."""

from __future__ import annotations

import json

import pytest

from cxray.store import MODELS
from tests.api.conftest import assert_envelope


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An app over a demo world large enough for every NPS group (1,500 customers, 8 months)."""
    from fastapi.testclient import TestClient

    from cxray.api import ApiSettings, create_app
    from cxray.workspace import Workspace
    from tests.api.conftest import Api, _keys

    folder = tmp_path_factory.mktemp("money-api")
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.load_demo(seed=4, customers=1500, months=8)
    keys = _keys(db)
    app = create_app(db, folder / "cxray.toml", settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, keys, db)


def test_by_nps_group_equals_the_workspace(world):
    r = world.get("/api/clv/by-nps-group?horizon_days=120")
    assert r.status_code == 200, r.text
    body = r.json()
    want = json.loads(json.dumps(world.ws.value.money.by_nps_group(horizon_days=120).to_dict()))
    assert body == want
    assert [g["group"] for g in body["groups"]][:3] == ["promoter", "passive", "detractor"]
    assert {"estimate", "ci_low", "ci_high", "n", "method"} <= set(body)
    assert "cxray clv fit" in body["clv_source"]


def test_at_risk_by_region_and_default(world):
    r = world.get("/api/clv/at-risk?by=region")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["by"] == "region" and body["source"] == "observed"
    assert any("cxray churn model" in n for n in body["notes"])
    total = sum(g["revenue_at_risk"] for g in body["groups"])
    assert body["estimate"] == pytest.approx(total)
    assert body["ci_low"] <= body["estimate"] <= body["ci_high"]
    assert world.get("/api/clv/at-risk").json()["by"] == "nps_group"


def test_what_if_scales_and_roi_speaks(world):
    a = world.get("/api/clv/what-if?share=0.1").json()
    b = world.get("/api/clv/what-if?share=0.3&source=detractor&target=passive").json()
    assert b["estimate"] == pytest.approx(3 * a["estimate"])
    assert a["sentence"].startswith("Moving 10% of detractors")
    roi = world.get("/api/clv/roi")
    assert roi.status_code == 200, roi.text
    body = roi.json()
    assert body["estimate"] == pytest.approx(a["estimate"])
    assert body["sentences"] and body["assumptions"] and body["customers"] > 0


def test_viewer_reads_anonymous_does_not(world):
    assert world.get("/api/clv/roi", role="viewer").status_code == 200
    assert_envelope(world.client.get("/api/clv/roi"), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("url", "code", "says"),
    [
        ("/api/clv/what-if?share=2", "invalid_request", "share"),
        ("/api/clv/what-if?source=critic", "invalid_request", "source"),
        ("/api/clv/what-if?source=passive&target=passive", "analysis_error", "nothing moves"),
        ("/api/clv/at-risk?by=nope", "analysis_error", "unknown attribute by='nope'"),
        ("/api/clv/by-nps-group?horizon_days=0", "invalid_request", "horizon_days"),
    ],
)
def test_bad_requests(world, url, code, says):
    err = assert_envelope(world.get(url), 422, code)
    assert says in err["message"] + json.dumps(err["details"])


def test_empty_store_says_so(api):
    err = assert_envelope(api.get("/api/clv/roi"), 422, "analysis_error")
    assert "no data yet" in err["message"]


def test_a_kept_model_is_seen_at_once(world):
    """The cache key holds the latest kept models: a new one is not answered from memory."""
    from cxray.api._routes.money import _models

    cx = world.client.app.state.cx
    before = _models(cx)
    world.get("/api/clv/by-nps-group")
    with world.ws.write_lock:
        t = world.ws.store.backend.table(MODELS)
        assert "clv" not in {r[0] for r in before}
        world.ws.store.backend.raw_sql(
            f"INSERT INTO {MODELS} VALUES ('clv-x', 'clv', 'bgnbd', now(), 'v', '{{}}', '{{}}')"
        )
        assert t.count().to_pyarrow().as_py() >= 1
    after = _models(cx)
    with world.ws.write_lock:
        world.ws.store.backend.raw_sql(f"DELETE FROM {MODELS} WHERE model_id = 'clv-x'")
    assert after != before and "clv" in {r[0] for r in after}
    assert _models(cx) == before
