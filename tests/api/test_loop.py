"""The closed loop over HTTP: follow-ups listed, shown and worked, alerts, a run of the rules.

One demo world with rules run over it (``tests/_loop.py``), shared by the module; every
test that changes a follow-up takes one no other test touches.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cxray.api import ApiSettings, create_app
from cxray.workspace import Workspace
from tests._loop import ANALYST, RULES, build_loop_world
from tests.api.conftest import Api, assert_envelope


@pytest.fixture(scope="module")
def loop(tmp_path_factory) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("loop-api")
    db, config = folder / "loop.duckdb", folder / "cxray.toml"
    keys = build_loop_world(db, config, seed=11, customers=1500, months=6)
    app = create_app(db, config, settings=ApiSettings(run_loop=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, keys, db)


@pytest.fixture(scope="module")
def untouched(loop) -> Iterator[str]:
    """Ids of open follow-ups of the team cx, handed out one at a time."""
    page = loop.get("/api/followups?status=open&team=cx&limit=1000").json()
    return iter([r["followup_id"] for r in page["rows"]])


def library(loop: Api, **kw) -> dict:
    with loop.client.app.state.cx.lock:  # type: ignore[attr-defined]
        return loop.ws.loop.followups.list(**kw)


# ------------------------------------------------------------ reading


def test_the_list_is_the_librarys(loop):
    body = loop.get("/api/followups?limit=20").json()
    want = library(loop, limit=20)
    assert body["total"] == want["total"] > 100
    assert [r["followup_id"] for r in body["rows"]] == [r["followup_id"] for r in want["rows"]]
    assert body["limit"] == 20 and body["offset"] == 0 and body["has_more"] is True
    dues = [r["due_at"] for r in body["rows"]]
    assert dues == sorted(dues)  # due first
    first = body["rows"][0]
    assert set(first) >= {"followup_id", "alert_id", "rule", "customer_id", "title", "status",
                          "owner", "team", "opened_at", "due_at", "overdue"}  # fmt: skip
    assert first["due_at"].endswith("Z")


def test_pages_do_not_overlap(loop):
    a = loop.get("/api/followups?limit=30&offset=0").json()["rows"]
    b = loop.get("/api/followups?limit=30&offset=30").json()["rows"]
    assert len(a) == len(b) == 30
    assert not {r["followup_id"] for r in a} & {r["followup_id"] for r in b}


@pytest.mark.parametrize(
    ("query", "kw"),
    [
        ("status=active", {"status": "active"}),
        ("team=support", {"team": "support"}),
        ("owner=ana", {"owner": "ana"}),
        ("rule=product-spike", {"rule": "product-spike"}),
        ("overdue=true", {"overdue": True}),
    ],
)
def test_filters(loop, query, kw):
    body = loop.get(f"/api/followups?{query}&limit=1000").json()
    want = library(loop, limit=1000, **kw)
    assert body["total"] == want["total"] > 0
    assert {r["followup_id"] for r in body["rows"]} == {r["followup_id"] for r in want["rows"]}


def test_overdue_ones_are_the_reopened_cases_past_their_sla(loop):
    rows = loop.get("/api/followups?overdue=true&limit=1000").json()["rows"]
    assert rows and all(r["overdue"] and r["rule"] == "reopened-cases" for r in rows)
    assert all(r["status"] in ("open", "contacted") for r in rows)


def test_a_customers_followups(loop):
    some = loop.get("/api/followups?team=cx&limit=1").json()["rows"][0]
    body = loop.get(f"/api/followups?customer={some['customer_id']}").json()
    assert body["total"] >= 1
    assert all(r["customer_id"] == some["customer_id"] for r in body["rows"])


def test_mine_is_the_keys_name(loop):
    mine = loop.get("/api/followups?mine=true&limit=1000", role="analyst").json()
    assert mine["total"] == library(loop, owner=ANALYST)["total"] > 0
    assert all(r["owner"] == ANALYST for r in mine["rows"])
    # another key's name owns none of them
    assert loop.get("/api/followups?mine=true").json()["total"] == 0
    same = loop.get(f"/api/followups?mine=true&owner={ANALYST}", role="analyst")
    assert same.json()["total"] == mine["total"]
    err = assert_envelope(
        loop.get("/api/followups?mine=true&owner=someone", role="analyst"), 422, "invalid_request"
    )
    assert "mine" in err["message"]


def test_limit_zero_counts_only(loop):
    body = loop.get("/api/followups?limit=0&status=active").json()
    assert body["rows"] == [] and body["total"] > 0


@pytest.mark.parametrize("query", ["status=done", "limit=1001", "offset=-1", "overdue=maybe"])
def test_bad_parameters_are_422(loop, query):
    assert_envelope(loop.get(f"/api/followups?{query}"), 422, "invalid_request")


def test_one_followup_with_its_alert_and_history(loop):
    fid = loop.get("/api/followups?rule=detractors&limit=1").json()["rows"][0]["followup_id"]
    body = loop.get(f"/api/followups/{fid}").json()
    assert body["followup_id"] == fid
    assert body["alert"]["followup_id"] == fid and body["alert"]["rule"] == "detractors"
    assert body["alert"]["details"]["nps"] <= 6  # what fired it
    assert body["history"][0]["action"] == "opened" and body["history"][0]["actor"] == "cxray"


def test_unknown_followup_is_404(loop):
    err = assert_envelope(loop.get("/api/followups/FU-nothing"), 404, "not_found")
    assert "FU-nothing" in err["message"]
    for action, body in (("assign", {"owner": "x"}), ("contact", {}), ("notes", {"text": "x"}),
                         ("close", {})):  # fmt: skip
        assert_envelope(loop.post(f"/api/followups/FU-nothing/{action}", json=body), 404,
                        "not_found")  # fmt: skip


def test_reading_needs_a_key(loop):
    assert_envelope(loop.client.get("/api/followups"), 401, "unauthenticated")
    assert_envelope(loop.client.get("/api/alerts"), 401, "unauthenticated")


# ------------------------------------------------------------ working


def last(body: dict) -> dict:
    return body["history"][-1]


def test_contact_then_close_records_the_key_name(loop, untouched):
    fid = next(untouched)
    r = loop.post(f"/api/followups/{fid}/contact", json={"note": "Called, will replace it"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (
        body["status"] == "contacted" and body["contacted_at"] and body["note"].startswith("Called")
    )
    ev = last(body)
    assert (ev["actor"], ev["action"], ev["status"]) == (ANALYST, "contacted", "contacted")
    assert ev["detail"] == {"note": "Called, will replace it"}

    r = loop.post(f"/api/followups/{fid}/close", json={"outcome": "replacement sent"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "resolved" and body["outcome"] == "replacement sent"
    assert body["closed_at"] and (last(body)["actor"], last(body)["action"]) == (
        ANALYST,
        "resolved",
    )
    # what the API answered is what the store holds
    with loop.client.app.state.cx.lock:  # type: ignore[attr-defined]
        stored = loop.ws.loop.followups.get(fid)
    assert [e["actor"] for e in stored["history"]] == ["cxray", ANALYST, ANALYST]
    assert loop.get(f"/api/followups/{fid}").json()["status"] == "resolved"
    closed = loop.get("/api/followups?status=resolved&limit=1000").json()["rows"]
    assert fid in {r["followup_id"] for r in closed}


def test_close_without_contact(loop, untouched):
    fid = next(untouched)
    body = loop.post(
        f"/api/followups/{fid}/close", json={"contacted": False, "note": "no phone number"}
    ).json()
    assert body["status"] == "closed_no_contact" and body["contacted_at"] is None
    assert last(body)["action"] == "closed_no_contact" and last(body)["actor"] == ANALYST


def test_a_closed_followup_cannot_be_contacted_or_closed_again(loop, untouched):
    fid = next(untouched)
    assert loop.post(f"/api/followups/{fid}/close", json={"outcome": "done"}).status_code == 200
    before = loop.get(f"/api/followups/{fid}").json()
    for action, body in (("contact", {"note": "again"}), ("close", {"outcome": "again"}),
                         ("assign", {"owner": "bob"})):  # fmt: skip
        err = assert_envelope(loop.post(f"/api/followups/{fid}/{action}", json=body), 409,
                              "conflict")  # fmt: skip
        assert "already resolved" in err["message"]
    after = loop.get(f"/api/followups/{fid}").json()
    assert after["history"] == before["history"]  # nothing written


def test_contacting_twice_is_a_conflict(loop, untouched):
    fid = next(untouched)
    assert loop.post(f"/api/followups/{fid}/contact", json={}).status_code == 200
    assert_envelope(loop.post(f"/api/followups/{fid}/contact", json={}), 409, "conflict")


def test_assign(loop, untouched):
    fid = next(untouched)
    body = loop.post(f"/api/followups/{fid}/assign", json={"owner": "bea", "team": "vip"}).json()
    assert (body["owner"], body["team"]) == ("bea", "vip")
    ev = last(body)
    assert (ev["actor"], ev["action"]) == (ANALYST, "assigned")
    assert ev["detail"] == {"owner": "bea", "team": "vip"}
    body = loop.post(f"/api/followups/{fid}/assign", json={"team": ""}, role="admin").json()
    assert (body["owner"], body["team"]) == ("bea", None)  # '' clears; absent keeps
    assert last(body)["actor"] == "root"
    assert loop.get("/api/followups?team=vip").json()["total"] == 0
    err = assert_envelope(loop.post(f"/api/followups/{fid}/assign", json={}), 422,
                          "invalid_request")  # fmt: skip
    assert "owner or a team" in err["message"]


def test_notes(loop, untouched):
    fid = next(untouched)
    r = loop.post(f"/api/followups/{fid}/notes", json={"text": "  Left a voicemail  "})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["note"] == "Left a voicemail" and body["status"] == "open"
    assert (last(body)["actor"], last(body)["action"]) == (ANALYST, "note")
    assert_envelope(loop.post(f"/api/followups/{fid}/notes", json={"text": ""}), 422,
                    "invalid_request")  # fmt: skip
    assert_envelope(loop.post(f"/api/followups/{fid}/notes", json={"text": "   "}), 422,
                    "invalid_request")  # fmt: skip
    assert_envelope(loop.post(f"/api/followups/{fid}/notes", json={}), 422, "invalid_request")
    # a closed follow-up still takes notes
    loop.post(f"/api/followups/{fid}/close", json={"contacted": False})
    assert loop.post(f"/api/followups/{fid}/notes", json={"text": "after"}).status_code == 201


def test_viewers_may_not_change_anything(loop, untouched):
    fid = next(untouched)
    before = loop.get(f"/api/followups/{fid}").json()
    for action, body in (("assign", {"owner": "vic"}), ("contact", {"note": "x"}),
                         ("notes", {"text": "x"}), ("close", {"outcome": "x"})):  # fmt: skip
        r = loop.post(f"/api/followups/{fid}/{action}", json=body, role="viewer")
        err = assert_envelope(r, 403, "forbidden")
        assert "analyst" in err["message"]
    assert_envelope(loop.post("/api/loop/run", json={}, role="viewer"), 403, "forbidden")
    assert loop.get(f"/api/followups/{fid}").json() == before


def test_a_cookie_cannot_change_a_followup_from_another_site(loop, untouched):
    fid = next(untouched)
    client = TestClient(loop.client.app, raise_server_exceptions=False)
    assert client.post("/api/login", json={"key": loop.keys["analyst"]}).status_code == 200
    cross = client.post(
        f"/api/followups/{fid}/contact", json={}, headers={"Origin": "https://evil.example"}
    )
    assert_envelope(cross, 403, "forbidden")
    same = client.post(f"/api/followups/{fid}/contact", json={})
    assert same.status_code == 200 and last(same.json())["actor"] == ANALYST


def test_bad_bodies_are_422(loop, untouched):
    fid = next(untouched)
    assert_envelope(
        loop.post(f"/api/followups/{fid}/close", json={"contacted": "perhaps"}),
        422,
        "invalid_request",
    )
    assert_envelope(
        loop.post(f"/api/followups/{fid}/assign", json={"owner": "x" * 201}), 422, "invalid_request"
    )


# ------------------------------------------------------------ alerts and runs


def test_alerts_newest_first_with_what_fired_them(loop):
    body = loop.get("/api/alerts?limit=1000").json()
    alerts = body["alerts"]
    with loop.client.app.state.cx.lock:  # type: ignore[attr-defined]
        want = loop.ws.loop.alerts(limit=1000)
    assert [a["alert_id"] for a in alerts] == [a["alert_id"] for a in want]
    fired = [a["fired_at"] for a in alerts]
    assert fired == sorted(fired, reverse=True)
    assert {a["rule"] for a in alerts} == {"detractors", "reopened-cases", "product-spike",
                                           "nps-action"}  # fmt: skip
    kpi = next(a for a in alerts if a["rule"] == "nps-action")
    assert kpi["details"]["estimate"] < kpi["details"]["action_threshold"]
    assert kpi["details"]["ci_low"] <= kpi["details"]["estimate"] <= kpi["details"]["ci_high"]
    assert kpi["followup_id"] is None  # it only notifies


def test_alerts_say_where_they_were_sent(loop):
    alerts = loop.get("/api/alerts?rule=product-spike").json()["alerts"]
    assert len(alerts) == 1
    (msg,) = alerts[0]["messages"]
    assert msg["channel"] == "webhook" and msg["target"].startswith("webhook:http://127.0.0.1:9")
    assert msg["status"] == "pending" and msg["attempts"] == 0 and "payload" not in msg
    assert alerts[0]["notified"]["targets"] == [msg["target"]]
    detractor = loop.get("/api/alerts?rule=detractors&limit=1").json()["alerts"][0]
    assert detractor["messages"] == []


def test_alert_pages(loop):
    a = loop.get("/api/alerts?limit=5").json()
    b = loop.get("/api/alerts?limit=5&offset=5").json()
    assert a["has_more"] and len(a["alerts"]) == len(b["alerts"]) == 5
    assert not {x["alert_id"] for x in a["alerts"]} & {x["alert_id"] for x in b["alerts"]}
    end = loop.get("/api/alerts?limit=1000&offset=5").json()
    assert end["has_more"] is False
    assert_envelope(loop.get("/api/alerts?limit=0"), 422, "invalid_request")


def test_a_run_records_nothing_twice_and_delivers(loop):
    r = loop.post("/api/loop/run", json={"backfill": True})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["rules"] == RULES.count("[[loop.rules]]")
    assert report["new_alerts"] == 0 and report["errors"] == {}
    assert set(report) >= {"fired", "delivered", "failed", "retrying"}
    # the webhook nobody listens on failed and waits for a retry; the e-mail has no server
    assert report["delivered"] == 0 and report["retrying"] + report["failed"] >= 1
    msg = loop.get("/api/alerts?rule=product-spike").json()["alerts"][0]["messages"][0]
    assert msg["attempts"] == 1 and msg["last_error"]
    assert loop.post("/api/loop/run").json()["new_alerts"] == 0  # an empty body is fine


def test_an_import_through_the_server_fires_the_rules(tmp_path):
    db, config = tmp_path / "small.duckdb", tmp_path / "cxray.toml"
    keys = build_loop_world(db, config, seed=3, customers=200, months=2)
    app = create_app(db, config, settings=ApiSettings(run_loop=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        api = Api(client, keys, db)
        before = api.get("/api/followups?rule=detractors&limit=0").json()["total"]
        csv = (
            "response_id,customer_id,submitted_at,survey,nps,comment\n"
            "RX1,C000001,2026-01-05T10:00:00Z,post_delivery,2,Never again\n"
        )
        r = api.post("/api/imports/responses", files={"files": ("new.csv", csv, "text/csv")})
        assert r.status_code == 201, r.text
        rows = api.get("/api/followups?rule=detractors&limit=1000").json()
        assert rows["total"] == before + 1
        (new,) = [x for x in rows["rows"] if x["subject"] == "responses:RX1"]
        assert new["customer_id"] == "C000001"


def test_an_empty_store_has_no_followups(api):
    assert api.get("/api/followups").json() == {
        "total": 0, "rows": [], "has_more": False, "limit": 100, "offset": 0
    }  # fmt: skip
    assert api.get("/api/alerts").json()["alerts"] == []
    assert api.post("/api/loop/run", json={}).json()["rules"] == 0


def test_the_workspace_is_the_servers(loop):
    assert isinstance(loop.ws, Workspace)
