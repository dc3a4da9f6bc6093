"""A survey filled in a real headless Chromium, then found in the dashboard and the scorecard.

A real ``cxray serve`` on loopback, over a small demo world, with a survey in
``cxray.toml`` (NPS, a follow-up for detractors, a multiple-choice question;
English and German). The browser answers with the keyboard, sees the follow-up
step and the thank-you page; a viewer then finds the response in the rows
behind the NPS tile and in the scorecard. Also: an invalid answer gets the
error summary, and the survey works with JavaScript disabled. Needs Debian's
``chromium``: without it the module is skipped, except under CI.

``CXRAY_SCREENSHOTS=DIR`` saves ``survey.png`` and ``survey-followup.png``
(a 390×844 phone) into DIR (those in ``docs/screenshots/`` were made so).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cxray.workspace import Workspace
from tests._browser import chromium, log_in, needs_chromium, shot
from tests._serve import create_key, free_port, served

pytestmark = needs_chromium()
PHONE = {"width": 390, "height": 844}

SURVEY = """\
[surveys]
base_url = "{base}"

[surveys.visit]
title = {{ en = "How was your visit?", de = "Wie war Ihr Besuch?" }}
intro = {{ en = "Two quick questions about your last visit to Hearthwell.", de = "Zwei kurze Fragen zu Ihrem letzten Besuch bei Hearthwell." }}
languages = ["en", "de"]
thank_you = {{ en = "Thank you for helping us improve!", de = "Danke, dass Sie uns helfen!" }}

[[surveys.visit.questions]]
id = "nps"
type = "nps"
text = {{ en = "How likely are you to recommend Hearthwell to a friend?", de = "Wie wahrscheinlich ist es, dass Sie Hearthwell einem Freund empfehlen?" }}
required = true

[[surveys.visit.questions]]
id = "topics"
type = "multiple"
text = {{ en = "What was your visit about?", de = "Worum ging es bei Ihrem Besuch?" }}
choices = {{ delivery = {{ en = "Delivery", de = "Lieferung" }}, price = {{ en = "Price", de = "Preis" }}, staff = {{ en = "Our staff", de = "Unser Personal" }} }}

[[surveys.visit.questions]]
id = "improve"
type = "text"
text = {{ en = "What could we do better?", de = "Was könnten wir besser machen?" }}
show_if = {{ question = "nps", max = 6 }}
"""
COMMENT = "The parcel came a week late and nobody called back."


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("survey_browser")
    db, cfg = folder / "demo.duckdb", folder / "cxray.toml"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cfg.write_text(SURVEY.format(base=base), encoding="utf-8")
    with Workspace.open(db, cfg) as ws:
        ws.load_demo(seed=5, customers=600, months=4)
    viewer = create_key(db, "viewer")
    with served(db, cfg, port=port):
        yield {"base": base, "viewer": viewer}


@pytest.fixture(scope="module")
def browser(server) -> Iterator:
    with chromium() as b:
        yield b


def _api(server, path: str, **params):
    headers = {"Authorization": f"Bearer {server['viewer']}"}
    r = httpx.get(f"{server['base']}/api{path}", params=params, headers=headers, timeout=60)
    r.raise_for_status()
    return r.json()


def _nps(server) -> dict:
    (record,) = _api(server, "/scorecard", metric="nps")
    return record


def _stored(server) -> list[dict]:
    return _api(server, "/tables/responses/rows", filter="survey:visit", limit=100)["rows"]


def _shot(page, name: str, **kw) -> None:
    shot(page, f"{name}.png", **kw)


def _tab_to(page, name: str, limit: int = 12) -> None:
    """Press Tab until the focused element is a field named ``name``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.name") == name:
            return
    raise AssertionError(f"Tab never reached {name}")


def test_fill_with_the_keyboard_then_find_it_in_the_dashboard(server, browser):
    before = _nps(server)
    assert not before["suppressed"] and before["n"] > 30

    # desktop: the first page, as the docs show it
    desk = browser.new_context(viewport={"width": 900, "height": 600})
    page = desk.new_page()
    page.goto(f"{server['base']}/s/visit")
    assert page.title() == "How was your visit?"
    _shot(page, "survey", full_page=True)
    desk.close()

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")
    page = phone.new_page()
    page.goto(f"{server['base']}/s/visit")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.inner_text("p.step") == "Step 1 of 2"
    assert page.locator("text=What could we do better?").count() == 0  # not yet asked
    # the NPS scale with the keyboard: Tab into the radio group, arrows choose
    _tab_to(page, "q_nps")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.is_checked("#q_nps_3")
    assert page.locator("input[name=q_nps]:checked").count() == 1
    # the checkboxes: Tab to each, Space ticks it
    _tab_to(page, "q_topics")
    page.keyboard.press("Space")  # delivery
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # staff
    assert [page.is_checked(f"#q_topics_{i}") for i in (1, 2, 3)] == [True, False, True]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")

    # a detractor gets the follow-up step
    page.wait_for_url("**/s/visit?*step=1*")
    assert page.inner_text("p.step") == "Step 2 of 2"
    assert page.inner_text("legend").startswith("What could we do better?")
    stored = _stored(server)  # the first step is kept at once, as a partial response
    assert [(r["nps"], r["completed"]) for r in stored] == [(3, False)]
    page.fill("textarea[name=q_improve]", COMMENT)
    _shot(page, "survey-followup", full_page=True)
    page.click("button[type=submit]")
    page.wait_for_url("**/s/visit/thanks*")
    assert page.inner_text("p[role=status]") == "Thank you for helping us improve!"
    phone.close()

    (row,) = _stored(server)
    assert {k: row[k] for k in ("nps", "comment", "topics", "completed", "language", "channel",
                                "survey", "csat", "customer_id")} == {
        "nps": 3, "comment": COMMENT, "topics": "delivery; staff", "completed": True,
        "language": "en", "channel": "link", "survey": "visit", "csat": None,
        "customer_id": None,
    }  # fmt: skip

    # the scorecard counts it: one more response, and a detractor's pull on the estimate
    after = _nps(server)
    assert after["n"] == before["n"] + 1
    net = before["estimate"] * before["n"]  # promoters minus detractors, in the estimate's units
    unit = 100 if abs(before["estimate"]) > 1 else 1
    assert after["estimate"] == pytest.approx((net - unit) / (before["n"] + 1), rel=1e-9)

    # the dashboard: the overview tile shows the same figure and n, its rows hold the response
    page = log_in(browser, server["base"], server["viewer"], start="/login")
    tile = page.locator(".tile[data-metric=nps]")
    shown = float(tile.locator("[data-value]").get_attribute("data-value"))
    assert shown == pytest.approx(after["estimate"], rel=1e-9)
    assert f"n={after['n']:,}" in tile.locator(".ci").inner_text()
    tile.locator("[data-value]").click()
    page.wait_for_url("**/rows/responses?*")
    total = int(page.inner_text("strong.total").replace(",", ""))
    assert total == after["n"]  # the rows behind the number: every response it counts
    page.goto(page.url + "&filter=survey:visit&sort=-submitted_at")
    headers = page.eval_on_selector_all("table.rows thead th", "els => els.map(e => e.innerText)")
    cells = page.eval_on_selector_all(
        "table.rows tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
    )
    assert len(cells) == 1
    shown_row = dict(zip([h.strip(" ▲▼") for h in headers], cells[0], strict=True))
    assert (shown_row["nps"], shown_row["comment"], shown_row["survey"]) == ("3", COMMENT, "visit")
    assert shown_row["topics"] == "delivery; staff"
    page.context.close()


def test_an_invalid_answer_shows_the_error_summary(server, browser):
    ctx = browser.new_context(viewport={"width": 1000, "height": 900})
    page = ctx.new_page()
    page.goto(f"{server['base']}/s/visit")
    page.click("button[type=submit]")  # the required NPS question unanswered
    summary = page.locator(".summary[role=alert]")
    assert summary.inner_text().startswith("Please check the answers marked below.")
    link = summary.locator("a[href='#q_nps']")
    assert "Please answer this question." in link.inner_text()
    assert page.inner_text("#err_nps") == "Please answer this question."
    assert page.get_attribute("#q_nps", "aria-describedby") == "err_nps"
    assert page.title().startswith("Please check the answers marked below.")
    # a value no radio offers (a tampered form) is refused as well, with the scale's range
    page.eval_on_selector("#q_nps_10", "e => { e.value = '11'; e.checked = true; }")
    page.click("button[type=submit]")
    assert page.inner_text("#err_nps") == "Choose a value from 0 to 10."
    assert page.locator(".summary a[href='#q_nps']").count() == 1
    link.click()  # the summary's link leads to the question
    assert page.url.endswith("#q_nps")
    ctx.close()
    assert all(r["nps"] != 11 for r in _stored(server))


def test_the_survey_works_without_javascript_in_german(server, browser):
    before = len(_stored(server))
    ctx = browser.new_context(java_script_enabled=False, viewport=PHONE, locale="de-DE")
    page = ctx.new_page()
    page.goto(f"{server['base']}/s/visit")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.inner_text("h1") == "Wie war Ihr Besuch?"
    assert page.inner_text("button[type=submit]") == "Weiter"  # a follow-up may come
    page.click("label[for=q_nps_9]")
    page.click("text=Preis")
    page.click("button[type=submit]")
    page.wait_for_url("**/s/visit/thanks*")  # a promoter is not asked the follow-up
    assert page.inner_text("p[role=status]") == "Danke, dass Sie uns helfen!"
    ctx.close()
    rows = _stored(server)
    assert len(rows) == before + 1
    new = next(r for r in rows if r["language"] == "de")
    assert (new["nps"], new["topics"], new["comment"], new["completed"]) == (9, "price", None, True)


def test_every_response_counts_at_once(server):
    """Not only the first response of a server's life: each one changes the scorecard."""
    for score in (10, 0):
        before = _nps(server)["n"]
        r = httpx.post(
            f"{server['base']}/api/surveys/visit/responses",
            json={"answers": {"nps": score}},
            timeout=30,
        )
        assert r.status_code == 201, r.text
        assert _nps(server)["n"] == before + 1


def test_a_step_without_its_first_answers_gets_a_page(server):
    r = httpx.post(
        f"{server['base']}/s/visit",
        data={"step": "1", "sid": "a-fresh-session", "lang": "en"},
        timeout=30,
    )
    assert r.status_code in (200, 303, 422)
    assert r.headers["content-type"].startswith("text/html"), r.text
