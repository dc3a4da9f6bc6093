"""Saved views in a real headless Chromium against a real ``cxray serve``.

An analyst opens the overview of a region, picks the last 30 days, saves it as a shared
view from the form under the filters, reads its link on ``/views``; a viewer opens that
link in another browser and sees the same tiles as the analyst did, with the banner.
Needs Debian's ``chromium``, as ``test_browser.py`` does.

``CXRAY_SCREENSHOTS=DIR`` saves ``views.png`` and ``views-390.png`` (1280 and 390 px).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from cxray.access import ApiKeys
from cxray.workspace import Workspace
from tests._browser import SHOTS, chromium, log_in, needs_chromium, shot
from tests._serve import served

pytestmark = needs_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("views-browser")
    db, config = folder / "cx.duckdb", folder / "cxray.toml"
    with Workspace.open(db, config) as ws:
        ws.load_demo(seed=5, customers=300, months=2)
        keys = ApiKeys(ws.store)
        analyst = keys.create("analyst", name="cx lead")[1]
        viewer = keys.create("viewer", name="wallboard")[1]
    with served(db, config) as base:
        yield {"base": base, "analyst": analyst, "viewer": viewer}


def _login(browser, server, key: str, width: int = 1280):
    return log_in(browser, server["base"], key, start="/login", width=width, height=900)


def _tiles(page) -> dict[str, str]:
    out = {}
    for tile in page.locator("li.tile").all():
        value = tile.locator("[data-value]")
        out[tile.get_attribute("data-metric")] = (
            value.first.get_attribute("data-value") if value.count() else None
        )
    return out


def test_save_a_view_and_open_its_link_in_another_browser(server):
    base = server["base"]
    with chromium() as browser:
        lead = _login(browser, server, server["analyst"])
        lead.goto(f"{base}/?filter=region%3AWest")  # the overview of one region
        lead.click("nav.presets >> text=Last 30 days")  # the preset links keep the filter
        lead.wait_for_url(re.compile(r".*preset=30d.*"))
        seen = _tiles(lead)
        assert any(v is not None for v in seen.values())
        lead.click("details.save-view summary")
        lead.fill("details.save-view input[name=name]", "West this month")
        lead.select_option("details.save-view select[name=visibility]", "shared")
        lead.click("details.save-view button[type=submit]")
        lead.wait_for_url(f"{base}/views?saved=west-this-month")
        link = lead.input_value(".saved-note input.view-link")
        assert link == f"{base}/v/west-this-month"
        if SHOTS:
            shot(lead, "views.png", full_page=True)
            phone = _login(browser, server, server["analyst"], width=390)
            phone.goto(f"{base}/views?saved=west-this-month")
            shot(phone, "views-390.png", full_page=True)
        # a viewer, in a browser of their own, opens the link
        wall = _login(browser, server, server["viewer"])
        wall.goto(link)
        wall.wait_for_url(re.compile(r".*view=west-this-month.*"))
        assert "preset=30d" in wall.url and "region%3AWest" in wall.url
        assert wall.locator("[data-saved-view=west-this-month]").is_visible()
        assert _tiles(wall) == seen
        shot(wall, "views-opened.png")
