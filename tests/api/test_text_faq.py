"""GET /api/text/faq and /api/text/kb, POST /api/text/kb: roles, masking, all-or-nothing."""

from __future__ import annotations

import pytest

from cxray import text
from tests.api.conftest import assert_envelope
from tests.text._faq_data import cases, n_questions


@pytest.fixture
def faq_api(make_api):
    text.REPORTS.clear()
    return make_api(lambda ws: ws.import_frame("cases", cases()))


def test_faq_for_a_viewer_is_masked_and_measured(faq_api):
    r = faq_api.get("/api/text/faq", params={"table": "cases"}, role="viewer")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n_questions"] == n_questions() and body["method"]
    c = body["candidates"][0]
    assert {"estimate", "ci_low", "ci_high", "n"} <= set(c["share"])
    assert c["share"]["n"] == n_questions()
    examples = [e["text"] for c in body["candidates"] for e in c["examples"]]
    assert examples and all("[email]" in t and "@" not in t for t in examples)
    assert_envelope(
        faq_api.get("/api/text/faq", params={"table": "orders"}), 422, "invalid_request"
    )


def test_kb_upload_roles_formats_and_all_or_nothing(faq_api):
    arts = [
        {"title": "Reset your password", "url": "https://help.example.com/pw", "text": "Reset it."},
        {"title": "Refunds", "url": "/help/refunds", "text": "Refunds take five days."},
    ]
    assert_envelope(faq_api.post("/api/text/kb", role="viewer", json=arts), 403, "forbidden")
    r = faq_api.post("/api/text/kb", role="analyst", json=arts)
    assert r.status_code == 200, r.text
    assert (r.json()["added"], r.json()["total"]) == (2, 2)
    again = faq_api.post("/api/text/kb", role="analyst", json=arts).json()
    assert (again["added"], again["unchanged"]) == (0, 2)
    csv_body = "title,url,text\nReturns,/help/returns,How to return.\nBad,,x\n"
    err = assert_envelope(
        faq_api.client.post(
            "/api/text/kb",
            content=csv_body,
            headers={**faq_api.auth("admin"), "Content-Type": "text/csv"},
        ),
        422,
        "source_error",
    )
    assert "row 3: field url" in err["message"]
    listed = faq_api.get("/api/text/kb").json()
    assert listed["n"] == 2  # nothing of the bad file was written
    got = faq_api.get("/api/text/faq", params={"table": "cases"}).json()
    assert got["kb_articles"] == 2
    pw = [c for c in got["candidates"] if "password" in c["label"]]
    assert pw and pw[0]["coverage"]["covered"]
    assert pw[0]["coverage"]["article"]["url"] == "https://help.example.com/pw"
