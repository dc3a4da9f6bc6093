"""Every dashboard page at phone width (390×844) and laptop width (1280×800), in Chromium.

One real ``cxray serve`` over a small demo world with the closed loop run over it, a
survey in ``cxray.toml`` and one customer made to break layouts: a long e-mail address and
name, comments of several hundred characters with a long URL in them, a case with a long
subject. One browser and one page object visit every page the dashboard routes (the list
is checked against the routes themselves, so a new page cannot be forgotten) and assert
what a person on a phone needs:

* the page does not scroll sideways (``scrollWidth`` of the document within the viewport);
* the page's heading and its first table or chart start and end inside the viewport (a
  table wider than the phone scrolls inside its own ``.scroll`` box, which must fit);
* every ``.scroll`` box is a labelled region a keyboard can reach (``tabindex="0"``);
* a Plotly chart is drawn no wider than its box (the responsive config).

Needs Debian's ``chromium``, as ``test_browser.py`` does. ``CXRAY_SCREENSHOTS=DIR`` saves
``phone-<page>.png`` (the first 390×844 screen) of each page into DIR (the ``phone-*.png`` of
``docs/screenshots/`` were made so).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from cxray.workspace import Workspace
from tests._loop import build_loop_world
from tests._serve import CHROMIUM, CHROMIUM_ARGS, free_port, served

if not CHROMIUM.exists() and os.environ.get("CI"):
    pytest.fail("/usr/bin/chromium is missing under CI (.ci/run installs it)", pytrace=False)
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")

SHOTS = os.environ.get("CXRAY_SCREENSHOTS")
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}

#: the customer made to break layouts
LONG_ID = "C-PHONE-WIDTH"
LONG_EMAIL = (
    "margaret.featherstonehaugh-cholmondeley.accounts-payable@subsidiary.example-enterprise.co.uk"
)
LONG_NAME = "Margaret Featherstonehaugh-Cholmondeley-Wolfeschlegelsteinhausenberger"
LONG_URL = (
    "https://support.hearthwell.example/orders/tracking/HW-2026-000000123456789/"
    "delivery-status?ref=notification-email&campaign=late-delivery-apology-voucher-2026"
)
LONG_COMMENT = (
    "The parcel came eleven days late, the tracking page at "
    + LONG_URL
    + " kept saying 'out for delivery' the whole time, and nobody called me back although "
    "I asked three times. The sofa itself is lovely, but the delivery experience was so poor "
    "that I would hesitate to order anything this large again. "
    + "Supercalifragilisticexpialidociousdeliveryexperienceneverendingdelay "
    * 2
)

SURVEY = """
[surveys]
base_url = "{base}"

[surveys.visit]
title = "How was your visit to Hearthwell's new showroom in Kingston-upon-Thames?"
intro = "Two quick questions about your last visit. It takes less than a minute."

[[surveys.visit.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend Hearthwell to a friend or colleague?"
required = true

[[surveys.visit.questions]]
id = "improve"
type = "text"
text = "What could we do better?"
"""


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def build_world(folder: Path, base: str) -> dict[str, str]:
    """The loop world of ``tests/_loop.py`` (600 customers, 4 months), a survey, and the
    customer :data:`LONG_ID` with long words everywhere; ``{role: key}``."""
    db, config = folder / "phone.duckdb", folder / "cxray.toml"
    keys = build_loop_world(db, config, seed=3, customers=600, months=4)
    config.write_text(config.read_text(encoding="utf-8") + SURVEY.format(base=base))
    with Workspace.open(db, config) as ws:
        t = ws.table("responses")
        last = t.submitted_at.max().execute()
        day = (last - dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
        ws.import_files("customers", [_write_csv(folder / "c.csv", [{
            "customer_id": LONG_ID, "created_at": "2025-01-15", "email": LONG_EMAIL,
            "name": LONG_NAME, "segment": "consumer", "region": "West", "plan": "premium",
        }])])  # fmt: skip
        ws.import_files("responses", [_write_csv(folder / "r.csv", [
            {"response_id": f"R-PHONE-{i}", "submitted_at": day, "customer_id": LONG_ID,
             "channel": "email", "nps": nps, "csat": csat, "comment": LONG_COMMENT}
            for i, (nps, csat) in enumerate([(2, 1), (3, 2)])
        ])])  # fmt: skip
        ws.import_files("cases", [_write_csv(folder / "k.csv", [{
            "case_id": "K-PHONE-1", "customer_id": LONG_ID, "opened_at": day, "channel": "email",
            "category": "delivery", "subject": "Where is my order? " + LONG_URL,
            "description": LONG_COMMENT, "reopened": "true",
        }])])  # fmt: skip
    return {**keys, "db": str(db), "config": str(config)}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("phone")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    world = build_world(folder, base)
    with served(Path(world["db"]), Path(world["config"]), port=port):
        yield {"base": base, **world}


def _followup_of(base: str, key: str, customer: str) -> str:
    import httpx

    r = httpx.get(
        f"{base}/api/followups",
        params={"customer": customer, "limit": 10},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    r.raise_for_status()
    return r.json()["rows"][0]["followup_id"]


#: (name, path, what must be inside the viewport besides the h1: a CSS selector or None).
#: ``{followup}`` and ``{theme}`` are filled in from the running world.
PAGES = [
    ("overview", "/", ".tiles"),
    ("trends", "/trends?metric=nps", "#trend-chart"),
    ("segments", "/segments?metric=nps&by=region", "#segments-chart"),
    ("rows", "/rows/responses?metric=nps&has=nps", "table.rows"),
    ("rows-long", f"/rows/responses?filter=customer_id:{LONG_ID}", "table.rows"),
    ("cases-long", f"/rows/cases?filter=customer_id:{LONG_ID}", "table.rows"),
    ("find-customer", "/customers", "form[role=search]"),
    ("customer", f"/customers/{LONG_ID}", ".profile"),
    ("text", "/text", "#themes-chart, #themes-chart-phone"),
    ("text-quotes", "/text?theme={theme}&sentiment=negative", "table.quotes"),
    ("text-cases", "/text?table=cases", "table.themes"),
    ("drivers", "/drivers", "table"),
    ("drivers-detail", "/drivers?driver=", ".detail"),
    ("journeys", "/journeys", "table"),
    ("churn", "/churn", "#survival-chart"),
    ("maturity", "/maturity", "#maturity-radar"),
    ("inbox", "/inbox", "table.followups"),
    ("inbox-followup", "/inbox?id={followup}", ".inbox-detail"),
    ("alerts", "/alerts", "table.alerts"),
    ("reports", "/reports", "table.reports"),
    ("views", "/views", "table.views"),
    ("audit", "/audit", "table.audit"),  # an admin's page: opened with the admin key
    ("error", "/trends?metric=no_such_kpi", ".error"),
    ("not-found", "/rows/no_such_table", ".error"),
    ("login", "/login", "form"),
    ("survey", "/s/visit", "form"),
    ("survey-embed", "/s/visit?embed=1", "form"),
    ("survey-thanks", "/s/visit/thanks", "[role=status]"),
    ("survey-unknown", "/s/no_such_survey", "[role=status]"),
    ("survey-embedded", "/s/visit/embed.js", "iframe"),
]

#: routes that are not pages a person reads: assets, form posts, the embed script, JSON
NOT_PAGES = {
    "/static/plotly.min.js",
    "/static/cxray.css",
    "/logout",
    "/inbox/{followup_id}/{action}",
    "/reports/{report_id}",  # an archived digest's file (PDF, HTML, Markdown)
    "/s/{name}/form-token",  # a survey's form token as JSON, for apps (docs/surveys.md)
    "/v/{slug}",  # a saved view's link: a redirect to the page it keeps (checked above)
}


def test_every_page_route_is_visited():
    """The list above covers every GET route of the dashboard and the survey pages."""
    import cxray.web

    routed = set()
    for module in Path(cxray.web.__file__).parent.glob("*.py"):  # every page module
        routed.update(re.findall(r'@router\.get\(\s*"([^"]+)"', module.read_text()))
    assert {"/", "/rows/{table}", "/s/{name}", "/inbox"} <= routed  # the scan finds routes
    visited = {re.sub(r"\?.*", "", p) for _, p, _ in PAGES}
    patterns = {r: re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", r) + "$") for r in routed}
    missing = {
        r for r, rx in patterns.items()
        if r not in NOT_PAGES and not any(rx.match(v) for v in visited)
    }  # fmt: skip
    assert not missing, f"pages without a phone-width check: {sorted(missing)}"


@pytest.fixture(scope="module")
def page(server) -> Iterator:
    """One logged-in page (an analyst: the Inbox shows its forms), reused by every test."""
    import httpx
    from playwright.sync_api import sync_playwright

    headers = {"Authorization": f"Bearer {server['analyst']}"}
    themes = httpx.get(f"{server['base']}/api/text/themes", headers=headers, timeout=120).json()
    server["theme"] = themes["themes"][0]["id"]
    server["followup"] = _followup_of(server["base"], server["analyst"], LONG_ID)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=PHONE)
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        pg.goto(f"{server['base']}/login")
        yield pg
        browser.close()


def _url(server, path: str) -> str:
    return server["base"] + path.format(**{k: quote(str(v)) for k, v in server.items()})


def _login(page, server, role: str = "analyst") -> None:
    if role != "analyst" or "/login" in page.url or not page.context.cookies():
        page.goto(f"{server['base']}/login")
        page.fill("input[name=key]", server[role])
        page.click("button[type=submit]")
        page.wait_for_url(f"{server['base']}/")


#: what the browser measures on a page: the document's width, the boxes that matter
MEASURE = """(sel) => {
  const vw = document.documentElement.clientWidth;
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.width]; };
  const fit = (e) => e.closest('.scroll') || e;
  // the first match that is shown (a chart laid out for other widths is hidden)
  const key = sel ? [...document.querySelectorAll(sel)].find(e => e.getClientRects().length) || null : null;
  return {
    vw, scroll: document.documentElement.scrollWidth,
    h1: [...document.querySelectorAll('h1')].map(box),
    key: key ? box(fit(key)) : null,
    tables: [...document.querySelectorAll('table')].map(t => [t.className, box(fit(t))]),
    charts: [...document.querySelectorAll('.js-plotly-plot')].map(c => [c.id,
             box(c.querySelector('svg.main-svg') || c), box(c.parentElement),
             c.closest('.scroll') ? box(c.closest('.scroll')) : null]),
    regions: [...document.querySelectorAll('.scroll')].map(e => [e.tabIndex,
              e.getAttribute('role'), e.getAttribute('aria-label') || '']),
    wide: [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > vw + 1
              && !e.closest('.scroll, svg') && getComputedStyle(e).position !== 'absolute'
              && e.getClientRects().length).slice(0, 5).map(e => e.tagName + '.' + e.className),
  };
}"""


def _open(page, server, name: str, path: str, selector: str | None) -> dict:
    if name == "survey-embedded":  # a page of someone else's site that embeds the survey
        script = server["base"] + path
        page.set_content(f"<!doctype html><meta name=viewport content='width=device-width'>"
                         f"<h1>Our shop</h1><script src='{script}'></script>")  # fmt: skip
        page.wait_for_selector("iframe")
        page.frame_locator("iframe").locator("form").wait_for()
    else:
        if name == "login":
            page.context.clear_cookies()
        elif name == "audit":  # the admin's session ends with the page: the next logs in anew
            page.context.clear_cookies()
            _login(page, server, "admin")
        else:
            _login(page, server)
        if name == "drivers-detail":  # the first driver's detail, as a click opens it
            page.goto(f"{server['base']}/drivers")
            path = page.locator("a[href*='driver=']").first.get_attribute("href")
        page.goto(_url(server, path))
        page.wait_for_selector("h1", state="attached")  # the page itself, not a step before it
        if name == "customer":
            page.wait_for_selector(".timeline")
        for chart in page.locator(".js-plotly-plot").all():  # drawn, at this width
            if chart.is_visible():  # (a chart laid out for other widths is hidden)
                chart.locator("svg.main-svg").first.wait_for()
    measured = page.evaluate(MEASURE, selector)
    if name == "audit":
        page.context.clear_cookies()
    return measured


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["390", "1280"])
@pytest.mark.parametrize(("name", "path", "selector"), PAGES, ids=[p[0] for p in PAGES])
def test_page_fits_the_width(server, page, size, name, path, selector):
    page.set_viewport_size(size)
    m = _open(page, server, name, path, selector)
    if SHOTS and size is PHONE:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"phone-{name}.png"))
    vw = m["vw"]
    assert vw <= size["width"]
    assert m["scroll"] <= vw, f"{name} is {m['scroll']} px wide at {vw}: {m['wide']}"
    assert m["h1"], f"{name} has no h1"
    left, right, width = m["h1"][0]
    assert left >= 0 and right <= vw and width > 0, f"{name}: h1 at {m['h1'][0]}"
    if selector is not None:
        assert m["key"] is not None, f"{name}: nothing matches {selector}"
        left, right, width = m["key"]
        assert left >= 0 and right <= vw + 0.5 and width > 0, f"{name}: {selector} at {m['key']}"
    for cls, (left, right, _) in m["tables"]:
        assert left >= 0 and right <= vw + 0.5, f"{name}: table.{cls} (or its box) ends at {right}"
    for chart_id, (_, right, width), (_, _, box_width), scroll in m["charts"]:
        if scroll is None:  # drawn to its box's width (Plotly's responsive config)
            assert width <= box_width + 0.5 and right <= vw + 0.5, f"{name}: #{chart_id} {width} px"
        else:  # kept readable, in a box of its own that scrolls
            assert scroll[0] >= 0 and scroll[1] <= vw + 0.5, f"{name}: #{chart_id}'s box {scroll}"
    for tabindex, role, label in m["regions"]:
        assert (tabindex, role) == (0, "region") and label.strip(), f"{name}: .scroll {label!r}"
    if name != "survey-embedded":
        for region in page.locator(".scroll").all():  # reachable by keyboard: focusable
            if not region.is_visible():  # inside a closed <details>
                continue
            region.focus()
            assert region.evaluate("e => document.activeElement === e")
