"""The Inbox and Alerts pages in a real headless Chromium against a real ``cxray serve``.

An analyst logs in with JavaScript turned off (the forms are plain HTML posts), opens the
Inbox, opens a follow-up, contacts the customer with a note, resolves it with an outcome
and finds it among the closed ones; the API has the history with the analyst's key name.
A viewer sees the same follow-up without any action. Needs Debian's ``chromium``, as
``test_browser.py`` does.

``CXRAY_SCREENSHOTS=DIR`` saves ``inbox.png`` and ``alerts.png`` (1280×800) into DIR, on a
demo world of 1,500 customers over 6 months with the rules of ``tests/_loop.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests._browser import chromium, log_in, needs_chromium, shot
from tests._loop import ANALYST, build_loop_world
from tests._serve import served

pytestmark = needs_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("inbox-browser")
    db, config = folder / "loop.duckdb", folder / "cxray.toml"
    keys = build_loop_world(db, config, seed=11, customers=1500, months=6)
    with served(db, config) as base:
        yield {"base": base, **keys}


@pytest.fixture(scope="module")
def browser(server) -> Iterator:
    with chromium() as b:
        yield b


def _login(browser, server, role: str, *, javascript: bool = True, start: str = "/inbox"):
    # sent to the login page, then back where it was going
    return log_in(
        browser, server["base"], server[role], start=start, java_script_enabled=javascript
    )


def _api(server, path: str, role: str = "viewer") -> dict:
    headers = {"Authorization": f"Bearer {server[role]}"}
    r = httpx.get(f"{server['base']}/api{path}", headers=headers, timeout=60)
    r.raise_for_status()
    return r.json()


def _shot(page, name: str) -> None:
    shot(page, f"{name}.png")


@pytest.fixture(scope="module")
def analyst(browser, server):
    pg = _login(browser, server, "analyst", javascript=False)
    yield pg
    pg.context.close()


def test_work_a_followup_without_javascript(server, analyst):
    page = analyst
    assert page.locator("nav.tabs a[aria-current=page]").get_attribute("data-tab") == "mine"
    mine = _api(server, "/followups?mine=true&status=active&limit=1000", role="analyst")
    rows = page.locator("table.followups tbody tr")
    assert rows.count() == min(25, mine["total"]) > 0
    shown = rows.evaluate_all("rs => rs.map(r => r.dataset.followup)")
    assert shown == [r["followup_id"] for r in mine["rows"][: len(shown)]]

    # open the first one: what fired it, the customer and the history on the same page
    fid = shown[0]
    page.locator(f"tr[data-followup='{fid}'] a").first.click()
    page.wait_for_url(f"**/inbox?*id={fid}*")
    detail = page.locator("#detail")
    assert detail.get_attribute("data-status") == "open"
    assert detail.locator("#fired-title").is_visible()
    assert detail.locator("#customer-title").is_visible()
    assert detail.locator(".fu-history li").count() == 1

    # contact the customer, with a note
    page.fill("#contact-note", "Called: apologised, a voucher is on its way")
    page.click("form.act-contact button")
    page.wait_for_url(f"**id={fid}&done=contact")
    assert page.locator("p.done").inner_text() == "Recorded: the customer was contacted."
    assert detail.get_attribute("data-status") == "contacted"
    latest = page.locator(".fu-history li").first
    assert "ana" in latest.inner_text() and "voucher is on its way" in latest.inner_text()
    assert page.locator("form.act-contact").count() == 0

    # resolve it with an outcome
    page.fill("#close-outcome", "voucher accepted, stays")
    page.click("form.act-close button[value=true]")
    page.wait_for_url(f"**id={fid}&done=close")
    assert detail.get_attribute("data-status") == "resolved"
    assert "voucher accepted, stays" in page.locator(".outcome").inner_text()
    assert page.locator("form.act-close").count() == 0  # nothing left to close

    # it is among the closed ones
    page.click("nav.tabs a[data-tab=closed]")
    page.wait_for_url("**/inbox?tab=closed*")
    closed = page.locator("table.followups tbody tr").evaluate_all(
        "rs => rs.map(r => r.dataset.followup)"
    )
    assert fid in closed

    body = _api(server, f"/followups/{fid}")
    assert body["status"] == "resolved" and body["outcome"] == "voucher accepted, stays"
    assert [(e["actor"], e["action"]) for e in body["history"]] == [
        ("cxray", "opened"), (ANALYST, "contacted"), (ANALYST, "resolved")]  # fmt: skip


def test_the_inbox_screenshot(server, analyst):
    """A follow-up being worked: a note and a contact in its history, the actions left."""
    page = analyst
    page.goto(f"{server['base']}/inbox")
    rows = page.locator("table.followups tbody tr")
    fid = rows.nth(1).get_attribute("data-followup")
    rows.nth(1).locator("a").first.click()
    page.wait_for_url(f"**id={fid}*")
    page.fill("#note-text", "Left a voicemail; will try again after 5 pm")
    page.click("form.act-note button")
    page.wait_for_url("**done=note")
    page.fill("#contact-note", "Reached her: the parcel came two days late, refund agreed")
    page.click("form.act-contact button")
    page.wait_for_url("**done=contact")
    page.goto(f"{server['base']}/inbox?tab=mine&id={fid}")
    assert page.locator(".fu-history li").count() == 3
    _shot(page, "inbox")


def test_alerts_show_what_fired_and_where_it_went(server, analyst):
    page = analyst
    page.goto(f"{server['base']}/alerts")
    api = _api(server, "/alerts?limit=50")["alerts"]
    shown = page.locator("table.alerts tbody tr").evaluate_all("rs => rs.map(r => r.dataset.alert)")
    assert shown == [a["alert_id"] for a in api]
    spike = page.locator("tr[data-rule=product-spike]")
    assert "webhook:http://127.0.0.1:9/cxray-hook" in spike.inner_text()
    fid = re.search(r"FU-\w+", spike.locator("a[href^='/inbox']").inner_text()).group(0)
    _shot(page, "alerts")
    spike.locator("a[href^='/inbox']").click()
    page.wait_for_url(f"**/inbox?id={fid}")
    assert page.locator("#detail").get_attribute("data-followup") == fid


def test_the_overview_opens_with_open_alerts(server, analyst):
    page = analyst
    page.goto(f"{server['base']}/")
    box = page.locator("section.loop-box")
    assert box.is_visible()
    open_ = _api(server, "/followups?status=active&limit=0")["total"]
    assert int(box.locator("[data-count=open]").inner_text().replace(",", "")) == open_
    box.locator("a.loop-overdue").click()
    page.wait_for_url("**/inbox?tab=overdue")
    assert page.locator("table.followups tr.overdue").count() > 0


def test_a_viewer_sees_no_actions(browser, server):
    page = _login(browser, server, "viewer")
    fid = page.locator("table.followups tbody tr").first.get_attribute("data-followup")
    page.goto(f"{server['base']}/inbox?id={fid}")
    assert page.locator("#detail").is_visible()
    assert page.locator("form.act").count() == 0
    assert page.locator("#detail button").count() == 0
    # posting anyway is refused, from the page's own origin too
    r = page.request.post(
        f"{server['base']}/inbox/{fid}/contact",
        form={"note": "x"},
        headers={"Origin": server["base"]},
        max_redirects=0,
    )
    assert r.status == 403
    assert _api(server, f"/followups/{fid}")["status"] in ("open", "contacted")
    page.context.close()
