"""The Inbox and Alerts pages in-process: the library's follow-ups and alerts, worked through
plain HTML forms; viewers read only; posts from another site are refused; the overview
opens with the open alerts when the loop has any."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.workspace import Workspace
from tests._loop import ANALYST, VIEWER, build_loop_world


@dataclass
class Inbox:
    analyst: TestClient
    viewer: TestClient
    anonymous: TestClient
    keys: dict[str, str]
    db: Path

    @property
    def ws(self) -> Workspace:
        return self.analyst.app.state.cx.ws  # type: ignore[attr-defined]

    def lib(self, method: str, *args, **kw):
        with self.analyst.app.state.cx.lock:  # type: ignore[attr-defined]
            return getattr(self.ws.loop.followups, method)(*args, **kw)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Iterator[Inbox]:
    folder = tmp_path_factory.mktemp("inbox")
    db, config = folder / "loop.duckdb", folder / "cxray.toml"
    keys = build_loop_world(db, config, seed=11, customers=1500, months=6)
    app = create_app(db, config, settings=ApiSettings(run_loop=False))
    with TestClient(app, raise_server_exceptions=False) as analyst:
        viewer = TestClient(app, raise_server_exceptions=False)
        anonymous = TestClient(app, raise_server_exceptions=False)
        for client, role in ((analyst, "analyst"), (viewer, "viewer")):
            r = client.post("/login", data={"key": keys[role]}, follow_redirects=False)
            assert r.status_code == 303, r.text
        yield Inbox(analyst, viewer, anonymous, keys, db)


@pytest.fixture(scope="module")
def untouched(inbox) -> Iterator[str]:
    """Open follow-ups of the team cx, handed out one at a time."""
    return iter([r["followup_id"] for r in inbox.lib("list", status="open", team="cx",
                                                       limit=1000)["rows"]])  # fmt: skip


def listed(page: str) -> list[str]:
    """The follow-up ids of the list, in order."""
    table = page[page.index('class="data followups"') :]
    table = table[: table.index("</table>")]
    return re.findall(r'<tr data-followup="([^"]+)"', table)


def counts(page: str) -> dict[str, int]:
    return {k: int(v.replace(",", "")) for k, v in re.findall(
        r'data-count="(\w+)">([\d,]+)<', page)}  # fmt: skip


def text(page: str) -> str:
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


def post(client: TestClient, fid: str, action: str, **data):
    data.setdefault("back", f"/inbox?tab=open&id={fid}")
    return client.post(f"/inbox/{fid}/{action}", data=data, follow_redirects=False)


# ------------------------------------------------------------ reading


@pytest.mark.parametrize("path", ["/inbox", "/inbox?tab=closed", "/alerts"])
def test_without_a_session_the_pages_ask_to_log_in(inbox, path):
    r = inbox.anonymous.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_nav_links_the_inbox_and_alerts(inbox):
    page = inbox.analyst.get("/inbox").text
    assert 'href="/inbox" aria-current="page">Inbox</a>' in page
    assert 'href="/alerts">Alerts</a>' in page


def test_mine_opens_first_with_the_librarys_rows_due_first(inbox):
    r = inbox.analyst.get("/inbox")
    assert r.status_code == 200, r.text
    want = inbox.lib("list", status="active", owner=ANALYST, limit=25)
    assert want["total"] > 0
    assert listed(r.text) == [x["followup_id"] for x in want["rows"]]
    assert 'data-tab="mine" aria-current="page"' not in r.text  # the attribute comes first
    assert re.search(r'aria-current="page" data-tab="mine"', r.text)
    # a viewer owns none: the page opens on every open follow-up
    v = inbox.viewer.get("/inbox").text
    assert re.search(r'aria-current="page" data-tab="open"', v)
    assert listed(v) == [x["followup_id"] for x in inbox.lib("list", status="active",
                                                              limit=25)["rows"]]  # fmt: skip


def test_tab_counts_are_the_librarys(inbox):
    page = inbox.analyst.get("/inbox?tab=open").text
    c = counts(page)
    closed = sum(inbox.lib("list", status=s, limit=0)["total"]
                 for s in ("resolved", "closed_no_contact"))  # fmt: skip
    assert c == {
        "mine": inbox.lib("list", status="active", owner=ANALYST, limit=0)["total"],
        "team": inbox.lib("list", status="active", team="cx", limit=0)["total"],
        "overdue": inbox.lib("list", overdue=True, limit=0)["total"],
        "open": inbox.lib("list", status="active", limit=0)["total"],
        "closed": closed,
    }
    assert c["overdue"] > 0 and c["team"] > 0


def test_teams_are_offered_and_filter(inbox):
    page = inbox.analyst.get("/inbox?tab=team&team=support").text
    assert re.findall(r'<option value="(\w+)"', page[page.index('name="team"') :])[:3] == [
        "cx", "quality", "support"]  # fmt: skip
    assert "Team support" in page
    want = inbox.lib("list", status="active", team="support", limit=25)["rows"]
    assert listed(page) == [x["followup_id"] for x in want]


def test_overdue_ones_are_highlighted(inbox):
    page = inbox.analyst.get("/inbox?tab=overdue").text
    rows = re.findall(r'<tr data-followup="[^"]+" class="([^"]*)"', page)
    assert rows and all("overdue" in r for r in rows)
    assert "overdue by 1 d" in page
    assert listed(page) == [x["followup_id"] for x in inbox.lib("list", overdue=True,
                                                                 limit=25)["rows"]]  # fmt: skip


def test_pages_of_the_list(inbox):
    first = inbox.analyst.get("/inbox?tab=open").text
    assert 'rel="next"' in first
    nxt = re.search(r'href="([^"]+)" rel="next"', first).group(1)
    second = inbox.analyst.get(htmllib.unescape(nxt)).text
    assert len(listed(first)) == 25 and listed(second)
    assert not set(listed(first)) & set(listed(second))


def test_a_rule_filter(inbox):
    page = inbox.analyst.get("/inbox?tab=open&rule=product-spike").text
    want = inbox.lib("list", status="active", rule="product-spike")["rows"]
    assert listed(page) == [x["followup_id"] for x in want] and len(want) == 1


def test_the_detail_shows_what_fired_it_the_customer_and_the_history(inbox):
    fu = inbox.lib("list", status="active", owner=ANALYST, limit=1)["rows"][0]
    page = inbox.analyst.get(f"/inbox?id={fu['followup_id']}").text
    detail = page[page.index('id="detail"') :]
    assert f'data-followup="{fu["followup_id"]}"' in page
    full = inbox.lib("get", fu["followup_id"])
    alert = full["alert"]
    shown = text(detail)
    assert f"nps {alert['details']['nps']}" in shown  # what fired it
    rid = alert["details"]["response_id"]
    assert f"/rows/responses?filter=response_id%3A{rid}" in detail
    # the customer's answers and cases, from their timeline
    with inbox.analyst.app.state.cx.lock:  # type: ignore[attr-defined]
        story = inbox.ws.customer(fu["customer_id"])
    assert f"Answers ({story['counts']['responses']})" in shown
    assert f"Cases ({story['counts']['cases']})" in shown
    latest_case = [i for i in story["timeline"] if i["table"] == "cases"]
    if latest_case:
        assert latest_case[-1]["id"] in detail
    # its own history: who and what
    assert re.search(r'data-action="opened">.*?cxray</strong> opened', detail, re.S)
    # the row is marked in the list
    assert re.search(rf'<tr data-followup="{fu["followup_id"]}" class="[^"]*selected', page)


def test_the_link_in_a_notification_opens_the_followup(inbox):
    fu = inbox.lib("list", rule="product-spike")["rows"][0]
    page = inbox.analyst.get(f"/inbox?followup={fu['followup_id']}").text
    assert f'id="detail" aria-labelledby="detail-title" data-followup="{fu["followup_id"]}"' in page


def test_emerging_issue_detail_links_its_cases(inbox):
    fu = inbox.lib("list", rule="product-spike")["rows"][0]
    page = inbox.analyst.get(f"/inbox?id={fu['followup_id']}").text
    alert = inbox.lib("get", fu["followup_id"])["alert"]
    for case in alert["details"]["examples"]:
        assert f"/rows/cases?filter=case_id%3A{case}" in page
    assert "/rows/cases?filter=category%3Aproduct_defect&amp;from=" in page
    assert "×" in page and "usually" in page  # the ratio and the baseline share


def test_viewers_see_no_actions(inbox):
    fid = inbox.lib("list", status="open", limit=1)["rows"][0]["followup_id"]
    analyst = inbox.analyst.get(f"/inbox?id={fid}").text
    viewer = inbox.viewer.get(f"/inbox?id={fid}").text
    for action in ("contact", "close", "note", "assign"):
        assert f'action="/inbox/{fid}/{action}"' in analyst
        assert f'action="/inbox/{fid}/{action}"' not in viewer
    assert 'method="post" action="/inbox' not in viewer


def test_measures_are_the_librarys(inbox):
    page = inbox.analyst.get("/inbox?tab=open").text
    with inbox.analyst.app.state.cx.lock:  # type: ignore[attr-defined]
        m = inbox.ws.loop.measure().to_dict()
    assert "Did following up pay off?" in page
    tile = re.search(r'data-measure="followup_rate".*?</li>', page, re.S).group(0)
    rate = m["followup_rate"]
    if rate["estimate"] is None:
        assert "suppressed" in tile
    else:
        got = float(re.search(r'data-value="([^"]+)"', tile).group(1))
        assert got == pytest.approx(rate["estimate"], rel=1e-12)
    for name in ("time_to_contact", "sla_met", "recovery_rate"):
        assert f'data-measure="{name}"' in page


def test_unknown_followup_and_bad_tab(inbox):
    r = inbox.analyst.get("/inbox?id=FU-nothing")
    assert r.status_code == 404 and "FU-nothing" in r.text
    r = inbox.analyst.get("/inbox?tab=everything")
    assert r.status_code == 400 and "tab=" in text(r.text)


# ------------------------------------------------------------ working


def test_contact_with_a_note_then_resolve(inbox, untouched):
    fid = next(untouched)
    r = post(inbox.analyst, fid, "contact", note="Called: a new one is on its way")
    assert r.status_code == 303
    assert r.headers["location"] == f"/inbox?tab=open&id={fid}&done=contact"
    page = inbox.analyst.get(r.headers["location"]).text
    assert "Recorded: the customer was contacted." in page
    assert 'data-status="contacted"' in page
    assert re.search(r'<strong class="actor">ana</strong> contacted the customer', page)
    assert "Called: a new one is on its way" in text(page)
    # a contacted follow-up can no longer be contacted: the form is gone
    assert f'action="/inbox/{fid}/contact"' not in page
    fu = inbox.lib("get", fid)
    assert fu["status"] == "contacted" and fu["history"][-1]["actor"] == ANALYST

    r = post(inbox.analyst, fid, "close", outcome="replacement sent", contacted="true")
    assert r.status_code == 303
    fu = inbox.lib("get", fid)
    assert fu["status"] == "resolved" and fu["outcome"] == "replacement sent"
    assert [e["actor"] for e in fu["history"]] == ["cxray", ANALYST, ANALYST]
    closed = inbox.analyst.get("/inbox?tab=closed").text
    all_closed = [x["followup_id"] for s in ("resolved", "closed_no_contact")
                  for x in inbox.lib("list", status=s, limit=1000)["rows"]]  # fmt: skip
    assert fid in all_closed
    if len(all_closed) <= 25:
        assert fid in listed(closed)
    page = inbox.analyst.get(f"/inbox?id={fid}").text
    assert re.search(r'aria-current="page" data-tab="closed"', page)  # its own list
    assert "replacement sent" in page and "Resolve" not in page


def test_close_without_contact(inbox, untouched):
    fid = next(untouched)
    r = post(inbox.analyst, fid, "close", outcome="no phone number", contacted="false")
    assert r.status_code == 303
    fu = inbox.lib("get", fid)
    assert fu["status"] == "closed_no_contact" and fu["contacted_at"] is None
    assert fu["history"][-1]["action"] == "closed_no_contact"


def test_note_and_assign(inbox, untouched):
    fid = next(untouched)
    assert post(inbox.analyst, fid, "note", note="Left a voicemail").status_code == 303
    assert post(inbox.analyst, fid, "assign", owner="bea", team="support").status_code == 303
    fu = inbox.lib("get", fid)
    assert (fu["owner"], fu["team"], fu["note"]) == ("bea", "support", "Left a voicemail")
    assert [(e["actor"], e["action"]) for e in fu["history"][1:]] == [
        (ANALYST, "note"), (ANALYST, "assigned")]  # fmt: skip
    page = inbox.analyst.get(f"/inbox?id={fid}").text
    assert 'value="bea"' in page and "Left a voicemail" in page
    # clearing the owner keeps the team
    assert post(inbox.analyst, fid, "assign", owner="", team="support").status_code == 303
    assert inbox.lib("get", fid)["owner"] is None


def test_an_empty_note_says_why(inbox, untouched):
    fid = next(untouched)
    r = post(inbox.analyst, fid, "note", note="   ")
    assert r.status_code == 400 and "a note needs text" in r.text
    assert len(inbox.lib("get", fid)["history"]) == 1


def test_a_change_the_status_does_not_allow_is_409(inbox, untouched):
    fid = next(untouched)
    assert post(inbox.analyst, fid, "close", outcome="done").status_code == 303
    before = inbox.lib("get", fid)["history"]
    r = post(inbox.analyst, fid, "contact", note="again")
    assert r.status_code == 409
    assert re.search(r'class="error" role="alert">follow-up .* is already resolved', r.text)
    assert f'data-followup="{fid}"' in r.text  # the page around it is the Inbox
    assert inbox.lib("get", fid)["history"] == before


def test_viewers_are_refused(inbox, untouched):
    fid = next(untouched)
    for action, data in (("contact", {"note": "x"}), ("close", {"outcome": "x"}),
                         ("note", {"note": "x"}), ("assign", {"owner": "vic"})):  # fmt: skip
        r = post(inbox.viewer, fid, action, **data)
        assert r.status_code == 403 and "analyst" in r.text
    fu = inbox.lib("get", fid)
    assert fu["status"] == "open" and len(fu["history"]) == 1
    assert VIEWER not in {e["actor"] for e in fu["history"]}


@pytest.mark.parametrize(
    "headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}]
)
def test_posts_from_another_site_are_refused(inbox, untouched, headers):
    fid = next(untouched)
    r = inbox.analyst.post(
        f"/inbox/{fid}/contact", data={"note": "x"}, headers=headers, follow_redirects=False
    )
    assert r.status_code == 403 and "this site" in r.text
    assert inbox.lib("get", fid)["status"] == "open"


def test_posts_without_a_session_go_to_login(inbox, untouched):
    fid = next(untouched)
    r = post(inbox.anonymous, fid, "contact")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert inbox.lib("get", fid)["status"] == "open"


def test_unknown_followup_or_action_is_404(inbox, untouched):
    assert post(inbox.analyst, "FU-nothing", "contact").status_code == 404
    fid = next(untouched)
    assert post(inbox.analyst, fid, "delete").status_code == 404


def test_back_stays_in_the_inbox(inbox, untouched):
    fid = next(untouched)
    r = post(inbox.analyst, fid, "note", note="x", back="https://evil.example/?tab=open")
    assert r.headers["location"] == f"/inbox?id={fid}&done=note"
    r = post(inbox.analyst, fid, "note", note="y", back="/inbox?tab=team&team=cx&evil=1")
    assert r.headers["location"] == f"/inbox?tab=team&team=cx&id={fid}&done=note"


def test_personal_data_in_a_new_answer_is_masked(inbox):
    c = inbox.ws.table("customers")
    cid = c.filter(c.region == "West").limit(1).to_pyarrow()["customer_id"][0].as_py()
    csv = (
        "response_id,customer_id,submitted_at,survey,nps,comment\n"
        f"RPII1,{cid},2026-01-05T10:00:00Z,post_delivery,1,"
        "Call me on +1 415 555 0134 or write to jo.doe@example.com\n"
    )
    r = inbox.analyst.post(
        "/api/imports/responses",
        files={"files": ("new.csv", csv, "text/csv")},
        headers={"Authorization": f"Bearer {inbox.keys['analyst']}"},
    )
    assert r.status_code == 201, r.text
    (fu,) = [x for x in inbox.lib("list", customer_id=cid, limit=100)["rows"]
             if x["subject"] == "responses:RPII1"]  # fmt: skip
    assert fu["owner"] == ANALYST  # routed by region
    page = inbox.analyst.get(f"/inbox?id={fu['followup_id']}").text
    assert "jo.doe@example.com" not in page and "555 0134" not in page
    assert "[email]" in page and "[phone]" in page


# ------------------------------------------------------------ alerts and the overview


def alerts_shown(page: str) -> list[str]:
    return re.findall(r'<tr id="[^"]+" data-alert="([^"]+)"', page)


def test_alerts_are_the_librarys_newest_first(inbox):
    page = inbox.analyst.get("/alerts").text
    with inbox.analyst.app.state.cx.lock:  # type: ignore[attr-defined]
        want = inbox.ws.loop.alerts(limit=50)
    assert alerts_shown(page) == [a["alert_id"] for a in want]
    kpi = next(a for a in inbox.ws.loop.alerts(rule="nps-action"))
    page = inbox.analyst.get("/alerts?rule=nps-action").text
    assert alerts_shown(page) == [kpi["alert_id"]]
    shown = text(page)
    d = kpi["details"]
    assert f"{d['estimate']:,.1f} [{d['ci_low']:,.1f}, {d['ci_high']:,.1f}]" in shown
    assert f"n {d['n']:,}" in shown
    assert "email:cx-leads@example.com" in shown and "pending" in shown
    assert "/trends?period=month&amp;metric=nps" in page


def test_alerts_say_how_delivery_went_and_link_their_followup(inbox):
    page = inbox.analyst.get("/alerts?rule=product-spike").text
    (aid,) = alerts_shown(page)
    row = page[page.index(f'data-alert="{aid}"') :]
    row = row[: row.index("</tr>")]
    assert "webhook:http://127.0.0.1:9/cxray-hook" in row and 'data-status="pending"' in row
    fid = inbox.lib("list", rule="product-spike")["rows"][0]["followup_id"]
    assert f'href="/inbox?id={fid}"' in row
    # a delivery attempt to a webhook nobody listens on fails: the page says so
    from cxray.loop import deliver

    deliver(inbox.ws.store, inbox.ws.config, lock=inbox.ws.write_lock)
    row = inbox.analyst.get("/alerts?rule=product-spike").text
    assert "last error:" in row and "attempt 1 failed" in row  # it is tried again later


def test_alert_pages_and_rule_filter(inbox):
    first = inbox.analyst.get("/alerts").text
    assert len(alerts_shown(first)) == 50 and 'rel="next"' in first
    second = inbox.analyst.get("/alerts?offset=50").text
    assert not set(alerts_shown(first)) & set(alerts_shown(second))
    page = inbox.analyst.get("/alerts?rule=reopened-cases").text
    assert all('data-rule="reopened-cases"' in r for r in re.findall(r"<tr id=[^>]+>", page))


def test_the_overview_opens_with_the_open_alerts(inbox):
    page = inbox.viewer.get("/").text
    start = page.index('class="loop-box"')
    box = page[start : page.index("</section>", start)]
    assert page.index('class="loop-box"') < page.index('class="tiles"')
    c = counts(box)
    assert c["open"] == inbox.lib("list", status="active", limit=0)["total"]
    assert c["overdue"] == inbox.lib("list", overdue=True, limit=0)["total"]
    assert 'href="/alerts"' in box and 'href="/inbox?tab=overdue"' in box
    with inbox.analyst.app.state.cx.lock:  # type: ignore[attr-defined]
        newest = inbox.ws.loop.alerts(limit=3)
    assert re.findall(r'data-alert="([^"]+)"', box) == [a["alert_id"] for a in newest]


def test_an_empty_loop_shows_nothing_on_the_overview(site):
    page = site.client.get("/").text
    assert "loop-box" not in page and "Open alerts" not in page
    r = site.client.get("/inbox")
    assert r.status_code == 200 and listed(r.text) == []
    assert "No alerts" in site.client.get("/alerts").text
