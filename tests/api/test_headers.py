"""Security headers of ``cxray serve`` (cxray.api._headers, installed by cxray.app).

Every response says nosniff, Referrer-Policy and COOP; everything but the public survey
pages refuses to be framed (X-Frame-Options and CSP frame-ancestors); the dashboard's CSP
allows no inline script, and a real Chromium draws the overview, a Plotly chart and a
survey page without a single CSP violation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cxray.access import ApiKeys
from cxray.api._headers import HSTS_ENV, SecurityHeaders, content_security_policy
from cxray.app import create_app
from cxray.workspace import Workspace
from tests._serve import CHROMIUM, CHROMIUM_ARGS, free_port, served
from tests.surveys.conftest import PULSE

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


def _directives(csp: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("headers")
    db, config = folder / "demo.duckdb", folder / "cxray.toml"
    with Workspace.open(db, config) as ws:
        ws.load_demo(seed=11, customers=1500, months=6)
        keys = ApiKeys(ws.store)
        admin = keys.create("admin", name="t admin")[1]
        viewer = keys.create("viewer", name="t viewer")[1]
    yield {"db": db, "config": config, "admin": admin, "viewer": viewer}


@pytest.fixture
def client(world) -> Iterator[TestClient]:
    saved = os.environ.pop(HSTS_ENV, None)
    app = create_app(world["db"], world["config"])
    with TestClient(app, raise_server_exceptions=False) as c:
        admin = {"Authorization": f"Bearer {world['admin']}"}
        assert c.put("/api/surveys/pulse", json=PULSE, headers=admin).status_code in (200, 201)
        yield c
    if saved is not None:
        os.environ[HSTS_ENV] = saved


def _assert_not_framable(r: httpx.Response) -> None:
    for name, value in COMMON.items():
        assert r.headers[name] == value, (r.request.url, name)
    assert r.headers["x-frame-options"] == "DENY"
    assert _directives(r.headers["content-security-policy"])["frame-ancestors"] == ["'none'"]
    assert "strict-transport-security" not in r.headers  # only with --hsts


def test_dashboard_page_api_errors_and_static_files_refuse_framing(client, world):
    login = client.post("/login", data={"key": world["viewer"]}, follow_redirects=False)
    assert login.status_code == 303
    _assert_not_framable(login)
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    _assert_not_framable(page)
    csp = _directives(page.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no nonce, no CDN
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert page.headers["content-security-policy"] == content_security_policy()

    trends = client.get("/trends")
    assert trends.status_code == 200
    html = trends.text
    assert 'class="cx-figure"' in html and "/static/cxray-charts.js" in html
    # the only <script> elements are external files and JSON data blocks
    for tag in html.split("<script")[1:]:
        head = tag.split(">", 1)[0]
        assert " src=" in head or 'type="application/json"' in head, head

    api = client.get("/api/health")
    assert api.status_code == 200 and api.headers["content-type"] == "application/json"
    _assert_not_framable(api)
    anonymous = TestClient(client.app, raise_server_exceptions=False)  # no session cookie
    for url, status in [("/api/no-such-thing", 404), ("/api/surveys", 401)]:
        r = anonymous.get(url)
        assert r.status_code == status, url
        _assert_not_framable(r)
    for url in ("/static/cxray.css", "/static/plotly.min.js", "/static/cxray-charts.js"):
        r = client.get(url)
        assert r.status_code == 200, url
        _assert_not_framable(r)


def test_survey_pages_and_embed_may_be_framed(client):
    for url in ("/s/pulse", "/s/pulse/embed.js", "/s/no-such-survey"):
        r = client.get(url)
        assert r.status_code == (404 if "no-such" in url else 200), url
        for name, value in COMMON.items():
            assert r.headers[name] == value
        assert "x-frame-options" not in r.headers
        csp = _directives(r.headers["content-security-policy"])
        assert csp["frame-ancestors"] == ["*"]
        assert csp["script-src"] == ["'self'"]


def test_hsts_and_a_list_of_framing_sites(monkeypatch, world):
    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    c = TestClient(SecurityHeaders(ok, hsts=True, frame_ancestors="https://a.example"))
    r = c.get("/s/pulse")  # no `with`: a bare app without a lifespan
    assert r.headers["strict-transport-security"] == "max-age=31536000"
    assert _directives(r.headers["content-security-policy"])["frame-ancestors"] == [
        "https://a.example"
    ]
    monkeypatch.setenv(HSTS_ENV, "1")
    monkeypatch.setenv("CXRAY_FRAME_ANCESTORS", "https://a.example https://b.example")
    c = TestClient(SecurityHeaders(ok))
    r = c.get("/s/x")
    assert r.headers["strict-transport-security"] == "max-age=31536000"
    assert r.headers["content-security-policy"].endswith(
        "frame-ancestors https://a.example https://b.example"
    )
    assert c.get("/").headers["x-frame-options"] == "DENY"  # the list is for surveys only
    from cxray.exceptions import ConfigError

    monkeypatch.setenv("CXRAY_FRAME_ANCESTORS", "https://a.example; script-src *")
    with pytest.raises(ConfigError, match="CXRAY_FRAME_ANCESTORS"):
        SecurityHeaders(ok)


def test_serve_passes_hsts_and_the_proxy_addresses_to_uvicorn(monkeypatch, world):
    import uvicorn

    from cxray.cli import app as cli

    seen = {}

    def run(self, sockets=None):
        seen["config"] = self.config
        seen["hsts"] = os.environ.get(HSTS_ENV)

    monkeypatch.setattr(uvicorn.Server, "run", run)
    # `cxray serve` hands its options to the app in the environment: set first so that the
    # test's end removes what the command set (a bare delenv of an absent name records
    # nothing to undo, and CXRAY_DB would leak into every later test)
    for name in (HSTS_ENV, "CXRAY_DB", "CXRAY_CONFIG", "CXRAY_SERVE_URL"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    base = ["--db", str(world["db"]), "serve", "--port", str(free_port())]
    args = [*base, "--hsts", "--forwarded-allow-ips", "10.0.0.5, 10.0.0.6"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert seen["config"].proxy_headers is True
    assert seen["config"].forwarded_allow_ips == "10.0.0.5,10.0.0.6"
    assert seen["hsts"] == "1"
    monkeypatch.delenv(HSTS_ENV, raising=False)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    out = CliRunner().invoke(cli, base)
    assert out.exit_code == 0, out.output
    assert os.environ.get(HSTS_ENV) is None  # no --hsts: no header
    default = uvicorn.Config("x:y").forwarded_allow_ips  # uvicorn's own: loopback only
    assert seen["config"].forwarded_allow_ips == default and "10.0.0.5" not in default
    bad = CliRunner().invoke(cli, [*base, "--forwarded-allow-ips", " , "])
    assert bad.exit_code != 0 and "forwarded-allow-ips" in str(bad.exception)
    assert "serving" not in bad.output  # refused before it listens


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_chromium_draws_pages_without_a_csp_violation(world):
    from playwright.sync_api import sync_playwright

    with served(world["db"], world["config"]) as base, sync_playwright() as p:
        admin = {"Authorization": f"Bearer {world['admin']}"}
        r = httpx.put(f"{base}/api/surveys/pulse", json=PULSE, headers=admin, timeout=30)
        assert r.status_code in (200, 201), r.text
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            violations: list[str] = []
            page.on(
                "console",
                lambda m: (
                    violations.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )
            page.goto(f"{base}/login")
            page.fill("input[name=key]", world["viewer"])
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/trends")
            page.wait_for_selector("#trend-chart .main-svg", timeout=20_000)  # Plotly drew it
            assert page.locator("#trend-chart .scatterlayer .trace").count() >= 1
            page.goto(f"{base}/s/pulse")
            page.wait_for_selector("form[action='/s/pulse']")
            assert violations == []
            # a theme's bubble still opens its quotes: the click handler is the static script's
            page.goto(f"{base}/text")
            page.wait_for_selector("#themes-chart .main-svg", timeout=20_000)
            link = page.evaluate(
                "() => { const d = document.getElementById('themes-chart');"
                " const c = d.data[0].customdata[0];"
                " d.emit('plotly_click', {points: [{customdata: c}]}); return c; }"
            )
            assert link.startswith("/text?")
            page.wait_for_url(f"{base}{link}")
            # the Text and Drivers pages carry no inline script either
            page.goto(f"{base}/drivers")
            page.wait_for_selector("#matrix-chart .main-svg", timeout=60_000)
            assert violations == []
        finally:
            browser.close()
