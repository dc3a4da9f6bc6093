"""The dashboard in a real headless Chromium against a real ``cxray serve`` on loopback.

Logs in, opens every page, checks that the numbers a person sees equal the API's,
follows a drill-down from a number to its rows, opens a customer, and checks that a
viewer cannot import. Needs Debian's ``chromium`` (``.ci/run`` installs it): without it
the module is skipped, except under CI, where a missing browser is a failure.

``CXRAY_SCREENSHOTS=DIR`` saves a 1280×800 screenshot of each page into DIR (the
ones in ``docs/screenshots/`` were made this way).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cxray.workspace import Workspace
from tests._browser import chromium, log_in, needs_chromium, shot
from tests._serve import create_key, served

pytestmark = needs_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("browser")
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.load_demo(seed=11, customers=1500, months=6)
    viewer, admin = create_key(db, "viewer"), create_key(db, "admin")
    with served(db, folder / "cxray.toml") as base:
        yield {"base": base, "viewer": viewer, "admin": admin}


@pytest.fixture(scope="module")
def page(server) -> Iterator:
    with chromium() as browser:
        yield log_in(browser, server["base"], server["viewer"])  # sent to the login page first


def _api(server, path: str, **params) -> list[dict]:
    headers = {"Authorization": f"Bearer {server['viewer']}"}
    r = httpx.get(f"{server['base']}/api{path}", params=params, headers=headers, timeout=60)
    r.raise_for_status()
    return r.json()


def _shown(page, scope: str) -> dict[str, float]:
    """``{data-metric or row label: the number shown}`` read from the page's links."""
    return page.eval_on_selector_all(
        f"{scope} [data-value]",
        "els => els.map(e => [e.closest('[data-metric], tr').dataset.metric"
        " || e.closest('tr').cells[0].innerText.trim(), parseFloat(e.dataset.value)])",
    )


def _shot(page, name: str) -> None:
    shot(page, f"{name}.png")


def test_overview_shows_the_api_numbers(server, page):
    page.goto(f"{server['base']}/")
    shown = dict(_shown(page, ".tiles"))
    api = {r["metric"]: r["estimate"] for r in _api(server, "/scorecard") if not r["suppressed"]}
    assert shown and set(shown) <= set(api)
    for metric, value in shown.items():
        assert value == pytest.approx(api[metric], rel=1e-9), metric
    _shot(page, "overview")


def test_trends_and_segments_show_the_api_numbers(server, page):
    page.goto(f"{server['base']}/trends?metric=nps&period=month")
    page.wait_for_selector(".js-plotly-plot")  # the chart drew, with plotly served locally
    monthly = _api(server, "/scorecard", metric="nps", period="month")
    expected = sorted(r["estimate"] for r in monthly if not r["suppressed"])
    shown = sorted(v for _, v in _shown(page, "table"))
    assert shown == pytest.approx(expected, rel=1e-9)
    _shot(page, "trends")
    page.goto(f"{server['base']}/segments?metric=nps&by=region")
    by_region = _api(server, "/scorecard", metric="nps", by="region")
    expected = sorted(r["estimate"] for r in by_region if not r["suppressed"])
    shown = sorted(v for _, v in _shown(page, "table"))
    assert shown == pytest.approx(expected, rel=1e-9)
    _shot(page, "segments")


def test_a_number_leads_to_its_rows_and_a_customer(server, page):
    page.goto(f"{server['base']}/")
    page.click(".tile[data-metric=nps] [data-value]")
    page.wait_for_url("**/rows/**")
    assert page.locator("table tbody tr").count() > 0
    _shot(page, "rows")
    link = page.locator("a[href*='/customers/']").first
    customer = link.get_attribute("href").rsplit("/", 1)[-1]
    link.click()
    page.wait_for_url(f"**/customers/{customer}")
    story = httpx.get(
        f"{server['base']}/api/customers/{customer}",
        headers={"Authorization": f"Bearer {server['viewer']}"},
        timeout=60,
    ).json()
    assert customer in page.inner_text("h1")
    assert page.locator("text=" + story["timeline"][0]["table"][:-1]).count() > 0
    _shot(page, "customer")


def test_a_viewer_cannot_import_but_an_admin_can(server, tmp_path):
    csv = b"response_id,submitted_at,nps\nB1,2026-01-01,9\n"
    files = {"files": ("r.csv", csv, "text/csv")}
    url = f"{server['base']}/api/imports/responses"
    r = httpx.post(url, files=files, headers={"Authorization": f"Bearer {server['viewer']}"})
    assert r.status_code == 403 and r.json()["error"]["code"]
    r = httpx.post(url, files=files, headers={"Authorization": f"Bearer {server['admin']}"})
    assert r.status_code == 201 and r.json()["added"] == 1


def test_text_page_themes_quotes_and_the_api(server, page):
    page.goto(f"{server['base']}/text")
    page.wait_for_selector("#themes-chart.js-plotly-plot")  # the bubble chart drew
    report = _api(server, "/text/themes")
    shown = page.eval_on_selector_all(
        "table.themes tr[data-theme]",
        "rows => rows.map(r => [r.dataset.theme, parseFloat(r.querySelector('[data-value]')"
        ".dataset.value)])",
    )
    assert dict(shown) == {t["id"]: t["volume"] for t in report["themes"]}
    _shot(page, "text")
    first = report["themes"][0]
    page.click(f"tr[data-theme={first['id']}] th a")
    page.wait_for_selector("#quotes table.quotes")
    rows = _api(server, f"/text/themes/{first['id']}/rows", limit=20)["rows"]
    texts = page.eval_on_selector_all(
        "table.quotes tbody tr td:last-child", "els => els.map(e => e.innerText.trim())"
    )
    assert texts == [r["text"].strip() for r in rows]
