"""The Drivers page in a real headless Chromium against a real ``cxray serve`` on loopback.

Opens the page, checks the priority matrix draws (Plotly's SVG, with the script served
locally) and that the shares a person sees are the API's, clicks a driver on the chart
and in the table, switches the outcome, follows the rows link and the overview tile's
link. Needs Debian's ``chromium``, as ``test_browser.py`` does.

``CXRAY_SCREENSHOTS=DIR`` saves ``drivers.png`` (1280×800) into DIR, on the same demo
world as the other screenshots (``docs/screenshots/``).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from cxray.workspace import Workspace
from tests._browser import chromium, log_in, needs_chromium, shot
from tests._serve import create_key, served

pytestmark = needs_chromium()
#: the first view of an outcome computes its analysis (seconds); later ones are kept
SLOW_MS = 180_000


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("drivers-browser")
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.load_demo(seed=11, customers=1500, months=6)
    viewer = create_key(db, "viewer")
    with served(db, folder / "cxray.toml") as base:
        yield {"base": base, "viewer": viewer}


@pytest.fixture(scope="module")
def page(server) -> Iterator:
    with chromium() as browser:  # sent to the login page, then back where it was going
        yield log_in(
            browser, server["base"], server["viewer"], start="/drivers", timeout_ms=SLOW_MS
        )


def _api(server, path: str, **params) -> dict:
    headers = {"Authorization": f"Bearer {server['viewer']}"}
    r = httpx.get(f"{server['base']}/api{path}", params=params, headers=headers, timeout=300)
    r.raise_for_status()
    return r.json()


def _shares(page) -> dict[str, float]:
    rows = page.eval_on_selector_all(
        "table.drivers tbody tr[data-driver]",
        "rows => rows.map(r => [r.dataset.driver,"
        " parseFloat(r.querySelector('td.share [data-value]').dataset.value)])",
    )
    return dict(rows)


def test_the_matrix_draws_and_shows_the_api_numbers(server, page):
    page.goto(f"{server['base']}/drivers")
    page.wait_for_selector("#matrix-chart.js-plotly-plot svg.main-svg")
    page.wait_for_selector("#moments-chart.js-plotly-plot svg.main-svg")
    analysis = _api(server, "/drivers", outcome="nps")["analyses"][0]
    assert _shares(page) == pytest.approx({d["driver"]: d["share"] for d in analysis["drivers"]})
    plotted = [d for d in analysis["drivers"] if d["performance"] is not None]
    assert page.locator("#matrix-chart .scatterlayer path.point").count() == len(plotted)
    for label in ("FIX FIRST", "MAINTAIN", "MONITOR", "LOWER PRIORITY"):
        assert page.locator(f"#matrix-chart text:has-text('{label}')").count() == 1
    shot(page, "drivers.png")


def test_clicking_a_driver_opens_its_detail(server, page):
    page.goto(f"{server['base']}/drivers")
    point = page.locator("#matrix-chart .scatterlayer path.point").first
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url("**driver=**")
    chosen = parse_qs(urlsplit(page.url).query)["driver"][0]
    assert page.locator("#detail").get_attribute("data-driver") == chosen
    assert page.locator(f"table.drivers tr[data-driver={chosen}].selected").count() == 1
    # and from the table: the last driver
    last = page.locator("table.drivers tbody tr[data-driver]").last
    name = last.get_attribute("data-driver")
    last.locator("th a").click()
    page.wait_for_url(f"**driver={name}**")
    assert page.locator("#detail").get_attribute("data-driver") == name
    effect = float(page.locator("#detail .effect").get_attribute("data-value"))
    analysis = _api(server, "/drivers", outcome="nps")["analyses"][0]
    want = {d["driver"]: d for d in analysis["drivers"]}[name]
    assert effect == pytest.approx(want["effect"])


def test_the_rows_behind_a_driver(server, page):
    page.goto(f"{server['base']}/drivers?outcome=nps&driver=late_deliveries")
    page.click("#detail a.analysed")
    page.wait_for_url("**/rows/responses?has=nps**")
    assert page.locator("table tbody tr").count() > 0
    page.go_back()
    page.click("#detail a.behind")
    page.wait_for_url("**/rows/orders?has=promised_at**")
    assert page.locator("table tbody tr").count() > 0


def test_switching_the_outcome(server, page):
    page.goto(f"{server['base']}/drivers")
    page.select_option("select[name=outcome]", "csat")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**outcome=csat**")
    page.wait_for_selector("#matrix-chart.js-plotly-plot svg.main-svg")
    assert "CSAT" in page.inner_text("h1")
    analysis = _api(server, "/drivers", outcome="csat")["analyses"][0]
    assert _shares(page) == pytest.approx({d["driver"]: d["share"] for d in analysis["drivers"]})
    assert "Moments of truth on csat" in page.inner_text("#moments")


def test_the_overview_tile_leads_to_the_drivers(server, page):
    page.goto(f"{server['base']}/")
    page.click(".tile[data-metric=nps] .drivers-link a")
    page.wait_for_url("**/drivers?outcome=nps")
    page.wait_for_selector("#matrix-chart.js-plotly-plot svg.main-svg")
    assert page.locator("nav a[aria-current=page]").text_content() == "Drivers"  # in its menu
