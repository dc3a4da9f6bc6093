"""The Churn & value page in a real headless Chromium against a real ``cxray serve``.

A viewer logs in, follows the nav to *Churn & value*, sees the survival curves and the
revenue-at-risk chart drawn (Plotly's SVG), the ROI headline, the notices that name the
commands still to run, asks the what-if for 25 % of detractors and gets the API's figure.
Needs Debian's ``chromium``, as ``test_browser.py`` does.

``CXRAY_SCREENSHOTS=DIR`` saves ``churn_value.png`` (1280×800, the top of the page).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cxray.access import ApiKeys
from cxray.workspace import Workspace
from tests._browser import chromium, log_in, needs_chromium, shot
from tests._nav import follow_nav
from tests._serve import served

pytestmark = needs_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("churn-browser")
    db, config = folder / "cx.duckdb", folder / "cxray.toml"
    with Workspace.open(db, config) as ws:
        ws.load_demo(seed=4, customers=1500, months=8)
        key = ApiKeys(ws.store).create("viewer", name="cx lead")[1]
    with served(db, config) as base:
        yield {"base": base, "key": key}


@pytest.fixture(scope="module")
def page(server) -> Iterator:
    with chromium() as b:
        yield log_in(b, server["base"], server["key"])


def _api(server, path: str) -> dict:
    r = httpx.get(f"{server['base']}/api{path}",
                  headers={"Authorization": f"Bearer {server['key']}"}, timeout=120)  # fmt: skip
    r.raise_for_status()
    return r.json()


def test_nav_charts_notices_and_the_what_if(page, server):
    follow_nav(page, "Churn & value")
    page.wait_for_url(re.compile(r".*/churn$"))
    assert page.title().startswith("Churn & value")
    # Plotly draws the curves and the bars as SVG in the browser
    page.wait_for_selector("#survival-chart.js-plotly-plot svg.main-svg", timeout=30_000)
    page.wait_for_selector("#at-risk-chart.js-plotly-plot svg.main-svg", timeout=30_000)
    assert page.locator("#survival-chart .scatterlayer .trace").count() >= 9  # 3+ groups x 3
    assert page.locator("#at-risk-chart .bars .point").count() >= 3
    assert "cxray churn model" in page.inner_text("#risk-notice")
    assert "cxray clv fit" in page.inner_text("#clv-notice")
    roi = _api(server, "/clv/roi")
    shown = float(page.get_attribute(".headline", "data-value"))
    assert shown == pytest.approx(roi["estimate"], rel=1e-9)
    shot(page, "churn_value.png")
    # the what-if form: 25 % of detractors to passives
    page.fill("input[name=share]", "0.25")
    page.select_option("select[name=source]", "detractor")
    page.select_option("select[name=target]", "passive")
    page.click("#roi button[type=submit]")
    page.wait_for_url(re.compile(r".*share=0\.25.*"))
    want = _api(server, "/clv/what-if?share=0.25&source=detractor&target=passive")
    assert float(page.get_attribute(".headline", "data-value")) == pytest.approx(
        want["estimate"], rel=1e-9
    )
    assert "Moving 25% of detractors" in page.inner_text(".roi")
    # the reasons and the log-rank table are plain HTML tables
    assert page.locator("table.reasons tbody tr").count() >= 3
    assert "overall" in page.inner_text("table.logrank")


def screenshot(folder: Path, out: Path) -> None:
    """``churn_value.png`` (1280×1400, the top of the page) of the store in ``folder``
    (``cxray.duckdb`` and ``cxray.toml``: the default demo world, ideally after ``cxray churn
    model`` and ``cxray clv fit`` so every section is filled)."""
    with Workspace.open(folder / "cxray.duckdb", folder / "cxray.toml") as ws:
        key = ApiKeys(ws.store).create("viewer", name="screenshot")[1]
    with served(folder / "cxray.duckdb", folder / "cxray.toml") as base, chromium() as b:
        pg = log_in(b, base, key, height=1400)
        pg.goto(f"{base}/churn", timeout=600_000)
        pg.wait_for_selector("#survival-chart.js-plotly-plot svg.main-svg")
        out.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(out / "churn_value.png"))
        pg.screenshot(path=str(out / "churn_value_full.png"), full_page=True)


if __name__ == "__main__":  # python3 -m tests.web.test_churn_value_browser OUT --folder F
    import argparse

    parser = argparse.ArgumentParser(description=screenshot.__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--folder", type=Path, required=True)
    args = parser.parse_args()
    screenshot(args.folder, args.out)
