"""The audit trail of the API and the dashboard: each kind of action recorded with the
caller's key, role and address; ``GET /api/audit`` for admins only; no secret or personal
value in any audit row."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.api._audit import classify
from cxray.app import create_app
from cxray.store import AUDIT
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres
from tests.api.conftest import assert_envelope
from tests.surveys.conftest import PULSE

CUSTOMERS = (
    "customer_id,email,phone,created_at\n"
    "C-1,ana.planted@example.com,+44 7700 900123,2026-01-01\n"
    "C-2,bo.planted@example.com,+44 7700 900456,2026-01-02\n"
)


def _events(api, **params) -> list[dict]:
    r = api.get("/api/audit", role="admin", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return r.json()["events"]


def _key_id(api, role: str) -> int:
    return {k.role: k.key_id for k in ApiKeys(api.ws.store).list() if k.name == f"test {role}"}[
        role
    ]


def test_each_kind_of_action_is_recorded_with_key_role_and_address(api):
    r = api.post(
        "/api/imports/customers",
        role="analyst",
        files=[("files", ("c.csv", CUSTOMERS, "text/csv"))],
    )
    assert r.status_code == 201, r.text
    assert api.get("/api/tables/customers/rows").status_code == 200
    assert api.get("/api/tables/customers/export?format=csv", role="analyst").status_code == 200
    assert api.get("/api/customers/C-1").status_code == 200
    made = api.post("/api/keys", role="admin", json={"role": "viewer", "name": "wallboard"})
    assert made.status_code == 201
    assert api.client.delete(f"/api/keys/{made.json()['id']}", headers=api.auth("admin")).is_success
    assert api.client.put("/api/surveys/pulse", json=PULSE, headers=api.auth("admin")).is_success
    loop = api.post("/api/loop/run", role="analyst", json={"deliver": False})
    enrich = api.post("/api/text/enrich", role="analyst")
    assert (loop.status_code, enrich.status_code) == (200, 200)
    assert api.client.post("/api/login", json={"key": api.keys["viewer"]}).status_code == 200
    assert api.client.post("/api/login", json={"key": "cx_" + "x" * 43}).status_code == 401

    got = {(e["action"], e["target"]): e for e in _events(api)}
    ids = {role: _key_id(api, role) for role in ("admin", "analyst", "viewer")}
    expected = {
        ("import", "/api/imports/customers"): ("analyst", "ok"),
        ("read", "/api/tables/customers/rows"): ("viewer", "ok"),
        ("export", "/api/tables/customers/export"): ("analyst", "ok"),
        ("read", f"/api/customers/{api.ws.audit.customer_ref('C-1')}"): ("viewer", "ok"),
        ("keys", "/api/keys"): ("admin", "ok"),
        ("keys", f"/api/keys/{made.json()['id']}"): ("admin", "ok"),
        ("survey_change", "/api/surveys/pulse"): ("admin", "ok"),
        ("login", "/api/login"): ("viewer", "ok"),
        ("loop_change", "/api/loop/run"): ("analyst", "ok"),
        ("model", "/api/text/enrich"): ("analyst", "ok"),
    }
    for (action, target), (role, status) in expected.items():
        e = got[(action, target)]
        assert (e["role"], e["key_id"], e["actor"]) == (role, ids[role], f"test {role}")
        assert (e["status"], e["interface"], e["address"]) == (status, "api", "testclient")
    failed = got[("login_failed", "/api/login")]
    assert (failed["actor"], failed["key_id"], failed["status"]) == ("anonymous", None, "failed")
    assert got[("import", "/api/imports/customers")]["detail"] == {
        "http": 201, "method": "POST", "via": "key",
    }  # fmt: skip
    assert [e["action"] for e in _events(api, action="login")] == ["login"]
    assert {e["key_id"] for e in _events(api, actor=ids["analyst"])} == {ids["analyst"]}
    assert len(_events(api, customer="C-1")) == 1


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_only_admins_read_the_audit_log_and_a_refusal_is_recorded(api, role):
    refused = assert_envelope(api.get("/api/audit", role=role), 403, "forbidden")
    assert (
        refused["message"]
        == f"a {role} key may not read the audit log; it needs the admin role or higher"
    )
    assert_envelope(api.client.get("/api/audit"), 401, "unauthenticated")
    (denied,) = [e for e in _events(api) if e["target"] == "/api/audit" and e["role"] == role]
    assert (denied["status"], denied["detail"]["http"]) == ("denied", 403)
    # nothing deletes the log through the API
    assert api.client.delete("/api/audit", headers=api.auth("admin")).status_code == 405


def test_paging_and_filters(api):
    for _ in range(7):
        assert api.get("/api/status").status_code == 200
    first = api.get("/api/audit", role="admin", params={"action": "read", "limit": 4}).json()
    until = first["until"]  # the first page's end, kept: later reads do not shift the pages
    second = api.get(
        "/api/audit",
        role="admin",
        params={"action": "read", "limit": 4, "offset": 4, "until": until},
    ).json()
    assert first["has_more"] and len(first["events"]) == 4
    seen = [e["event_id"] for e in first["events"] + second["events"]]
    assert len(set(seen)) == len(seen) >= 7
    times = [e["at"] for e in first["events"] + second["events"]]
    assert times == sorted(times, reverse=True)
    bad = api.get("/api/audit", role="admin", params={"since": "last week"})
    assert_envelope(bad, 422, "invalid_request")
    assert_envelope(
        api.get("/api/audit", role="admin", params={"action": "nothing"}), 422, "invalid_request"
    )
    for params in ({"actor": "a\x00b"}, {"until": "9999-12-31T23:59:59-10:00"}):
        assert_envelope(api.get("/api/audit", role="admin", params=params), 422, "invalid_request")
    assert api.get("/api/audit", role="admin", params={"actor": "9" * 40}).json()["events"] == []


def test_no_key_token_or_personal_value_in_any_audit_row(api):
    assert api.post(
        "/api/imports/customers", files=[("files", ("c.csv", CUSTOMERS, "text/csv"))]
    ).is_success
    login = api.client.post("/api/login", json={"key": api.keys["analyst"]})
    token = login.cookies.get("cxray_session")
    assert token
    planted = [
        "ana.planted@example.com",
        "+44 7700 900123",
        "C-2",
        "4111111111111111",
        token,
        *api.keys.values(),
    ]
    api.get("/api/customers/C-2")
    api.get("/api/customers/ana.planted@example.com")
    api.get("/api/tables/customers/rows", params={"filter": "email:ana.planted@example.com"})
    api.get("/api/tables/customers/export", params={"filter": "phone:+44 7700 900123"})
    api.get("/api/text/themes", params={"q": "4111111111111111"})
    api.get("/api/no-such-route/ana.planted@example.com")
    api.client.post("/api/login", json={"key": api.keys["viewer"][:-1] + "Z"})
    api.client.post("/api/login", json={"key": "4111111111111111"})
    api.client.get("/api/me", headers={"Cookie": f"cxray_session={token}"})
    api.ws.audit.flush()
    with Workspace.open(api.db) as ws:  # the file as another process reads it
        rows = ws.store.backend.table(AUDIT).to_pyarrow().to_pylist()
    assert len(rows) >= 9
    text = json.dumps(rows, default=str)
    for value in planted:
        assert value not in text, value
    assert "planted" not in text and "example.com" not in text


def test_public_submissions_and_anonymous_requests_are_not_recorded(make_api):
    api = make_api()
    assert api.client.put("/api/surveys/pulse", json=PULSE, headers=api.auth("admin")).is_success
    before = len(_events(api))
    for i in range(5):
        r = api.client.post(
            "/api/surveys/pulse/responses",
            json={"answers": {"nps": 9}, "submission_id": f"r{i}"},
        )
        assert r.status_code in (200, 201), r.text
    assert api.client.get("/api/status").status_code == 401  # anonymous: refused, unrecorded
    assert api.client.get("/api/health").status_code == 200
    after = _events(api)
    # only the admin's own two reads of the log were added
    assert len(after) == before + 1 and after[0]["target"] == "/api/audit"


def test_commands_map_to_actions():
    from cxray.cli._audit import audited_action

    assert audited_action(["--db", "x.duckdb", "erase", "--customer", "C1"]) == ("erase", "erase")
    assert audited_action(["erase", "--list"]) is None  # a read of the erasure records
    assert audited_action(["privacy", "retention"]) == ("privacy retention", "erase")
    assert audited_action(["keys", "create", "--role", "viewer"]) == ("keys create", "keys")
    assert audited_action(["keys", "list"]) is None and audited_action(["status"]) is None
    assert audited_action(["--config", "import", "status"]) is None  # "import" is a value
    assert audited_action(["surveys", "invite", "pulse"]) == ("surveys invite", "survey_change")
    # the CX program: a digest leaves the store; an assessment kept, a view saved
    assert audited_action(["report", "--format", "pdf"]) == ("report", "export")
    assert audited_action(["maturity", "--answers", "a.toml"]) == ("maturity", "config")
    assert audited_action(["maturity", "--history"]) is None
    assert audited_action(["views", "save", "weekly"]) == ("views save", "config")
    assert audited_action(["views", "list"]) is None


def test_classify_maps_routes_to_actions():
    assert classify("DELETE", "/api/customers/C-9") == "erase"
    assert classify("GET", "/api/customers/C-9") == "read"
    assert classify("POST", "/api/imports/responses") == "import"
    assert classify("GET", "/api/tables/cases/export") == "export"
    assert classify("POST", "/api/keys") == "keys" and classify("GET", "/api/keys") == "read"
    assert classify("POST", "/api/surveys/pulse/invitations") == "survey_change"
    assert classify("POST", "/api/surveys/pulse/responses") is None
    assert classify("POST", "/api/followups/F1/close") == "loop_change"
    assert classify("POST", "/inbox/F1/close") == "loop_change"
    assert classify("POST", "/api/clv/fit") == "model"
    assert classify("GET", "/s/pulse") is None and classify("GET", "/static/cxray.css") is None
    assert classify("POST", "/api/_local/cli") is None
    assert classify("POST", "/api/_local/imports/responses") == "import"


def _ref(db, customer: str) -> str:
    """How the audit log of the store at ``db`` names ``customer`` (its keyed digest)."""
    with Workspace.open(db) as ws:
        return ws.audit.customer_ref(customer)


def test_dashboard_logins_and_pages_are_recorded_as_web(tmp_path):
    db = tmp_path / "web.duckdb"
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        key = ApiKeys(ws.store).create("viewer", name="wall")[1]
        admin = ApiKeys(ws.store).create("admin", name="boss")[1]
    app = create_app(db, tmp_path / "cxray.toml", settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        assert r.status_code == 303
        page = c.get("/customers/C-5").status_code
        c.get("/static/cxray.css")
        anonymous = TestClient(app, raise_server_exceptions=False)
        assert anonymous.get("/", follow_redirects=False).status_code == 303
        bad = anonymous.post("/login", data={"key": "cx_nope", "next": "/"})
        assert bad.status_code == 401
        events = c.get("/api/audit", headers={"Authorization": f"Bearer {admin}"}).json()
    got = [(e["action"], e["interface"], e["actor"], e["detail"]["http"]) for e in events["events"]]
    assert got == [
        ("login_failed", "web", "anonymous", 401),
        ("read", "web", "wall", page),
        ("login", "web", "wall", 303),
    ]
    read = events["events"][1]
    assert read["target"] == f"/customers/{_ref(db, 'C-5')}" and read["role"] == "viewer"
    assert read["status"] == {200: "ok", 404: "failed"}.get(page, "error")


def test_the_audit_page_is_for_admins_and_linked_only_for_them(tmp_path):
    db = tmp_path / "web.duckdb"
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        keys = {r: ApiKeys(ws.store).create(r, name=f"{r} key")[1] for r in ("viewer", "admin")}
    app = create_app(db, tmp_path / "cxray.toml", settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as viewer, TestClient(app) as admin:
        for client, role in ((viewer, "viewer"), (admin, "admin")):
            r = client.post("/login", data={"key": keys[role], "next": "/"}, follow_redirects=False)
            assert r.status_code == 303
        assert viewer.get("/api/status").status_code == 200
        page = viewer.get("/audit")
        assert page.status_code == 403 and 'href="/audit"' not in page.text
        assert "a viewer key may not read it" in page.text
        html = admin.get("/audit").text
        assert 'href="/audit" aria-current="page"' in html
        rows = re.findall(r'<tr data-action="([a-z_]+)">', html)
        # newest first: the viewer's refused page, the viewer's read, both logins
        assert rows[:2] == ["read", "read"] and rows.count("login") == 2
        assert "denied (403)" in html and "viewer key&nbsp;#1" in html
        logins = admin.get("/audit", params={"action": "login"}).text
        assert re.findall(r'<tr data-action="([a-z_]+)">', logins) == ["login", "login"]
        assert admin.get("/audit", params={"since": "x", "actor": "#2"}).status_code == 200
        assert "No events match" in admin.get("/audit", params={"actor": "nobody"}).text


def test_an_erasure_is_recorded_with_the_customer_as_a_digest(api):
    assert api.post(
        "/api/imports/customers", files=[("files", ("c.csv", CUSTOMERS, "text/csv"))]
    ).is_success
    admin = api.auth("admin")
    dry = api.client.delete("/api/customers/C-1", params={"dry_run": "true"}, headers=admin)
    real = api.client.delete(
        "/api/customers/C-1", params={"reason": "ana.planted@example.com"}, headers=admin
    )
    events = _events(api, action="erase")
    assert [e["detail"].get("dry_run", False) for e in events] == [False, True]
    assert [e["detail"]["http"] for e in events] == [real.status_code, dry.status_code]
    assert {(e["role"], e["actor"], e["interface"]) for e in events} == {
        ("admin", "test admin", "api")
    }
    if real.status_code != 405:  # the erasure route is there: the target names its customer
        ref = api.ws.audit.customer_ref("C-1")
        assert {e["target"] for e in events} == {f"/api/customers/{ref}"}
        assert len(_events(api, customer="C-1", action="erase")) == 2
    assert "planted" not in json.dumps(events) and "C-1" not in json.dumps(events)


@needs_postgres
def test_the_audit_trail_on_a_postgresql_store(tmp_path):
    from cxray.api import create_app as create_api

    url = fresh_postgres()
    with Workspace.open(url, tmp_path / "cxray.toml") as ws:
        keys = {r: ApiKeys(ws.store).create(r, name=f"pg {r}")[1] for r in ("viewer", "admin")}
    app = create_api(url, tmp_path / "cxray.toml", settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as c:
        view = {"Authorization": f"Bearer {keys['viewer']}"}
        for _ in range(3):
            assert c.get("/api/status", headers=view).status_code == 200
        assert c.get("/api/audit", headers=view).status_code == 403
        r = c.get("/api/audit", headers={"Authorization": f"Bearer {keys['admin']}"})
        assert r.status_code == 200, r.text
        events = r.json()["events"]
    assert [(e["action"], e["actor"], e["status"]) for e in events] == [
        ("read", "pg viewer", "denied"),
        ("read", "pg viewer", "ok"),
        ("read", "pg viewer", "ok"),
        ("read", "pg viewer", "ok"),
    ]
    with Workspace.open(url) as ws:  # written at shutdown: the admin's read too
        assert len(ws.audit.events()) == 5
