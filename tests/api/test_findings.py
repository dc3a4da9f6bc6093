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


# -- 500s the fuzzer found (tests/api/test_fuzz.py) -------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/drivers/moments?window_days=1e308",  # OverflowError in a timedelta
        "/api/drivers?window_days=1e308",
        "/api/drivers?seed=10000000001",
        "/api/followups?offset=9223372036854775808",  # INT64 overflow in DuckDB
        "/api/tables/responses/rows?offset=9223372036854775808",
        "/api/text/themes/0/rows?offset=9223372036854775808",
        "/api/journeys/funnel?steps=a,b&within=1e308",
    ],
)
def test_out_of_range_numbers_are_422(demo, path):
    err = assert_envelope(demo.get(path, role="admin"), 422, "invalid_request")
    assert err["details"][0]["location"] == "query"


@pytest.mark.parametrize(
    "path",
    [
        "/api/clv/by-nps-group?as_of=",  # an empty date was an AssertionError
        "/api/churn/survival?as_of=",
        "/api/churn/survival?landmark=",
        "/api/drivers/moments?as_of=",
    ],
)
def test_an_empty_date_is_the_default_date(demo, path):
    base = path.split("?")[0]
    r = demo.get(path, role="admin")
    assert r.status_code < 500, r.text
    default = demo.get(base, role="admin")
    assert r.status_code == default.status_code
    if r.status_code == 200:
        assert r.json() == default.json()


# -- who may write a survey row ---------------------------------------------------------------


def test_a_viewer_key_cannot_write_survey_rows(sapi):
    for body in ({"answers": {"nps": 8}, "customer_id": "C5"}, {"answers": {"nps": 8}}):
        r = sapi.client.post("/api/surveys/pulse/responses", json=body, headers=sapi.auth("viewer"))
        assert "read-only" in assert_envelope(r, 403, "forbidden")["message"]
    assert _responses(sapi) == 0
    r = sapi.client.post(
        "/api/surveys/pulse/responses",
        json={"answers": {"nps": 8}, "customer_id": "C5"},
        headers=sapi.auth("analyst"),
    )
    assert r.status_code == 201
    con = sapi.ws.store.backend.con
    assert con.sql("SELECT customer_id, nps FROM responses").fetchall() == [("C5", 8)]
    # without a key a customer cannot be named
    r = sapi.client.post(
        "/api/surveys/pulse/responses", json={"answers": {"nps": 8}, "customer_id": "C6"}
    )
    assert_envelope(r, 422, "invalid_submission")


def _post(api, body, **kw):
    return api.client.post("/api/surveys/pulse/responses", json=body, **kw)


def test_a_partial_response_is_continued_only_by_its_first_client(sapi):
    first = _post(sapi, {"answers": {"nps": 4}, "submission_id": "p", "complete": False})
    assert first.status_code == 201
    token = first.json()["resume_token"]
    rid = first.json()["response_id"]
    # another client that knows the submission id: refused, whatever it sends
    for body in (
        {"answers": {"improve": "hijacked"}, "submission_id": "p"},
        {"answers": {"improve": "hijacked"}, "submission_id": "p", "complete": False},
        {"answers": {"nps": 10}, "submission_id": "p"},
        {"answers": {"improve": "x"}, "submission_id": "p", "resume_token": token[:-2] + "AA"},
        {"answers": {"improve": "x"}, "submission_id": "p", "resume_token": "k1.forged"},
    ):
        r = _post(sapi, body)
        assert "another client" in assert_envelope(r, 403, "invalid_token")["message"]
    stored = sapi.ws.surveys.submission(rid)
    assert stored["answers"] == {"nps": 4} and stored["completed"] is False
    # a plain repeat of the first step changes nothing: 200, but no resume token
    again = _post(sapi, {"answers": {"nps": 4}, "submission_id": "p", "complete": False})
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert "resume_token" not in again.json()
    # the first client continues with its token
    done = _post(sapi, {"answers": {"improve": "x"}, "submission_id": "p", "resume_token": token})
    assert done.status_code == 200 and done.json()["status"] == "updated"
    assert done.json()["completed"] is True and "resume_token" not in done.json()
    assert sapi.ws.surveys.submission(rid)["answers"] == {"nps": 4, "improve": "x"}
    # a token is bound to its response: it does not open another one
    other = _post(sapi, {"answers": {"nps": 2}, "submission_id": "q", "complete": False})
    r = _post(sapi, {"answers": {"improve": "y"}, "submission_id": "q", "resume_token": token})
    assert_envelope(r, 403, "invalid_token")
    assert other.json()["resume_token"] != token
    # an analyst's key may continue any response (it may also name the customer)
    keyed = _post(sapi, {"answers": {"improve": "z"}, "submission_id": "q"},
                  headers=sapi.auth("analyst"))  # fmt: skip
    assert keyed.status_code == 200 and keyed.json()["completed"] is True


def test_a_survey_page_never_continues_a_response_it_did_not_begin(tmp_path):
    from fastapi.testclient import TestClient

    from cxray.app import create_app

    app = create_app(tmp_path / "w.duckdb", tmp_path / "cxray.toml")
    with TestClient(app, raise_server_exceptions=False) as client:
        ws = app.state.cx.ws
        ws.surveys.registry.save("pulse", PULSE)
        api_first = client.post(
            "/api/surveys/pulse/responses",
            json={"answers": {"nps": 3, "improve": "my words"}, "submission_id": "kiosk-1",
                  "complete": False},
        )  # fmt: skip
        assert api_first.status_code == 201
        rid = api_first.json()["response_id"]
        # the page named with that id neither shows its answers nor adds to it
        page = client.get("/s/pulse?sid=kiosk-1&step=1")
        assert page.status_code == 200 and "my words" not in page.text
        sid = re.search(r'name="sid" value="([^"]+)"', page.text).group(1)
        assert sid != "kiosk-1" and ws.surveys.form_sid_ok("pulse", sid)
        r = client.post("/s/pulse", data={"sid": "kiosk-1", "step": "0", "q_nps": "10"},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 303
        assert ws.surveys.submission(rid)["answers"] == {"nps": 3, "improve": "my words"}
        assert ws.surveys.submission(rid)["completed"] is False
        rows = ws.store.backend.con.sql("SELECT nps FROM responses ORDER BY nps").fetchall()
        assert rows == [(3,), (10,)]  # the page's answer is a response of its own


# -- the envelope everywhere: bodies that cannot be read, the body limit, the pages' JSON ------


def test_unreadable_bodies_are_422_invalid_request(sapi):
    deep = b"[" * 30_000 + b"]" * 30_000
    json_h = {"Content-Type": "application/json"}
    for method, path, role in (
        ("PUT", "/api/surveys/deep", "admin"),  # FastAPI's own body parsing: was a bare 400
        ("POST", "/api/login", None),
        ("POST", "/api/text/score", "viewer"),
    ):
        headers = {**json_h, **(sapi.auth(role) if role else {})}
        r = sapi.client.request(method, path, content=deep, headers=headers)
        err = assert_envelope(r, 422, "invalid_request")
        assert err["details"][0]["location"] == "body"
    junk = {"Content-Type": "multipart/form-data; boundary=x", **sapi.auth("analyst")}
    r = sapi.client.post("/api/imports/responses", content=deep, headers=junk)
    assert_envelope(r, 422, "invalid_request")


def test_the_body_limit_answers_the_envelope(make_api):
    api = make_api(max_upload_mb=0.001)  # 1,048 bytes
    big = b"x" * 5000
    r = api.client.post(
        "/api/imports/responses",
        files={"file": ("a.csv", big, "text/csv")},
        headers=api.auth("analyst"),
    )
    assert "CXRAY_MAX_UPLOAD_MB" in assert_envelope(r, 413, "payload_too_large")["message"]


def test_public_survey_endpoints_never_answer_500(tmp_path):
    from fastapi.testclient import TestClient

    from cxray.app import create_app

    app = create_app(tmp_path / "w.duckdb", tmp_path / "cxray.toml")
    deep = b"[" * 30_000 + b"]" * 30_000
    with TestClient(app, raise_server_exceptions=False) as client:
        ws = app.state.cx.ws
        ws.surveys.registry.save("pulse", PULSE)
        for ctype, body in (
            ("application/json", deep),
            ("application/x-www-form-urlencoded", b"q_nps=" + deep),
            ("application/x-www-form-urlencoded", deep + b"=1"),
            ("multipart/form-data; boundary=x", deep),
        ):
            r = client.post("/s/pulse", content=body, headers={"Content-Type": ctype})
            assert 400 <= r.status_code < 500, (ctype, r.status_code)
            if r.headers["content-type"].startswith("application/json"):
                assert_envelope(r, r.status_code, r.json()["error"]["code"])
        r = client.post(
            "/api/surveys/pulse/responses",
            content=deep,
            headers={"Content-Type": "application/json"},
        )
        assert_envelope(r, 422, "invalid_submission")
        # the pages' JSON endpoint answers the envelope too
        assert_envelope(client.get("/s/nope/form-token"), 404, "not_found")
        assert ws.store.table("responses").count().execute() == 0


def test_lone_surrogate_in_a_definition_or_field_is_422_naming_it(sapi):
    import json

    raw = json.dumps({**PULSE, "title": {"en": "PLACEHOLDER"}}).replace("PLACEHOLDER", "\\ud800")
    r = sapi.client.put(
        "/api/surveys/other",
        content=raw.encode(),
        headers={"Content-Type": "application/json", **sapi.auth("admin")},
    )
    assert "definition.title.en" in assert_envelope(r, 422, "invalid_request")["message"]
    assert sapi.client.get("/api/surveys/other", headers=sapi.auth("admin")).status_code == 404
    # typed fields: FastAPI refuses them while reading the body, naming the field
    r = sapi.client.post(
        "/api/keys",
        content=b'{"role": "viewer", "name": "\\ud800"}',
        headers={"Content-Type": "application/json", **sapi.auth("admin")},
    )
    assert assert_envelope(r, 422, "invalid_request")["details"][0]["field"] == "name"
    # in a query string a lone surrogate cannot arrive: its bytes decode as U+FFFD
    r = sapi.get("/api/tables/responses/rows?filter=channel:%ED%A0%80")
    assert r.status_code == 200 and r.json()["total"] == 0


@pytest.mark.parametrize(
    ("table", "item"),
    [
        ("responses", "csat:99999999999999999999999"),  # beyond int64: was a 500 (TypeError)
        ("responses", "nps:-99999999999999999999999"),
        ("orders", "amount:99999999999999999999999"),  # beyond decimal(18, 4): was a 500
        ("orders", "amount:-1e20"),
    ],
)
def test_a_filter_value_beyond_its_column_type_is_422(demo, table, item):
    err = assert_envelope(
        demo.get(f"/api/tables/{table}/rows?filter={item}"), 422, "invalid_request"
    )
    assert f"filter on {item.split(':')[0]}" in err["message"]
    t = demo.ws.store.table(table)
    with pytest.raises(QueryError):
        RowSelection(table, [item]).apply(t, "UTC")
    # the largest values the types hold are fine (and match nothing here)
    edge = "9223372036854775807" if table == "responses" else "99999999999999.9999"
    r = demo.get(f"/api/tables/{table}/rows?filter={item.split(':')[0]}:{edge}")
    assert r.status_code == 200 and r.json()["total"] == 0


def test_survey_pages_under_concurrent_load_never_answer_500(tmp_path):
    """Found by benchmarks/survey_load: concurrent page views read the signing keys on the
    store's one connection at once (a legacy-secret check per call); 14 of 2,365 were 500s."""
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from cxray.app import create_app

    app = create_app(tmp_path / "w.duckdb", tmp_path / "cxray.toml")
    with TestClient(app, raise_server_exceptions=False) as client:
        store = app.state.cx.ws.store
        app.state.cx.ws.surveys.registry.save("pulse", PULSE)

        def keys(_):
            return store.keyring("forms").current.id, store.keyring("invitations").current.id

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(keys, range(400))) == {("k1", "k1")}
            statuses = list(pool.map(lambda _: client.get("/s/pulse").status_code, range(200)))
        assert statuses == [200] * 200
