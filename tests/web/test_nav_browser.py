"""The dashboard's navigation in a real Chromium: one line at laptop width, every page in it.

The pages sit in four menus by purpose (``<details>`` in ``nav.pages``). At 1280 px the
header is one line (brand, the menus, the user and log-out side by side); every dashboard
page a person opens from the top (each GET route without a path parameter, found in the page
modules themselves, so a new page cannot be left out) is a link in a menu, shown and not
covered once its menu is open, and following it, with JavaScript off, opens that page with
its link and its menu marked current. The keyboard alone opens a menu and follows a link.
At 390 px nothing scrolls sideways, with every menu closed or open, and an open menu's
panel lies within the screen.

Needs Debian's ``chromium``, as ``test_browser.py`` does. ``python3 -m
tests.web.test_nav_browser OUT FOLDER`` takes ``docs/screenshots/nav.png`` and ``nav-390.png``
(the Explain menu open on the Inbox) of the store in FOLDER (e.g. ``cxray demo --loop``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cxray.workspace import Workspace
from tests._browser import chromium, log_in, needs_chromium
from tests._serve import create_key, served

pytestmark = needs_chromium()
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
#: GET routes that are not pages of the nav: the login form and the files pages load
NOT_IN_NAV = {"/login", "/static/plotly.min.js", "/static/cxray.css"}


def page_routes() -> set[str]:
    """Every GET route of the dashboard's page modules without a path parameter."""
    import cxray.web

    routed = set()
    for module in Path(cxray.web.__file__).parent.glob("*.py"):
        routed.update(re.findall(r'@router\.get\(\s*"([^"{]+)"', module.read_text()))
    return routed - NOT_IN_NAV


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("nav")
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.load_demo(seed=5, customers=300, months=3)
    viewer, admin = create_key(db, "viewer"), create_key(db, "admin")
    with served(db, folder / "cxray.toml") as base:
        yield {"base": base, "viewer": viewer, "admin": admin}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as b:
        yield b


def _page(browser, server, role: str, size: dict, *, javascript: bool = True):
    """A page of its own context logged in as ``role`` at ``size``, at the overview."""
    return log_in(browser, server["base"], server[role], **size, timeout_ms=60_000,
                  java_script_enabled=javascript)  # fmt: skip


def _menus(pg) -> dict[str, list[tuple[str, str]]]:
    """``{menu: [(link text, path), ...]}`` as the nav holds them (open or not)."""
    menus = pg.eval_on_selector_all(
        "nav.pages details",
        """ds => Object.fromEntries(ds.map(d => [d.querySelector('summary').textContent.trim(),
             [...d.querySelectorAll('a')].map(a => [a.textContent.trim(),
                                                    new URL(a.href).pathname])]))""",
    )
    return {menu: [tuple(link) for link in links] for menu, links in menus.items()}


#: the boxes of the header's parts and whether each sits on the brand's line
ROW = """() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom]; };
  const brand = box(document.querySelector('header .brand'));
  return {
    header: document.querySelector('header').getBoundingClientRect().height,
    brand,
    parts: [...document.querySelectorAll('header > *')].map(e => [e.tagName, ...box(e)]),
    menus: [...document.querySelectorAll('nav.pages > ul > li')].map(box),
  };
}"""

#: where a shown link is: its box, the viewport's width, and whether it is on top at its centre
SHOWN = """(a) => {
  const r = a.getBoundingClientRect();
  const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
          vw: document.documentElement.clientWidth, vh: document.documentElement.clientHeight,
          onTop: top === a || a.contains(top),
          scroll: document.documentElement.scrollWidth};
}"""


def test_the_nav_holds_every_page_and_the_admins_audit(browser, server):
    pg = _page(browser, server, "admin", LAPTOP)
    menus = _menus(pg)
    assert list(menus) == ["Measure", "Explain", "Act", "Program"]
    paths = [path for links in menus.values() for _, path in links]
    assert len(paths) == len(set(paths))  # each page once
    assert set(paths) == page_routes()
    assert ("Audit", "/audit") in menus["Program"]
    pg.context.close()
    viewer = _menus(_page(browser, server, "viewer", LAPTOP))
    shown = {path for links in viewer.values() for _, path in links}
    assert shown == page_routes() - {"/audit"}  # the audit log is the admin's


def test_one_line_at_laptop_width_and_every_link_followed_without_script(browser, server):
    pg = _page(browser, server, "admin", LAPTOP, javascript=False)
    row = pg.evaluate(ROW)
    top, bottom = row["brand"]
    for tag, t, b in row["parts"]:  # the brand, the menus, the log-out form: one line
        assert t < bottom and b > top, f"<{tag}> at {t}..{b} is not on the brand's line"
    assert len({round(t) for t, _ in row["menus"]}) == 1
    assert row["header"] < 2 * (bottom - top) + 24  # one line high (its padding: 20 px)
    followed = 0
    for menu, links in _menus(pg).items():
        for label, path in links:
            details = pg.locator("nav.pages details", has=pg.locator(f"summary:text-is('{menu}')"))
            if details.get_attribute("open") is None:  # (closed by following the last link)
                details.locator("summary").click()
            assert details.get_attribute("open") is not None
            assert pg.locator("nav.pages details[open]").count() == 1  # one menu open at a time
            link = details.locator(f'a:text-is("{label}")')
            at = link.evaluate(SHOWN)
            assert at["onTop"], f"{label} is covered in {menu}"
            assert at["left"] >= 0 and at["right"] <= at["vw"] and at["bottom"] <= at["vh"]
            if label == "Overview" and pg.url.endswith("/"):  # already here: shown is enough
                continue
            with pg.expect_navigation() as went:
                link.click()
            assert went.value.status == 200, f"{path}: {went.value.status}"  # drawn, no error
            pg.wait_for_url(re.compile(re.escape(server["base"] + path) + r"(\?.*)?$"))
            assert pg.locator("nav.pages a[aria-current=page]").text_content() == label
            current = pg.locator("nav.pages summary[aria-current]")
            assert current.count() == 1 and current.text_content() == menu
            followed += 1
    assert followed == len(page_routes()) - 1  # every page but the one it started on
    pg.context.close()


def test_the_keyboard_opens_a_menu_and_follows_a_link(browser, server):
    pg = _page(browser, server, "viewer", LAPTOP)
    pg.keyboard.press("Tab")  # the skip link
    pg.keyboard.press("Tab")  # the brand
    pg.keyboard.press("Tab")  # the first menu
    assert pg.evaluate("document.activeElement.textContent.trim()") == "Measure"
    pg.keyboard.press("Tab")  # a closed menu's links are skipped: the next menu
    assert pg.evaluate("document.activeElement.textContent.trim()") == "Explain"
    pg.keyboard.press("Enter")
    assert pg.locator("nav.pages details[open] summary").text_content() == "Explain"
    pg.keyboard.press("Tab")
    assert pg.evaluate("document.activeElement.textContent.trim()") == "Drivers"
    pg.keyboard.press("Tab")
    pg.keyboard.press("Enter")  # the second link: Text
    pg.wait_for_url(re.compile(r".*/text(\?.*)?$"))
    assert pg.locator("nav.pages summary[aria-current]").text_content() == "Explain"
    pg.context.close()


@pytest.mark.parametrize("path", ["/", "/inbox", "/audit"])
def test_nothing_scrolls_sideways_at_phone_width(browser, server, path):
    pg = _page(browser, server, "admin", PHONE)
    pg.goto(server["base"] + path)
    closed = pg.evaluate(ROW)
    assert closed["header"] < 100  # brand and log-out, then the menus: two short lines
    assert pg.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for menu in _menus(pg):
        pg.click(f"nav.pages summary:text-is('{menu}')")
        panel = pg.locator("nav.pages details[open] > ul")
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, menu
        for link in panel.locator("a").all():
            at = link.evaluate(SHOWN)
            assert at["onTop"] and at["scroll"] <= at["vw"] == PHONE["width"], (menu, at)
            assert at["left"] >= 0 and at["right"] <= at["vw"], (menu, at)
    pg.context.close()


def main(argv: list[str] | None = None) -> None:
    """``python3 -m tests.web.test_nav_browser OUT FOLDER``: the Inbox with the Explain menu
    open at 1280 and 390 px (``nav.png``, ``nav-390.png`` in OUT) of the store in FOLDER
    (``cxray.duckdb`` or ``demo.duckdb``, ``cxray.toml``), logged in as a viewer."""
    import sys

    out, folder = (Path(a) for a in (argv or sys.argv[1:])[:2])
    db = next(p for p in (folder / "cxray.duckdb", folder / "demo.duckdb") if p.exists())
    key = create_key(db, "viewer")
    with served(db, folder / "cxray.toml") as base, chromium() as b:
        for size, name in ((dict(LAPTOP, height=500), "nav.png"), (PHONE, "nav-390.png")):
            pg = log_in(b, base, key, start="/inbox", **size, timeout_ms=120_000)
            pg.click("nav.pages summary:text-is('Explain')")
            assert pg.evaluate("document.documentElement.scrollWidth") <= size["width"]
            pg.screenshot(path=str(out / name))
            pg.context.close()


if __name__ == "__main__":
    main()
