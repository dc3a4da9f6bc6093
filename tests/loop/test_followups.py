"""Follow-ups: worked by people, every change kept; a change the status does not allow is
refused and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from cxray.exceptions import ConflictError, NotFoundError, QueryError
from cxray.loop import alert_id, followup_id
from cxray.store import FOLLOWUP_EVENTS, FOLLOWUPS
from tests.loop.conftest import RESPONSES, rows

RULE = """
[[loop.rules]]
name = "detractors"
on = "responses"
where = "nps <= 6"
team = "care"
sla_hours = 24
route_by = "region"
routes = { West = "wes" }
"""


def fid(response: str) -> str:
    return followup_id(alert_id("detractors", f"responses:{response}"))


@pytest.fixture
def fus(open_ws):
    ws = open_ws(RULE)
    ws.import_frame("responses", RESPONSES)
    return ws.loop.followups, ws


def test_work_a_followup_from_open_to_resolved_with_its_history(fus):
    fu, _ = fus
    f = fid("R2")
    got = fu.assign(f, actor="ann", owner="bo")
    assert (got["owner"], got["team"], got["status"]) == ("bo", "care", "open")
    got = fu.contact(f, actor="bo", note="Reached by phone")
    assert (
        got["status"] == "contacted" and got["contacted_at"] and got["note"] == "Reached by phone"
    )
    got = fu.note(f, actor="bo", text="  Sending a voucher  ")
    assert got["note"] == "Sending a voucher" and got["status"] == "contacted"
    got = fu.close(f, actor="bo", outcome="recovered")
    assert (got["status"], got["outcome"]) == ("resolved", "recovered") and got["closed_at"]
    steps = [(e["actor"], e["action"], e["status"], e["detail"]) for e in got["history"]]
    assert steps == [
        ("cxray", "opened", "open", {"rule": "detractors", "owner": None, "team": "care"}),
        ("ann", "assigned", "open", {"owner": "bo"}),
        ("bo", "contacted", "contacted", {"note": "Reached by phone"}),
        ("bo", "note", "contacted", {"note": "Sending a voucher"}),
        ("bo", "resolved", "resolved", {"outcome": "recovered", "note": None}),
    ]
    assert got["alert"]["subject"] == "responses:R2" and got["alert"]["details"]["nps"] == 6
    assert got["updated_at"] >= got["opened_at"]


def test_closing_without_contact_and_contacted_at_when_resolving(fus):
    fu, _ = fus
    got = fu.close(fid("R3"), actor="cy", contacted=False, note="no contact details")
    assert (got["status"], got["contacted_at"], got["note"]) == (
        "closed_no_contact", None, "no contact details"
    )  # fmt: skip
    got = fu.close(fid("R1"), actor="wes", outcome="apologised")
    assert got["status"] == "resolved" and got["contacted_at"] == got["closed_at"]


@pytest.mark.parametrize(
    ("act", "message"),
    [
        (lambda fu, f: fu.contact(f, actor="x"), "already resolved: only open follow-ups can be contacted"),
        (lambda fu, f: fu.assign(f, actor="x", owner="y"), "already resolved: only open or contacted"),
        (lambda fu, f: fu.close(f, actor="x"), "can be closed"),
    ],
)  # fmt: skip
def test_a_change_the_status_does_not_allow_writes_nothing(fus, act, message):
    fu, ws = fus
    f = fid("R2")
    fu.close(f, actor="bo", outcome="done")
    before = (rows(ws, FOLLOWUPS, followup_id=f), rows(ws, FOLLOWUP_EVENTS, followup_id=f))
    with pytest.raises(ConflictError, match=message):
        act(fu, f)
    assert (rows(ws, FOLLOWUPS, followup_id=f), rows(ws, FOLLOWUP_EVENTS, followup_id=f)) == before
    fu.note(f, actor="bo", text="a note after closing is fine")


def test_bad_changes_are_refused(fus):
    fu, _ = fus
    with pytest.raises(QueryError, match="who makes the change"):
        fu.note(fid("R1"), actor="", text="x")
    with pytest.raises(QueryError, match="a note needs text"):
        fu.note(fid("R1"), actor="a", text="   ")
    with pytest.raises(QueryError, match="name an owner or a team"):
        fu.assign(fid("R1"), actor="a")
    with pytest.raises(NotFoundError, match="no follow-up 'FU-nope'"):
        fu.contact("FU-nope", actor="a")
    with pytest.raises(QueryError, match="status 'done'"):
        fu.list(status="done")


def test_listing_filters_and_overdue(fus):
    fu, _ = fus
    fu.close(fid("R3"), actor="a", contacted=False)
    page = fu.list()
    assert page["total"] == 3 and not page["has_more"]
    assert fu.list(status="active")["total"] == 2
    assert [r["followup_id"] for r in fu.list(owner="wes")["rows"]] == [fid("R1")]
    assert fu.list(team="care")["total"] == 3
    assert fu.list(customer_id="C2")["rows"][0]["followup_id"] == fid("R2")
    assert fu.list(rule="nope")["total"] == 0
    assert fu.list(limit=1)["has_more"]
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=25)
    overdue = fu.list(overdue=True, now=later)
    assert overdue["total"] == 2 and all(r["overdue"] for r in overdue["rows"])
    assert fu.list(overdue=True)["total"] == 0
