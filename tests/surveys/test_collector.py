"""The collector: durable group commits, idempotent repeats, partial responses, invitations."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from cxray.exceptions import (
    AlreadySubmittedError,
    InvalidTokenError,
    NotFoundError,
    QueryError,
    SubmissionError,
)
from cxray.store import INVITATIONS
from cxray.surveys import Invitation
from cxray.workspace import Workspace
from tests.surveys.conftest import PULSE


@pytest.fixture
def ws(tmp_path):
    with Workspace.open(tmp_path / "s.duckdb", tmp_path / "cxray.toml") as ws:
        ws.surveys.registry.save("pulse", PULSE)
        yield ws


def _rows(ws, sql="SELECT * FROM responses ORDER BY response_id"):
    return ws.store.backend.con.sql(sql).fetchall()


def test_new_response_lands_in_responses_with_its_columns(ws):
    sv = ws.surveys
    r = sv.collector.collect(
        sv.prepare("pulse", {"nps": 4, "improve": "Faster", "topics": ["price"]},
                   submission_id="s1", language="de", channel="web")
    )  # fmt: skip
    assert r.status == "created" and r.completed
    row = ws.store.backend.con.sql(
        "SELECT response_id, survey, touchpoint, channel, nps, comment, topics, completed, "
        "language FROM responses"
    ).fetchall()
    assert row == [(r.response_id, "pulse", "case_resolved", "web", 4, "Faster", "price", True,
                    "de")]  # fmt: skip
    # and it counts at once
    assert ws.store.table("responses").count().execute() == 1


def test_repeat_is_idempotent_and_completed_responses_are_final(ws):
    sv = ws.surveys
    sub = sv.prepare("pulse", {"nps": 9}, submission_id="same")
    first = sv.collector.collect(sub)
    again = sv.collector.collect(sv.prepare("pulse", {"nps": 9}, submission_id="same"))
    assert (first.status, again.status) == ("created", "unchanged")
    assert again.response_id == first.response_id
    with pytest.raises(AlreadySubmittedError, match="cannot be changed"):
        sv.collector.collect(sv.prepare("pulse", {"nps": 3}, submission_id="same"))
    assert _rows(ws, "SELECT count(*), min(nps) FROM responses") == [(1, 9)]
    sv.collector.close()
    log = _rows(ws, "SELECT source, rows_in, added, updated FROM _cx_imports")
    assert log == [("surveys", 1, 1, 0)]


def test_partial_then_complete(ws):
    sv = ws.surveys
    p = sv.collector.collect(sv.prepare("pulse", {"nps": 2}, submission_id="p", complete=False))
    assert (p.status, p.completed) == ("created", False)
    assert _rows(ws, "SELECT nps, comment, completed FROM responses") == [(2, None, False)]
    c = sv.collector.collect(sv.prepare("pulse", {"improve": "call back"}, submission_id="p"))
    assert (c.status, c.completed) == ("updated", True)
    assert c.answers == {"nps": 2, "improve": "call back"}
    assert _rows(ws, "SELECT nps, comment, completed FROM responses") == [(2, "call back", True)]
    sv.collector.close()  # the import log is brought up to date at least once a second
    log = _rows(ws, "SELECT rows_in, added, updated FROM _cx_imports")
    assert log == [(2, 1, 1)]


def test_a_required_answer_missing_from_a_complete_response(ws):
    sv = ws.surveys
    with pytest.raises(SubmissionError, match="'nps' is required"):
        sv.collector.collect(sv.prepare("pulse", {"csat": 4}))
    assert _rows(ws, "SELECT count(*) FROM responses") == [(0,)]


def test_concurrent_submissions_are_grouped_and_all_stored(ws):
    sv = ws.surveys
    results, errors = [], []

    def client(i: int) -> None:
        for j in range(50):
            try:
                results.append(sv.collector.collect(
                    sv.prepare("pulse", {"nps": (i + j) % 11}, submission_id=f"{i}-{j}")
                ))  # fmt: skip
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.response_id for r in results}) == 400
    assert _rows(ws, "SELECT count(*), count(DISTINCT response_id) FROM responses") == [(400, 400)]
    assert sv.collector.commits < 400  # grouped


def test_bad_items_fail_alone_in_a_batch(ws):
    sv = ws.surveys
    good = [sv.collector.submit(sv.prepare("pulse", {"nps": 5}, submission_id=f"g{i}"))
            for i in range(5)]  # fmt: skip
    bad = sv.collector.submit(sv.prepare("pulse", {"csat": 3}, submission_id="b"))
    assert all(f.result(10).status == "created" for f in good)
    with pytest.raises(SubmissionError):
        bad.result(10)
    assert _rows(ws, "SELECT count(*) FROM responses") == [(5,)]


def test_invitations_one_response_each(ws):
    sv = ws.surveys
    now = dt.datetime.now(dt.UTC)
    ws.store.backend.con.execute(
        f"INSERT INTO {INVITATIONS} (invitation_id, survey, customer_id, created_at, expires_at) "
        "VALUES ('inv1', 'pulse', 'C1', now(), now() + INTERVAL 1 DAY)"
    )
    token = sv.signer.sign(Invitation("inv1", "pulse", "C1", now + dt.timedelta(days=1)))
    r = sv.collector.collect(sv.prepare("pulse", {"nps": 10}, token=token))
    assert r.response_id == "inv_inv1" and r.customer_id == "C1"
    assert _rows(ws, "SELECT customer_id, channel, invitation_id FROM responses") == [
        ("C1", "email", "inv1")
    ]
    assert _rows(ws, f"SELECT response_id FROM {INVITATIONS} WHERE responded_at IS NOT NULL") == [
        ("inv_inv1",)
    ]
    with pytest.raises(AlreadySubmittedError):
        sv.collector.collect(sv.prepare("pulse", {"nps": 0}, token=token))
    # a well-signed token for an invitation the store never issued
    ghost = sv.signer.sign(Invitation("ghost", "pulse", "C2", now + dt.timedelta(days=1)))
    with pytest.raises(InvalidTokenError, match="names no invitation"):
        sv.collector.collect(sv.prepare("pulse", {"nps": 1}, token=ghost))
    assert _rows(ws, "SELECT count(*) FROM responses") == [(1,)]


def test_who_may_name_the_customer(ws):
    sv = ws.surveys
    with pytest.raises(SubmissionError, match="only with an API key"):
        sv.prepare("pulse", {"nps": 9}, customer_id="C1")
    sub = sv.prepare("pulse", {"nps": 9}, customer_id="C1", trusted=True)
    assert sv.collector.collect(sub).customer_id == "C1"
    sv.registry.save("private", {**PULSE, "public": False})
    with pytest.raises(InvalidTokenError, match="invitation only"):
        sv.prepare("private", {"nps": 9})
    with pytest.raises(NotFoundError, match="no survey named 'nope'"):
        sv.prepare("nope", {"nps": 9})
    with pytest.raises(SubmissionError, match="not offered in 'fr'"):
        sv.prepare("pulse", {"nps": 9}, language="fr")


def test_definitions_through_the_registry(ws, tmp_path):
    reg = ws.surveys.registry
    assert reg.names() == ["pulse"] and reg.source("pulse") == "api"
    # a question whose column exists with another type is refused before anything is written
    ws.store.backend.con.execute("ALTER TABLE responses ADD COLUMN score_x DOUBLE")
    with pytest.raises(QueryError, match="column 'score_x' of responses holds float64"):
        reg.save("clash", {"title": "t", "questions": [
            {"id": "score_x", "type": "single", "text": "?", "choices": ["a"]}]})  # fmt: skip
    assert reg.names() == ["pulse"]
    with pytest.raises(QueryError, match="survey name"):
        reg.save("Bad Name", PULSE)
    # the store keeps it: a new workspace sees it
    path = ws.store.url
    ws.close()
    with Workspace.open(path, tmp_path / "cxray.toml") as again:
        assert again.surveys.get("pulse").title == PULSE["title"]


def test_config_surveys_cannot_be_replaced_through_the_api(tmp_path):
    toml = tmp_path / "cxray.toml"
    toml.write_text(
        '[surveys.relationship]\ntitle = "R"\n[[surveys.relationship.questions]]\n'
        'id = "nps"\ntype = "nps"\ntext = "How likely?"\n',
        encoding="utf-8",
    )
    with Workspace.open(tmp_path / "c.duckdb", toml) as ws:
        assert ws.surveys.registry.source("relationship") == "config"
        with pytest.raises(QueryError, match="change it there"):
            ws.surveys.registry.save("relationship", PULSE)
        r = ws.surveys.collector.collect(ws.surveys.prepare("relationship", {"nps": 7}))
        assert r.status == "created"
