"""The Journeys page: the same funnel, paths and graph as /api/journeys, and its links."""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.workspace import Workspace
from tests.web.conftest import values

SHOP = "visit_site,product_viewed,added_to_cart,checkout_started,payment_submitted,order_placed"


def api(site, path: str, **params):
    r = site.client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_funnel_numbers_equal_the_api(site):
    r = site.client.get(f"/journeys?steps={SHOP}&case=session")
    assert r.status_code == 200, r.text
    page = r.text
    funnel = api(site, "/api/journeys/funnel", steps=SHOP, case="session")
    shown = values(page, "step")
    assert shown == {str(i + 1): rec["cases"] for i, rec in enumerate(funnel["records"])}
    conv = [float(x) for x in re.findall(r'data-conversion="([^"]+)"', page)]
    assert conv == pytest.approx([rec["conversion"] for rec in funnel["records"][1:]], rel=1e-12)
    total = re.search(r'class="total" data-value="(\d+)"', page)
    assert int(total.group(1)) == funnel["entered"]
    for chart in ("funnel-chart", "conversion-chart", "times-chart", "paths-sankey"):
        assert f'id="{chart}"' in page
    assert '<script src="/static/plotly.min.js"></script>' in page  # served locally
    edges = api(site, "/api/journeys/graph", case="session")["edges"]
    shown_edges = values(page, "edge")
    top = {htmllib.unescape(k): v for k, v in shown_edges.items()}
    assert top == {f"{e['source']}→{e['target']}": e["count"] for e in edges[:15]}


def test_slices_and_the_nav(site):
    page = site.client.get(f"/journeys?steps={SHOP}&case=session&by=region").text
    funnel = api(site, "/api/journeys/funnel", steps=SHOP, case="session", by="region")
    rows = re.findall(r'<tr data-step="(\d+)" data-slice="([^"]*)">', page)
    assert len(rows) == len(funnel["records"])
    assert {s for _, s in rows} == {rec["region"] for rec in funnel["records"]}
    assert '<a href="/journeys" aria-current="page">Journeys</a>' in page


def test_default_is_the_configured_journey_and_tiles_link_here(site):
    page = site.client.get("/journeys").text
    assert '<h1>Journeys<span class="steps">checkout_started → order_placed</span></h1>' in page
    overview = site.client.get("/").text
    links = re.findall(r'<p class="journey"><a href="([^"]+)"', overview)
    assert len(links) == 2  # the completion and abandonment tiles of the checkout journey
    query = parse_qs(urlsplit(htmllib.unescape(links[0])).query)
    assert query == {"steps": ["checkout_started,order_placed"], "within": ["2"]}
    r = site.client.get(htmllib.unescape(links[0]))
    assert r.status_code == 200 and "within 2 h of the entry" in r.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("steps=visit_site,nope", "step &#39;nope&#39; never occurs"),
        ("steps=visit_site", "a funnel needs at least two steps"),
        ("steps=visit_site,order_placed&within=soon", "within=&#39;soon&#39; is not a number"),
        ("steps=visit_site,order_placed&within=-1", "within must be a positive number"),
        ("steps=visit_site,order_placed&by=bogus", "unknown attribute &#39;bogus&#39;"),
        ("steps=visit_site,order_placed&case=ticket", "unknown case &#39;ticket&#39;"),
    ],
)
def test_mistakes_show_an_error_page(site, query, message):
    r = site.client.get(f"/journeys?{query}")
    assert r.status_code == 400 and message in r.text and "Traceback" not in r.text


def test_needs_a_login(site):
    r = site.anonymous.get("/journeys", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_an_empty_store(tmp_path):
    db = tmp_path / "empty.duckdb"
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        key = ApiKeys(ws.store).create("viewer", name="t")[1]
    with TestClient(create_app(db, tmp_path / "cxray.toml", settings=ApiSettings())) as client:
        client.post("/login", data={"key": key}, follow_redirects=False)
        r = client.get("/journeys")
        assert r.status_code == 400 and "no touchpoints in the data" in r.text


def test_own_data_opens_its_most_common_path(tmp_path):
    """Without the configured journey's touchpoints, the page opens the data's common path."""
    from tests.journeys.conftest import EVENT_LOG_MAP, RUNNING_EXAMPLE, without_index

    if not RUNNING_EXAMPLE.exists():
        pytest.skip(f"{RUNNING_EXAMPLE} is missing")
    db = tmp_path / "log.duckdb"
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        log = without_index(RUNNING_EXAMPLE, tmp_path / "running-example.csv")
        ws.import_files("events", [log], mapping=EVENT_LOG_MAP)
        key = ApiKeys(ws.store).create("viewer", name="t")[1]
    with TestClient(create_app(db, tmp_path / "cxray.toml", settings=ApiSettings())) as client:
        client.post("/login", data={"key": key}, follow_redirects=False)
        r = client.get("/journeys")
        assert r.status_code == 200, r.text
        steps = "register request → examine casually → check ticket → decide"
        assert f'<span class="steps">{steps}</span>' in r.text
        assert values(r.text, "step") == {"1": 6, "2": 4, "3": 3, "4": 3}
