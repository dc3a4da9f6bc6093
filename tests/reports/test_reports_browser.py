"""The Reports page in a real headless Chromium against a real ``cxray serve``: an analyst
follows the nav, generates a digest now, finds it in the archive and opens it; the page fits
1280 px and 390 px without scrolling sideways. Needs Debian's ``chromium``.

``CXRAY_SCREENSHOTS=DIR`` saves ``reports-1280.png`` and ``reports-390.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from cxray.access import ApiKeys
from cxray.workspace import Workspace
from tests._browser import chromium, log_in, needs_chromium, shot
from tests._nav import follow_nav
from tests._serve import served

pytestmark = needs_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("reports-browser")
    db, config = folder / "cx.duckdb", folder / "cxray.toml"
    config.write_text('[reports.weekly]\nevery = "monday 08:00"\nperiod = "last-week"\n'
                      'format = "pdf"\nto = ["cx-lead@example.com"]\nenabled = false\n')  # fmt: skip
    with Workspace.open(db, config) as ws:
        key = ApiKeys(ws.store).create("analyst", name="cx lead")[1]
    with served(db, config) as base:
        yield {"base": base, "key": key}


def test_generate_find_and_open_a_digest_at_two_widths(server):
    base = server["base"]
    with chromium() as b:
        page = log_in(b, base, server["key"])
        follow_nav(page, "Reports")
        page.wait_for_url(re.compile(r".*/reports$"))
        assert page.title().startswith("Reports")
        assert page.inner_text("tr[data-schedule=weekly]").split("\t")[1] == "monday 08:00"
        page.fill("input[name=period]", "2026-Q3")
        page.select_option("select[name=format]", "html")
        page.click("form.generate button[type=submit]")
        page.wait_for_selector("#report-done")
        rid = re.search(r"RP-\w+", page.inner_text("#report-done")).group(0)
        row = page.locator(f"tr[data-report={rid}]")
        assert "2026-Q3" in row.inner_text() and "html" in row.inner_text()
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 800})
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"/reports scrolls sideways at {width} px ({wide})"
            shot(page, f"reports-{width}.png", full_page=True)
        row.locator("text=Open").click()
        page.wait_for_url(re.compile(rf".*/reports/{rid}$"))
        assert page.inner_text("h1") == "CX executive digest: 2026-Q3"
        assert page.locator("h2").count() == 7
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the digest scrolls sideways at 390 px ({wide})"
