"""Errors of ``cxray serve`` leave with the security headers and the right shape.

An unhandled exception's 500 is answered by Starlette's ServerErrorMiddleware, outside
every middleware added with ``add_middleware``: ``cxray.app`` puts the security headers
around it, so that answer carries them too, with the API's JSON envelope. An unknown
dashboard URL answers an HTML page (with the navigation when logged in); ``/api/...``
keeps JSON. ``POST /api/logout`` from another site's page is refused like any other
cookie-authorized write.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api._headers import HSTS_ENV, content_security_policy
from cxray.app import create_app
from cxray.workspace import Workspace
from tests.api.conftest import assert_envelope
from tests.surveys.conftest import PULSE

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


@pytest.fixture
def served(tmp_path, monkeypatch) -> Iterator[tuple[TestClient, dict[str, str]]]:
    monkeypatch.setenv(HSTS_ENV, "0")  # set before removed: the test's end restores it
    monkeypatch.delenv(HSTS_ENV)
    db, config = tmp_path / "cx.duckdb", tmp_path / "cxray.toml"
    with Workspace.open(db, config) as ws:
        ws.surveys.registry.save("pulse", PULSE)
        keys = ApiKeys(ws.store)
        made = {role: keys.create(role, name=f"t {role}")[1] for role in ("admin", "viewer")}
    with TestClient(create_app(db, config), raise_server_exceptions=False) as c:
        yield c, made


def _page_headers(r) -> None:
    for name, value in COMMON.items():
        assert r.headers.get(name) == value, (r.request.url, name, dict(r.headers))
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["content-security-policy"] == content_security_policy()


def _boom(*args, **kwargs):
    raise RuntimeError("planted failure /srv/secret/path")


def test_an_unhandled_api_error_is_the_envelope_with_every_header(served, monkeypatch):
    c, keys = served
    monkeypatch.setattr(Workspace, "status", _boom)
    r = c.get("/api/status", headers={"Authorization": f"Bearer {keys['viewer']}"})
    err = assert_envelope(r, 500, "internal_error")
    assert "/srv/secret/path" not in r.text and "RuntimeError" not in r.text
    assert "server log" in err["message"]
    _page_headers(r)


def test_an_unhandled_dashboard_error_carries_the_headers(served, monkeypatch):
    c, keys = served
    assert c.post("/login", data={"key": keys["viewer"]}, follow_redirects=False).status_code == 303
    monkeypatch.setattr("cxray.web._pages.scorecard_records", _boom)
    r = c.get("/")
    assert_envelope(r, 500, "internal_error")
    _page_headers(r)


def test_an_unhandled_survey_page_error_keeps_the_framable_policy(served, monkeypatch):
    c, _ = served
    monkeypatch.setattr("cxray.surveys.Surveys.get", _boom)
    r = c.get("/s/pulse")
    assert_envelope(r, 500, "internal_error")
    for name, value in COMMON.items():
        assert r.headers[name] == value
    assert "x-frame-options" not in r.headers  # survey pages are meant to be framed
    assert r.headers["content-security-policy"] == content_security_policy("*")


def test_an_unknown_dashboard_url_is_an_html_page_and_api_keeps_json(served):
    c, keys = served
    anonymous = c.get("/nope")
    assert anonymous.status_code == 404
    assert anonymous.headers["content-type"].startswith("text/html")
    assert "Page not found" in anonymous.text and "There is no page at /nope." in anonymous.text
    assert 'href="/login"' in anonymous.text and 'aria-label="Pages"' not in anonymous.text
    _page_headers(anonymous)
    # a logged-in user gets the navigation and their name, so they can go on
    assert c.post("/login", data={"key": keys["viewer"]}, follow_redirects=False).status_code == 303
    page = c.get("/nope/deeper?x=<script>")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert 'aria-label="Pages"' in page.text and "t viewer (viewer)" in page.text
    assert "/nope/deeper" in page.text and "<script>" not in page.text
    _page_headers(page)
    # a method a page does not take: HTML too
    wrong = c.delete("/trends")
    assert wrong.status_code == 405 and wrong.headers["content-type"].startswith("text/html")
    assert "does not accept a DELETE request" in wrong.text
    # the API keeps its JSON envelope for both
    for url in ("/api/nope", "/api"):
        err = assert_envelope(c.get(url), 404, "not_found")
        assert url in err["message"]
    assert_envelope(c.delete("/api/status"), 405, "method_not_allowed")
    _page_headers(c.get("/api/nope"))


def test_logout_from_another_site_is_refused(served):
    c, keys = served
    assert c.post("/api/login", json={"key": keys["viewer"]}).status_code == 200
    for origin in ("https://evil.example", "null", "http://testserver.evil.example"):
        r = c.post("/api/logout", headers={"Origin": origin})
        err = assert_envelope(r, 403, "forbidden")
        assert "this site's own pages" in err["message"]
        assert "set-cookie" not in r.headers  # the cookie is not touched
        assert c.get("/api/me").json()["role"] == "viewer"  # still logged in
    # from the server's own pages (or a client that sends no Origin) it logs out
    ok = c.post("/api/logout", headers={"Origin": "http://testserver"})
    assert ok.status_code == 200 and ok.json() == {"logged_out": True}
    assert 'cxray_session=""' in ok.headers["set-cookie"]
    assert_envelope(c.get("/api/me"), 401, "unauthenticated")
