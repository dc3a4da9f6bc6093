"""Surveys over the API: definitions, the JSON submission endpoint, invitations."""

from __future__ import annotations

import datetime as dt

import pytest

from cxray.surveys import Invitation
from tests.surveys.conftest import PULSE


@pytest.fixture
def sapi(make_api):
    api = make_api()
    r = api.client.put("/api/surveys/pulse", json=PULSE, headers=api.auth("admin"))
    assert r.status_code == 201, r.text
    return api


def _submit(api, body, **kw):
    return api.client.post("/api/surveys/pulse/responses", json=body, **kw)


def _nps_n(api) -> int:
    card = api.get("/api/scorecard?metric=nps").json()
    return next((r["n"] for r in card if r["metric"] == "nps"), 0)  # none before any response


def test_a_response_counts_in_the_scorecard_at_once(sapi):
    assert _nps_n(sapi) == 0  # computed, and kept until the data changes
    for i in range(3):
        assert _submit(sapi, {"answers": {"nps": 9}, "submission_id": f"c{i}"}).status_code == 201
        assert _nps_n(sapi) == i + 1


def test_submit_answers_201_with_the_stored_response_id(sapi):
    r = _submit(sapi, {"answers": {"nps": 3, "improve": "Call me back"}, "submission_id": "a"})
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "created" and body["completed"] is True
    stored = sapi.ws.store.backend.con.sql(
        f"SELECT nps, comment, channel FROM responses WHERE response_id = '{body['response_id']}'"
    ).fetchall()
    assert stored == [(3, "Call me back", "api")]
    card = sapi.get("/api/scorecard?metric=nps").json()
    assert next(r for r in card if r["metric"] == "nps")["n"] == 1


def test_repeat_is_200_and_a_change_409(sapi):
    first = _submit(sapi, {"answers": {"nps": 9}, "submission_id": "x"})
    again = _submit(sapi, {"answers": {"nps": 9}, "submission_id": "x"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["response_id"] == again.json()["response_id"]
    changed = _submit(sapi, {"answers": {"nps": 1}, "submission_id": "x"})
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "already_submitted"
    # the Idempotency-Key header works like submission_id
    h = {"Idempotency-Key": "k-1"}
    a = _submit(sapi, {"answers": {"nps": 7}}, headers=h)
    b = _submit(sapi, {"answers": {"nps": 7}}, headers=h)
    assert (a.status_code, b.status_code) == (201, 200)
    assert sapi.ws.store.table("responses").count().execute() == 2


def test_partial_response_then_the_rest(sapi):
    p = _submit(sapi, {"answers": {"nps": 4}, "submission_id": "p", "complete": False})
    assert p.status_code == 201 and p.json()["completed"] is False
    resume = p.json()["resume_token"]  # the next step is sent with it (tests/api/test_findings)
    c = _submit(sapi, {"answers": {"improve": "x"}, "submission_id": "p", "resume_token": resume})
    assert c.status_code == 200
    assert c.json() == {**c.json(), "status": "updated", "completed": True}


@pytest.mark.parametrize(
    ("body", "status", "code", "text"),
    [
        ({"answers": {"nps": 11}}, 422, "invalid_submission", "must be from 0 to 10"),
        ({"answers": {"nps": "9"}}, 422, "invalid_submission", "whole number"),
        ({"answers": {"csat": 4}}, 422, "invalid_submission", "'nps' is required"),
        ({"answers": {"nps": 9, "improve": "x"}}, 422, "invalid_submission", "show_if"),
        ({"answers": [9]}, 422, "invalid_submission", "JSON object"),
        ({"nps": 9}, 422, "invalid_submission", "unknown field"),
        ({"answers": {"nps": 9}, "customer_id": "C1"}, 422, "invalid_submission", "API key"),
        ({"answers": {"nps": 9}, "token": "v1.x.y"}, 403, "invalid_token", "forged"),
        ({"answers": {"nps": 9}, "token": 5}, 422, "invalid_submission", "must be a string"),
        ({"answers": {"nps": 9}, "language": "fr"}, 422, "invalid_submission", "not offered"),
    ],
)
def test_bad_submissions_are_4xx_and_write_nothing(sapi, body, status, code, text):
    r = _submit(sapi, body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert text in r.json()["error"]["message"]
    assert sapi.ws.store.table("responses").count().execute() == 0


def test_bodies_that_are_not_answers(sapi):
    url = "/api/surveys/pulse/responses"
    big = sapi.client.post(url, content=b"{" + b" " * 70_000 + b"}",
                           headers={"Content-Type": "application/json"})  # fmt: skip
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"
    junk = sapi.client.post(url, content=b"{nope", headers={"Content-Type": "application/json"})
    assert junk.status_code == 422 and "not valid JSON" in junk.json()["error"]["message"]
    form = sapi.client.post(url, data={"answers": "x"})
    assert form.status_code == 415
    assert sapi.client.post("/api/surveys/nope/responses", json={"answers": {}}).status_code == 404
    assert sapi.ws.store.table("responses").count().execute() == 0


def test_tokens_expired_reused_and_for_another_survey(sapi):
    sv = sapi.ws.surveys
    con = sapi.ws.store.backend.con
    con.execute(
        "INSERT INTO _cx_invitations (invitation_id, survey, customer_id, created_at, expires_at) "
        "VALUES ('i1', 'pulse', 'C9', now(), now() + INTERVAL 3 DAY)"
    )
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    token = sv.signer.sign(Invitation("i1", "pulse", "C9", soon))
    ok = _submit(sapi, {"answers": {"nps": 10}, "token": token})
    assert ok.status_code == 201 and ok.json()["response_id"] == "inv_i1"
    assert con.sql("SELECT customer_id FROM responses").fetchall() == [("C9",)]
    reused = _submit(sapi, {"answers": {"nps": 2}, "token": token})
    assert reused.status_code == 409
    old = sv.signer.sign(Invitation("i1", "pulse", "C9", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    expired = _submit(sapi, {"answers": {"nps": 2}, "token": old})
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "token_expired"
    other = sv.signer.sign(Invitation("i1", "other", "C9", soon))
    assert _submit(sapi, {"answers": {"nps": 2}, "token": other}).status_code == 403
    assert con.sql("SELECT count(*) FROM responses").fetchall() == [(1,)]


def test_response_rate_with_its_interval(sapi):
    con = sapi.ws.store.backend.con
    for i in range(40):  # 40 invitations e-mailed, 10 answered
        con.execute(
            "INSERT INTO _cx_invitations (invitation_id, survey, customer_id, created_at, "
            "expires_at, sent_at) VALUES (?, 'pulse', ?, now(), now() + INTERVAL 3 DAY, now())",
            [f"r{i}", f"C{i}"],
        )
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    for i in range(10):
        token = sapi.ws.surveys.signer.sign(Invitation(f"r{i}", "pulse", f"C{i}", soon))
        assert _submit(sapi, {"answers": {"nps": 9}, "token": token}).status_code == 201
    (listed,) = sapi.get("/api/surveys").json()["surveys"]
    assert (listed["invited"], listed["sent"], listed["responded"]) == (40, 40, 10)
    rate = listed["response_rate"]
    assert (rate["estimate"], rate["n"], rate["unit"]) == (25.0, 40, "%")
    # Wilson 95% interval for 10 of 40, by hand: centre 0.2719, half-width 0.1300
    assert rate["ci_low"] == pytest.approx(14.19, abs=0.01)
    assert rate["ci_high"] == pytest.approx(40.19, abs=0.01)


def test_analyst_keys_may_name_the_customer(sapi):
    r = _submit(sapi, {"answers": {"nps": 8}, "customer_id": "C5"}, headers=sapi.auth("analyst"))
    assert r.status_code == 201
    bad = _submit(sapi, {"answers": {"nps": 8}, "customer_id": "C5"},
                  headers={"Authorization": "Bearer cx_wrong"})  # fmt: skip
    assert bad.status_code == 401


def test_definitions(sapi):
    listed = sapi.get("/api/surveys").json()["surveys"]
    assert [s["name"] for s in listed] == ["pulse"]
    assert listed[0]["source"] == "api" and listed[0]["questions"] == len(PULSE["questions"])
    one = sapi.get("/api/surveys/pulse").json()
    assert one["definition"]["questions"][1]["show_if"]["max"] == 6
    # viewers and analysts may not define surveys; a replace is 200
    denied = sapi.client.put("/api/surveys/x", json=PULSE, headers=sapi.auth("analyst"))
    assert denied.status_code == 403
    again = sapi.client.put("/api/surveys/pulse", json=PULSE, headers=sapi.auth("admin"))
    assert again.status_code == 200
    bad = sapi.client.put("/api/surveys/y", json={"title": "t", "questions": []},
                          headers=sapi.auth("admin"))  # fmt: skip
    assert bad.status_code == 422 and "at least one question" in bad.json()["error"]["message"]
    assert sapi.client.get("/api/surveys").status_code == 401
