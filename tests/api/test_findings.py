"""Regression tests for the server findings of the hardening review (issue 12, item 8).

Each test sends what the review sent and pins the answer: a 4xx in the documented error
envelope that says what was wrong and where, never a 500 and never a stored row.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cxray import exceptions
from cxray.api._errors import CX_ERRORS, cx_status
from cxray.exceptions import QueryError
from cxray.explore import RowSelection
from tests.api.conftest import assert_envelope
from tests.surveys.conftest import PULSE

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


@pytest.fixture
def sapi(make_api):
    api = make_api()
    r = api.client.put("/api/surveys/pulse", json=PULSE, headers=api.auth("admin"))
    assert r.status_code == 201, r.text
    return api


def _responses(api) -> int:
    return api.ws.store.table("responses").count().execute()


# -- unhandled 500s --------------------------------------------------------------------------


def test_deeply_nested_submission_is_422_not_a_crash(sapi):
    body = b"[" * 30_000 + b"]" * 30_000
    for role in (None, "viewer"):  # anonymous and with a key
        headers = {"Content-Type": "application/json"}
        if role:
            headers.update(sapi.auth(role))
        r = sapi.client.post("/api/surveys/pulse/responses", content=body, headers=headers)
        err = assert_envelope(r, 422, "invalid_submission")
        assert "nests too deeply" in err["message"]
    nested = b'{"answers": {"nps": ' + b"[" * 30_000 + b"]" * 30_000 + b"}}"
    r = sapi.client.post(
        "/api/surveys/pulse/responses", content=nested, headers={"Content-Type": "application/json"}
    )
    assert_envelope(r, 422, "invalid_submission")
    assert _responses(sapi) == 0


def test_nul_in_a_row_filter_is_422_naming_the_parameter(demo):
    r = demo.get("/api/tables/responses/rows?filter=channel:a%00b")
    err = assert_envelope(r, 422, "invalid_request")
    assert err["details"][0]["location"] == "query" and err["details"][0]["field"] == "filter"
    assert "NUL" in err["message"]
    # any query parameter of any route: the loop's alerts filtered by rule, an export
    assert_envelope(demo.get("/api/alerts?rule=a%00b", role="admin"), 422, "invalid_request")
    assert_envelope(demo.get("/api/tables/cases/export?filter=channel:%00"), 422, "invalid_request")
    # the same filter without the NUL still answers
    assert demo.get("/api/tables/responses/rows?filter=channel:email").status_code == 200


def test_nul_or_surrogate_in_a_library_filter_is_a_query_error(demo):
    t = demo.ws.store.table("responses")
    for raw in ("a\x00b", "a\ud800b"):
        with pytest.raises(QueryError, match="filter on channel"):
            RowSelection("responses", [f"channel:{raw}"]).apply(t, "UTC")
    ok = RowSelection("responses", ["channel:email"]).apply(t, "UTC").count().execute()
    assert ok == t.filter(t.channel == "email").count().execute() > 0


def test_out_of_range_seed_is_422(demo):
    for path in ("/api/text/themes", "/api/text/themes/0/rows"):
        r = demo.get(f"{path}?source=discover&seed=10000000001")
        err = assert_envelope(r, 422, "invalid_request")
        assert err["details"][0]["field"] == "seed"
    assert demo.get("/api/text/themes?seed=4294967295").status_code == 200


# -- one envelope, as documented -------------------------------------------------------------


def test_scorecard_bad_parameters_are_422_invalid_request(demo):
    for query, text in (
        ("metric=nope", "unknown KPI 'nope'"),
        ("by=nowhere", "unknown attribute 'nowhere'"),
        ("from=garbage", "not a date"),
    ):
        err = assert_envelope(demo.get(f"/api/scorecard?{query}"), 422, "invalid_request")
        assert text in err["message"]


def test_lone_surrogate_in_an_answer_is_422_naming_the_question(sapi):
    raw = b'{"answers": {"nps": 3, "improve": "bad \\ud800 text"}, "submission_id": "s1"}'
    r = sapi.client.post(
        "/api/surveys/pulse/responses", content=raw, headers={"Content-Type": "application/json"}
    )
    err = assert_envelope(r, 422, "invalid_submission")
    assert err["details"][0]["question"] == "improve"
    assert "surrogate" in err["details"][0]["rule"]
    raw = b'{"answers": {"nps": 3}, "submission_id": "s\\udfff"}'
    r = sapi.client.post(
        "/api/surveys/pulse/responses", content=raw, headers={"Content-Type": "application/json"}
    )
    assert "submission_id" in assert_envelope(r, 422, "invalid_submission")["message"]
    assert _responses(sapi) == 0


def _documented_codes() -> set[tuple[int, str]]:
    """(status, code) pairs of docs/api.md's error table."""
    text = DOCS.read_text().split("## Errors", 1)[1].split("\n## ", 1)[0]
    pairs = set()
    for line in text.splitlines():
        m = re.match(r"\|\s*(\d{3})\s*\|(.*?)\|", line)
        if m:
            pairs |= {(int(m.group(1)), c) for c in re.findall(r"`([a-z_]+)`", m.group(2))}
    return pairs


def test_every_error_class_maps_to_a_documented_status_and_code():
    documented = _documented_codes()
    assert (422, "invalid_request") in documented
    classes = [
        c
        for c in vars(exceptions).values()
        if isinstance(c, type) and issubclass(c, exceptions.CXError)
    ]
    assert len(classes) > 20
    for cls in classes:
        exc = cls.__new__(cls)
        assert cx_status(exc) in documented, cls.__name__
    assert set(CX_ERRORS.values()) <= documented


def test_framework_errors_are_the_envelope(api):
    assert_envelope(api.client.delete("/api/health"), 405, "method_not_allowed")
    assert_envelope(api.get("/api/nowhere"), 404, "not_found")
    r = api.client.post(
        "/api/login", content=b'{"key": "\\ud800"}', headers={"Content-Type": "application/json"}
    )
    assert r.status_code in (401, 422)
    assert_envelope(
        r, r.status_code, "invalid_request" if r.status_code == 422 else "unauthenticated"
    )
