"""GET /api/scorecard answers the records of `cxray scorecard --format json`."""

from __future__ import annotations

import json
import math

from tests.api.conftest import assert_envelope


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def _assert_records_equal(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        bad = {k: (g[k], w[k]) for k in g if not _same(g[k], w[k])}
        assert not bad, (g["metric"], bad)


def test_scorecard_equals_the_workspace_records(demo):
    r = demo.get("/api/scorecard?by=region&period=month&metric=nps,csat")
    assert r.status_code == 200, r.text
    want = json.loads(
        json.dumps(
            demo.ws.scorecard(by=["region"], period="month", metrics=["nps", "csat"]).records(),
            default=str,
        )
    )
    _assert_records_equal(r.json(), want)
    assert {rec["metric"] for rec in r.json()} == {"nps", "csat"}
    assert all("region" in rec and "period" in rec for rec in r.json())


def test_scorecard_takes_the_cli_options(demo):
    """--from, --period and repeated --metric, as `cxray scorecard` takes them."""
    r = demo.get("/api/scorecard?metric=nps&metric=fcr&from=2025-01-01&period=quarter")
    assert r.status_code == 200, r.text
    with demo.client.app.state.cx.lock:
        card = demo.ws.scorecard(period="quarter", start="2025-01-01", metrics=["nps", "fcr"])
    _assert_records_equal(r.json(), json.loads(json.dumps(card.records(), default=str)))


def test_scorecard_needs_a_key_and_checks_its_options(demo):
    assert_envelope(demo.client.get("/api/scorecard"), 401, "unauthenticated")
    assert demo.get("/api/scorecard", role="viewer").status_code == 200
    err = assert_envelope(demo.get("/api/scorecard?metric=nope"), 422, "invalid_request")
    assert "unknown KPI" in err["message"]
    assert_envelope(demo.get("/api/scorecard?period=decade"), 422, "invalid_request")
    assert_envelope(demo.get("/api/scorecard?by=nowhere"), 422, "invalid_request")
