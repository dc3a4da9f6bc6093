"""The Journeys page in a real headless Chromium against a real ``cxray serve``.

Follows an overview tile's link to its journey, draws every chart (Plotly served by
cxray itself), and checks that the funnel a person sees is the API's. Needs Debian's
``chromium``; skipped without it, except under CI. ``CXRAY_SCREENSHOTS=DIR`` saves
``journeys.png`` (1280×800) into DIR, as in ``docs/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cxray.workspace import Workspace
from tests._browser import chromium, log_in, needs_chromium, shot
from tests._serve import create_key, served

pytestmark = needs_chromium()
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
    with chromium() as browser:
        yield log_in(browser, server["base"], server["viewer"], start="/login")


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
    shot(page, "journeys.png")


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
