"""The Maturity page in a real headless Chromium against a real ``cxray serve``: an analyst
follows the nav, sees the radar drawn, answers the questionnaire and finds the result kept;
at phone width nothing overflows sideways. Needs Debian's ``chromium``.

``CXRAY_SCREENSHOTS=DIR`` saves ``maturity.png`` (1280 px) and ``maturity_phone.png`` (390 px).
"""

from __future__ import annotations

import re

from cxray.access import ApiKeys
from cxray.workspace import Workspace
from tests._browser import chromium, log_in, needs_chromium, shot
from tests._nav import follow_nav
from tests._serve import served

pytestmark = needs_chromium()


def test_radar_questionnaire_and_phone_width(world):
    db, config = world
    with Workspace.open(db, config) as ws:
        key = ApiKeys(ws.store).create("analyst", name="cx lead")[1]
    with served(db, config) as base, chromium() as b:
        page = log_in(b, base, key)
        follow_nav(page, "Maturity")
        page.wait_for_url(re.compile(r".*/maturity$"))
        page.wait_for_selector("#maturity-radar.js-plotly-plot svg.main-svg", timeout=30_000)
        assert page.locator("#maturity-radar .polarlayer .trace").count() >= 1
        assert "no assessment kept yet" in page.inner_text("#result-title")
        page.select_option("select[name='closed_loop.followup']", "3")
        page.select_option("select[name='closed_loop.alerts']", "3")
        page.click("#questionnaire button[type=submit]")
        page.wait_for_url(re.compile(r".*/maturity\?done=1"))
        assert page.inner_text("#result-title") == "Latest assessment"
        assert page.locator("table.history tbody tr").count() == 1
        assert "cx lead" in page.inner_text("table.history")
        # the answers are drawn: the stated trace joins the evidence and the result
        page.wait_for_selector("#maturity-radar.js-plotly-plot svg.main-svg", timeout=30_000)
        assert page.locator("#maturity-radar .polarlayer .trace").count() == 3
        shot(page, "maturity.png")
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.wait_for_selector("#maturity-radar.js-plotly-plot svg.main-svg", timeout=30_000)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "maturity_phone.png")
