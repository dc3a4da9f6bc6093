"""The Text page's FAQ section: the API's candidates, masked examples, article links, and a
second page load that serves the report instead of computing it."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from cxray import text
from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.workspace import Workspace
from tests.text._faq_data import cases


@pytest.fixture
def site(tmp_path):
    text.REPORTS.clear()
    db = tmp_path / "site.duckdb"
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        ws.import_frame("cases", cases())
        text.import_kb(
            ws.store,
            [
                {
                    "title": "Reset your password",
                    "url": "https://help.example.com/password",
                    "text": "Forgot your password? Use the reset link on the login page.",
                }
            ],
        )
        key = ApiKeys(ws.store).create("viewer", name="t")[1]
    client = TestClient(create_app(db, tmp_path / "cxray.toml", settings=ApiSettings()))
    with client:
        assert client.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
        yield client


def test_the_section_shows_the_apis_candidates_masked(site, monkeypatch):
    page = site.get("/text?table=cases")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Questions customers keep asking" in html
    api = site.get("/api/text/faq").json()
    shown = re.findall(r'data-faq="([^"]+)"', html)
    assert shown == [c["id"] for c in api["candidates"][:10]]
    assert api["kb_articles"] == 1
    # the covered question links its article; the others say so
    assert 'href="https://help.example.com/password"' in html and "no article" in html
    # examples are masked for a viewer
    assert "[email]" in html and "@example.com" not in html
    assert all("@" not in e["text"] for c in api["candidates"] for e in c["examples"])

    # a second load serves the report: nothing is computed again
    def refuse(*a, **k):
        raise AssertionError("the FAQ was computed again")

    monkeypatch.setattr("cxray.text._faq.faq_candidates", refuse)
    again = site.get("/text?table=cases")
    assert again.status_code == 200 and re.findall(r'data-faq="([^"]+)"', again.text) == shown


def test_only_analysts_post_articles(site):
    r = site.post("/api/text/kb", json=[{"title": "T", "url": "/help/t", "text": "x"}])
    assert r.status_code == 403
