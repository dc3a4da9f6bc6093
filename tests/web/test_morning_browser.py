"""The morning view in a real headless Chromium against a real ``cxray serve``.

The date presets are plain links: they work with JavaScript off. The overview and Trends
fit a phone (390 px: no sideways scroll of the page; the Trends table scrolls in its box)
and a desktop. ``python3 -m tests.web.test_morning_browser OUT FOLDER`` takes the
screenshots in ``docs/screenshots/`` (``overview.png`` and ``trends.png`` at 1280 px,
``overview-390.png`` and ``trends-390.png`` at 390 px) of the store in FOLDER.
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


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("morning-browser")
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.load_demo(seed=7, customers=600, months=4)
    viewer = create_key(db, "viewer")
    with served(db, folder / "cxray.toml") as base:
        yield {"base": base, "viewer": viewer}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as b:
        yield b


def _page(browser, server, width: int, *, script: bool = True):
    return log_in(
        browser,
        server["base"],
        server["viewer"],
        start="/login",
        width=width,
        height=900,
        timeout_ms=120_000,  # a first overview on a busy machine
        java_script_enabled=script,
    )


def _no_sideways_scroll(page) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= page.viewport_size["width"], f"{page.url} is {wide} px wide"


def test_presets_work_without_javascript(browser, server):
    page = _page(browser, server, 1280, script=False)
    page.click("nav.presets a:text-is('Last 30 days')")
    page.wait_for_url(re.compile(r"preset=30d"))
    assert page.locator("nav.presets a[aria-current]").inner_text() == "Last 30 days"
    heading = page.locator("#changed-title").inner_text()
    assert "against the 30 days before" in heading
    # the dates the preset chose fill the custom range's fields
    start = page.locator("input[name=from]").input_value()
    end = page.locator("input[name=to]").input_value()
    assert start and end and f"from={start}" in page.url and f"to={end}" in page.url
    page.click("nav.presets a:text-is('All dates')")
    page.wait_for_url(f"{server['base']}/")
    assert page.locator("nav.presets a[aria-current]").inner_text() == "All dates"
    page.context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_overview_and_trends_fit_the_screen(browser, server, width):
    page = _page(browser, server, width)
    pages = (("overview", "/?preset=30d"), ("trends", "/trends?metric=nps&preset=90d&period=week"))
    for name, path in pages:
        page.goto(server["base"] + path)
        _no_sideways_scroll(page)
        if name == "overview":
            tile = page.locator("li.tile[data-metric=nps]")
            assert tile.locator(".delta .change").count() == 1
            assert "data through" in tile.locator(".through").inner_text()
            assert "target 50.0" in tile.locator(".target").inner_text()
            assert page.locator("#changed-title").is_visible()
        else:
            page.wait_for_selector("#trend-chart .main-svg")
            assert page.locator(".scroll table.trend-table").count() == 1
            legend = page.locator("#trend-chart .legendtext").all_text_contents()
            assert "target 50" in legend and "action threshold 0" in legend
    page.context.close()


def main(argv: list[str] | None = None) -> None:
    """``python3 -m tests.web.test_morning_browser OUT FOLDER``: the overview (last 30 days)
    and Trends (NPS by month) of the store in FOLDER (``cxray.duckdb`` or ``demo.duckdb``,
    ``cxray.toml``; e.g. ``cxray demo --loop``) at 1280 and 390 px, into OUT."""
    import sys

    out, folder = (Path(a) for a in (argv or sys.argv[1:])[:2])
    db = next(p for p in (folder / "cxray.duckdb", folder / "demo.duckdb") if p.exists())
    key = create_key(db, "viewer")
    pages = (("overview", "/?preset=30d"), ("trends", "/trends?metric=nps&period=month"))
    with served(db, folder / "cxray.toml") as base, chromium() as b:
        server = {"base": base, "viewer": key}
        for width in (1280, 390):
            page = _page(b, server, width)
            for name, path in pages:
                page.goto(base + path)
                _no_sideways_scroll(page)
                suffix = "" if width == 1280 else f"-{width}"
                page.screenshot(path=str(out / f"{name}{suffix}.png"))
            page.context.close()


if __name__ == "__main__":
    main()
