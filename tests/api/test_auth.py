"""Keys, roles, sessions and the login limiter, through the API."""

from __future__ import annotations

from cxray.access import ApiKeys
from tests.api.conftest import assert_envelope

CSV = "response_id,submitted_at,nps\nA,2025-01-01,9\nB,2025-01-02,2\n"


def _upload(api, role=None, headers=None):
    return api.client.post(
        "/api/imports/responses",
        files={"files": ("r.csv", CSV, "text/csv")},
        headers=headers if headers is not None else api.auth(role),
    )


def test_health_is_public_and_the_rest_needs_a_key(api):
    r = api.client.get("/api/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    for url in ("/api/status", "/api/tables/responses/rows", "/api/customers/C1", "/api/me"):
        err = assert_envelope(api.client.get(url), 401, "unauthenticated")
        assert "Bearer" in err["message"]
    r = api.client.get("/api/status")
    assert r.headers["www-authenticate"] == "Bearer"


def test_forged_malformed_and_revoked_keys_get_401(api):
    forged = "cx_" + "A" * 43
    for headers in (
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": f"Basic {api.keys['admin']}"},
        {"Authorization": api.keys["admin"]},
    ):
        assert_envelope(api.client.get("/api/status", headers=headers), 401, "unauthenticated")
    assert api.get("/api/status").status_code == 200
    viewer_id = api.get("/api/me").json()["key_id"]
    assert api.client.delete(f"/api/keys/{viewer_id}", headers=api.auth("admin")).status_code == 200
    err = assert_envelope(api.get("/api/status"), 401, "unauthenticated")
    assert "revoked" in err["message"]


def test_roles(api):
    before = api.get("/api/status").json()
    err = assert_envelope(_upload(api, "viewer"), 403, "forbidden")
    assert "viewer" in err["message"] and "analyst" in err["message"]
    assert api.get("/api/status").json() == before  # nothing written
    r = _upload(api, "analyst")
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 2
    assert _upload(api, "admin").json()["unchanged"] == 2
    assert_envelope(api.get("/api/keys", role="analyst"), 403, "forbidden")
    assert [k["role"] for k in api.get("/api/keys", role="admin").json()] == [
        "admin",
        "analyst",
        "viewer",
    ]


def test_admin_creates_a_key_over_http_and_it_works(api):
    r = api.post("/api/keys", role="admin", json={"role": "viewer", "name": "wall"})
    assert r.status_code == 201
    key = r.json()["key"]
    me = api.client.get("/api/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert (me["role"], me["pii"]) == ("viewer", False)
    r = api.post("/api/keys", role="admin", json={"role": "analyst", "pii": True})
    me = api.client.get("/api/me", headers={"Authorization": f"Bearer {r.json()['key']}"})
    assert (me.json()["role"], me.json()["pii"]) == ("analyst", True)
    assert_envelope(
        api.post("/api/keys", role="admin", json={"role": "owner"}), 422, "invalid_request"
    )
    assert "key" not in api.get("/api/keys", role="admin").json()[-1]


def test_login_session_cookie(api):
    c = api.client
    r = c.post("/api/login", json={"key": api.keys["analyst"]})
    assert r.status_code == 200 and r.json()["role"] == "analyst"
    cookie = r.cookies.get("cxray_session")
    assert cookie and api.keys["analyst"] not in cookie
    assert "httponly" in r.headers["set-cookie"].lower()
    me = c.get("/api/me")
    assert me.json() == {"key_id": 2, "role": "analyst", "via": "session", "pii": False}
    assert _upload(api, headers={}).status_code == 201  # the cookie authorizes a write
    # ... but not one from another site
    cross = _upload(api, headers={"Origin": "https://evil.example"})
    assert_envelope(cross, 403, "forbidden")
    # a tampered cookie is refused
    c.cookies.set("cxray_session", cookie[:-3] + "xyz")
    assert_envelope(c.get("/api/me"), 401, "unauthenticated")
    c.cookies.set("cxray_session", cookie)
    assert c.get("/api/me").status_code == 200
    # revoking the key ends its sessions
    with_ws = api.ws
    ApiKeys(with_ws.store).revoke(2)
    assert_envelope(c.get("/api/me"), 401, "unauthenticated")
    out = c.post("/api/logout")
    assert out.status_code == 200
    assert (
        'cxray_session=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    )


def test_failed_logins_are_rate_limited(make_api):
    api = make_api(login_max_failures=3, login_window_s=60)
    c = api.client
    for _ in range(3):
        assert_envelope(c.post("/api/login", json={"key": "cx_wrong"}), 401, "unauthenticated")
    r = c.post("/api/login", json={"key": "cx_wrong"})
    err = assert_envelope(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) > 0 and "try again" in err["message"]
    # guesses cannot lock a valid key out: the right key still logs in ...
    ok = c.post("/api/login", json={"key": api.keys["viewer"]})
    assert ok.status_code == 200 and ok.json()["role"] == "viewer"
    # ... and the next guess is still refused
    assert_envelope(c.post("/api/login", json={"key": "cx_wrong"}), 429, "rate_limited")
    # bearer keys are not affected
    assert api.get("/api/me").status_code == 200


def test_a_success_clears_the_failures(make_api):
    api = make_api(login_max_failures=2)
    c = api.client
    assert c.post("/api/login", json={"key": "cx_wrong"}).status_code == 401
    assert c.post("/api/login", json={"key": api.keys["viewer"]}).status_code == 200
    assert c.post("/api/login", json={"key": "cx_wrong"}).status_code == 401
    assert c.post("/api/login", json={"key": api.keys["viewer"]}).status_code == 200
