"""The Journeys page in a real headless Chromium against a real ``cxray serve``.

Follows an overview tile's link to its journey, draws every chart (Plotly served by
cxray itself), and checks that the funnel a person sees is the API's. Needs Debian's
``chromium``; skipped without it, except under CI. ``CXRAY_SCREENSHOTS=DIR`` saves
``journeys.png`` (1280×800) into DIR, as in ``docs/screenshots/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cxray.workspace import Workspace
from tests._serve import CHROMIUM, CHROMIUM_ARGS, create_key, served

if not CHROMIUM.exists() and os.environ.get("CI"):
    pytest.fail("/usr/bin/chromium is missing under CI (.ci/run installs it)", pytrace=False)
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")

SHOTS = os.environ.get("CXRAY_SCREENSHOTS")
SHOP = "visit_site,product_viewed,added_to_cart,checkout_started,payment_submitted,order_placed"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("journeys-browser")
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.load_demo(seed=11, customers=1500, months=6)
    viewer = create_key(db, "viewer")
    with served(db, folder / "cxray.toml") as base:
        yield {"base": base, "viewer": viewer}


@pytest.fixture(scope="module")
def page(server) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        pg = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        pg.goto(f"{server['base']}/login")
        pg.fill("input[name=key]", server["viewer"])
        pg.click("button[type=submit]")
        pg.wait_for_url(f"{server['base']}/")
        yield pg
        browser.close()


def _api(server, path: str, **params) -> dict:
    headers = {"Authorization": f"Bearer {server['viewer']}"}
    r = httpx.get(f"{server['base']}/api{path}", params=params, headers=headers, timeout=120)
    r.raise_for_status()
    return r.json()


def test_a_journey_tile_leads_to_its_funnel(server, page):
    page.goto(f"{server['base']}/")
    page.click(".tile[data-metric='completion:checkout'] .journey a")
    page.wait_for_url("**/journeys?*")
    assert "checkout_started → order_placed" in page.inner_text("h1 .steps")
    page.wait_for_selector("#funnel-chart.js-plotly-plot")


def test_the_page_draws_and_shows_the_api_funnel(server, page):
    page.goto(f"{server['base']}/journeys?steps={SHOP}&case=session")
    for chart in ("funnel-chart", "conversion-chart", "times-chart", "paths-sankey"):
        page.wait_for_selector(f"#{chart}.js-plotly-plot")
    assert page.locator("#paths-sankey .sankey-node").count() > 5
    shown = page.eval_on_selector_all(
        "table.funnel tbody tr",
        "rows => rows.map(r => parseInt(r.querySelector('[data-value]').dataset.value))",
    )
    funnel = _api(server, "/journeys/funnel", steps=SHOP, case="session")
    assert shown == [r["cases"] for r in funnel["records"]]
    conv = page.eval_on_selector_all(
        "[data-conversion]", "els => els.map(e => parseFloat(e.dataset.conversion))"
    )
    assert conv == pytest.approx([r["conversion"] for r in funnel["records"][1:]], rel=1e-12)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / "journeys.png"))


def test_the_form_slices_the_funnel(server, page):
    page.goto(f"{server['base']}/journeys?steps={SHOP}&case=session")
    page.select_option("select[name=by]", "segment")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**by=segment*")
    page.wait_for_selector("#funnel-chart.js-plotly-plot")
    slices = page.eval_on_selector_all(
        "table.funnel tbody tr", "rows => [...new Set(rows.map(r => r.dataset.slice))]"
    )
    assert sorted(slices) == ["consumer", "enterprise", "smb"]
