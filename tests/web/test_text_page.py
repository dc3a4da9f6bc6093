"""The Text page: the same themes, quotes and emerging issues as /api/text, redacted."""

from __future__ import annotations

import html as htmllib
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.text import REPORTS
from cxray.workspace import Workspace
from tests.web.conftest import Site, values


@pytest.fixture
def make_site(tmp_path):
    """A logged-in site over a fresh store that ``setup(ws)`` fills."""
    opened = []

    def make(setup):
        REPORTS.clear()
        db = tmp_path / "site.duckdb"
        with Workspace.open(db, tmp_path / "cxray.toml") as ws:
            setup(ws)
            key = ApiKeys(ws.store).create("viewer", name="t")[1]
        client = TestClient(create_app(db, tmp_path / "cxray.toml", settings=ApiSettings()))
        client.__enter__()
        opened.append(client)
        assert client.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
        return Site(client, client, key, db)

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def api(site, path: str, **params):
    r = site.client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_text_page_numbers_equal_the_api(site):
    r = site.client.get("/text")
    assert r.status_code == 200, r.text
    page = r.text
    report = api(site, "/api/text/themes")
    shown = values(page, "theme")
    assert set(shown) == {t["id"] for t in report["themes"]}
    for t in report["themes"]:
        assert shown[t["id"]] == t["volume"]
    total = re.search(r'class="total" data-value="(\d+)"', page)
    assert int(total.group(1)) == report["n_texts"]
    # every shown share and NPS impact is the API's estimate
    for t in report["themes"]:
        row = re.search(rf'data-theme="{t["id"]}"(.*?)</tr>', page, re.S).group(1)
        nums = [float(x) for x in re.findall(r'data-value="([^"]+)"', row)]
        want = [t["volume"]] + [
            e["estimate"]
            for e in (
                t["share"],
                t["sentiment"],
                t["negative_share"],
                t["impact"]["nps"],
                t["impact"]["csat"],
            )
            if not e["suppressed"]
        ]
        assert nums == want
    # a bubble for every theme whose sentiment and impact are shown (not suppressed)
    plotted = [
        t
        for t in report["themes"]
        if t["volume"] and not t["sentiment"]["suppressed"] and not t["impact"]["nps"]["suppressed"]
    ]
    assert ("themes-chart" in page) == ("/static/plotly.min.js" in page) == bool(plotted)
    assert '<a href="/text"' in page or 'href="/text?' in page  # in the nav


def test_theme_drill_down_shows_the_apis_rows(site):
    report = api(site, "/api/text/themes")
    theme = report["themes"][0]
    page = site.client.get("/text", params={"theme": theme["id"]}).text
    rows = api(site, f"/api/text/themes/{theme['id']}/rows", limit=20)
    assert re.search(r'id="quotes"', page)
    totals = re.findall(r'class="total" data-value="(\d+)"', page)
    assert int(totals[1]) == rows["total"] == theme["volume"]
    text = htmllib.unescape(page)
    for r in rows["rows"]:
        assert r["response_id"] in page and r["text"] in text
        assert f"/rows/responses?filter=response_id%3A{r['response_id']}" in page
    negative = site.client.get("/text", params={"theme": theme["id"], "sentiment": "negative"})
    want = api(site, f"/api/text/themes/{theme['id']}/rows", sentiment="negative")["total"]
    assert int(re.findall(r'class="total" data-value="(\d+)"', negative.text)[1]) == want


def test_emerging_issues_are_the_apis(site):
    page = site.client.get("/text").text
    trends = api(site, "/api/text/trends", period="week")
    shown = re.findall(r'data-period="([^"]+)" data-category="([^"]+)"', page)
    assert shown == [(e["period"], e["category"]) for e in trends["emerging"]]
    if not trends["emerging"]:
        assert "No emerging issues" in page


def test_other_tables_sources_and_errors(site):
    cases = site.client.get("/text", params={"table": "cases"})
    assert cases.status_code == 200
    want = api(site, "/api/text/themes", table="cases")
    assert values(cases.text, "theme") == {t["id"]: t["volume"] for t in want["themes"]}
    bad = site.client.get("/text", params={"table": "orders"})
    assert bad.status_code == 400 and "table=&#39;orders&#39;" in bad.text
    missing = site.client.get("/text", params={"theme": "nope"})
    assert missing.status_code == 404 and "nope" in missing.text
    assert site.anonymous.get("/text", follow_redirects=False).status_code == 303


def test_quotes_on_the_page_are_redacted(make_site):
    rows = pd.DataFrame(
        {
            "response_id": [f"R{i}" for i in range(35)],
            "submitted_at": ["2026-01-05"] * 35,
            "nps": [3] * 35,
            "comment": [f"Late parcel, awful. Call me on +44 20 7946 09{i:02d}" for i in range(35)],
        }
    )
    site = make_site(lambda ws: ws.import_frame("responses", rows))
    page = site.client.get("/text", params={"theme": "delivery"}).text
    assert "[phone]" in page and "7946" not in page


def test_an_empty_store_shows_an_empty_page(make_site):
    site = make_site(lambda ws: None)
    for table in ("responses", "cases", "mentions"):
        r = site.client.get("/text", params={"table": table})
        assert r.status_code == 200, r.text
        assert 'class="total" data-value="0"' in r.text
        assert "No emerging issues" in r.text
