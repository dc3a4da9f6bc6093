"""Saved views in the dashboard: save, list, open by link, privacy, role defaults, notices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.views import Caller
from tests.web.conftest import Site, values


def _login(site: Site, role: str, name: str) -> TestClient:
    with site.client.app.state.cx.lock:  # type: ignore[attr-defined]
        key = ApiKeys(site.ws.store).create(role, name=name)[1]
    client = TestClient(site.client.app, raise_server_exceptions=False)
    r = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


@pytest.fixture(scope="module")
def lead(site) -> Iterator[TestClient]:
    yield _login(site, "analyst", "cx lead")


@pytest.fixture(scope="module")
def boss(site) -> Iterator[TestClient]:
    yield _login(site, "admin", "boss")


def _save(client: TestClient, name: str, url: str, visibility: str = "private"):
    return client.post(
        "/views", data={"name": name, "url": url, "visibility": visibility},
        follow_redirects=False,
    )  # fmt: skip


def _open(client: TestClient, slug: str) -> tuple[str, str]:
    """Follow the share link: the URL it leads to, and that page's HTML."""
    r = client.get(f"/v/{slug}", follow_redirects=False)
    assert r.status_code == 303, r.text
    target = r.headers["location"]
    page = client.get(target)
    assert page.status_code == 200, page.text
    return target, page.text


def test_save_list_and_open_by_link_shows_the_same_figures(site, lead):
    url = "/?preset=90d&filter=region:West"
    r = _save(lead, "West, last 90 days", url, "shared")
    assert r.status_code == 303 and r.headers["location"] == "/views?saved=west-last-90-days"
    listing = lead.get(r.headers["location"]).text
    assert 'data-view="west-last-90-days"' in listing and "/v/west-last-90-days" in listing
    # kept as the page's query; the preset's dates are re-read on every open
    stored = site.ws.views.get("west-last-90-days")
    assert stored.page == "overview"
    assert stored.query == {"preset": "90d", "filter": ["region:West"]}
    target, html = _open(site.client, "west-last-90-days")  # the viewer opens the shared link
    assert dict(parse_qsl(urlsplit(target).query)) == {
        "preset": "90d", "filter": "region:West", "view": "west-last-90-days",
    }  # fmt: skip
    assert 'data-saved-view="west-last-90-days"' in html
    shown = values(html, "metric")
    direct = values(site.client.get(url).text, "metric")
    measured = {m: v for m, v in shown.items() if v is not None}
    assert shown == direct and len(measured) >= 3
    # the filter is applied: the figures differ from the unfiltered overview and match the
    # scorecard of the West over the preset's 30 days (ending on the latest data)
    window = html.split('class="window">')[1].split(" (")[0]
    first, last = window.split(" to ")
    assert (dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days == 89
    # (the scorecard of the West alone: no other KPI's pass)
    records = site.scorecard(by=["region"], start=first, end=last, metrics=sorted(measured)[:4])
    west = {r["metric"]: r["estimate"] for r in records if r["region"] == "West"}
    for metric in sorted(measured)[:4]:
        assert measured[metric] == pytest.approx(west[metric]), metric


def test_trends_view_keeps_its_kpi_and_period(site, lead):
    r = _save(lead, "CSAT by quarter", "/trends?metric=csat&period=quarter&filter=region:Midwest")
    assert r.status_code == 303
    target, html = _open(lead, "csat-by-quarter")
    assert urlsplit(target).path == "/trends"
    # a page asked for with only ?view=SLUG opens the view too; with more, the page as asked
    for page in ("/trends", "/", "/views"):
        r = lead.get(f"{page}?view=csat-by-quarter", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/v/csat-by-quarter"
    assert lead.get("/?view=", follow_redirects=False).status_code == 200
    assert values(html, "period") == values(
        lead.get("/trends?metric=csat&period=quarter&filter=region:Midwest").text, "period"
    )
    assert "CSAT" in html


def test_a_private_view_is_its_owners_only(site, lead):
    r = _save(site.client, "My morning", "/?preset=7d")  # the viewer's own
    assert r.status_code == 303
    assert "my-morning" in site.client.get("/views").text
    assert "my-morning" not in lead.get("/views").text
    other = lead.get("/v/my-morning")
    assert other.status_code == 404 and "no saved view 'my-morning'" in unescape(other.text)
    gone = lead.post("/views/my-morning/delete", follow_redirects=False)
    assert gone.status_code == 404
    assert site.client.get("/v/my-morning", follow_redirects=False).status_code == 303


def test_bad_input_says_what_and_writes_nothing(site, lead):
    before = len(site.ws.views.list())
    cases = [
        (site.client, "", "/", "private", "view name: empty"),
        (site.client, "Team view", "/", "shared", "sharing a view needs the analyst role"),
        (lead, "Nowhere", "/settings?x=1", "private", "is not a dashboard page"),
        (lead, "Odd period", "/trends?period=fortnight", "private", "query.period"),
        (lead, "Bad date", "/?from=2024-13-01", "private", "not a date"),
        (lead, "West, last 90 days", "/", "shared", "exists already"),
        (lead, "???", "/", "private", "needs at least one letter or digit"),
    ]
    for client, name, url, visibility, message in cases:
        r = _save(client, name, url, visibility)
        assert r.status_code == 400, (name, r.status_code)
        assert message in unescape(r.text), (name, r.text[:2000])
    assert len(site.ws.views.list()) == before


def test_a_view_of_a_masked_column_is_refused_for_a_key_without_pii(site):
    r = _save(site.client, "By e-mail", "/rows/responses?filter=email:a@example.com")
    assert r.status_code == 400 and "personal data" in unescape(r.text)
    assert "by-e-mail" not in {v.slug for v in site.ws.views.list()}


def test_a_view_whose_filter_or_page_is_gone_opens_with_a_notice(site):
    views = site.ws.views
    with site.client.app.state.cx.lock:  # type: ignore[attr-defined]
        views.save("Gold tier", "overview", {"preset": "90d", "filter": ["loyalty_tier:Gold"]},
                   visibility="shared", caller=Caller(99, "old", "analyst"))  # fmt: skip
        # a view kept by a dashboard that had a page this one has not
        views.save("Wallboard", "overview", {}, visibility="shared",
                   caller=Caller(99, "old", "analyst"))  # fmt: skip
        site.ws.store.backend.raw_sql(
            "UPDATE _cx_views SET page = 'wallboard' WHERE slug = 'wallboard'"
        )
    r = site.client.get("/v/gold-tier")
    assert r.status_code == 200
    assert "filters by loyalty_tier, which the data no longer has" in unescape(r.text)
    assert '/?preset=90d&amp;view=gold-tier">Open it without the missing filter' in r.text
    r = site.client.get("/v/wallboard")
    assert r.status_code == 200
    assert "opens the page 'wallboard', which the dashboard no longer has" in unescape(r.text)


def test_role_default_opens_the_overview_and_can_be_left(site, lead, boss):
    r = _save(lead, "Exec weekly", "/?preset=7d&filter=segment:smb", "shared")
    assert r.status_code == 303
    assert site.client.get("/", follow_redirects=False).status_code == 200  # none set yet
    # only an admin sets defaults
    refused = lead.post("/views/role-defaults", data={"viewer": "exec-weekly"})
    assert refused.status_code == 403 and "needs the admin role" in unescape(refused.text)
    r = boss.post("/views/role-defaults", data={"viewer": "exec-weekly"}, follow_redirects=False)
    assert r.status_code == 303
    assert site.ws.views.defaults()["viewer"] == {
        "slug": "exec-weekly", "source": "store", "exists": True,
    }  # fmt: skip
    r = site.client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/v/exec-weekly"
    r = site.client.get("/v/exec-weekly", follow_redirects=False)
    assert r.headers["location"] == "/?preset=7d&filter=segment%3Asmb&view=exec-weekly"
    assert lead.get("/", follow_redirects=False).status_code == 200  # analysts have none
    # explicit filters, or ?view= (the banner's "show without it"), open the overview as asked
    assert site.client.get("/?view=", follow_redirects=False).status_code == 200
    # a private view cannot be a default
    _save(boss, "Boss only", "/")
    r = boss.post("/views/role-defaults", data={"analyst": "boss-only"})
    assert r.status_code == 400 and "is not a shared view" in unescape(r.text)
    # deleting the view drops the default set to it
    r = lead.post("/views/exec-weekly/delete", follow_redirects=False)
    assert r.status_code == 303
    assert "viewer" not in site.ws.views.defaults()
    assert site.client.get("/", follow_redirects=False).status_code == 200


def test_deleting_own_and_shared_views(site, lead, boss):
    assert _save(lead, "To delete", "/segments?metric=nps&by=region", "shared").status_code == 303
    r = site.client.post("/views/to-delete/delete")
    assert r.status_code == 403 and "only its owner" in unescape(r.text)
    listing = site.client.get("/views").text
    assert "to-delete" in listing and 'action="/views/to-delete/delete"' not in listing
    assert 'action="/views/to-delete/delete"' in boss.get("/views").text
    r = boss.post("/views/to-delete/delete", follow_redirects=False)  # an admin, a shared one
    assert r.status_code == 303
    assert site.client.get("/v/to-delete").status_code == 404


def test_the_save_form_carries_the_pages_filters(site):
    html = site.client.get("/segments?metric=csat&by=region&filter=plan:plus").text
    assert 'action="/views"' in html
    field = html.split('name="url" value="')[1].split('"')[0].replace("&amp;", "&")
    assert urlsplit(field).path == "/segments"
    assert sorted(parse_qsl(urlsplit(field).query)) == sorted(
        [("period", "month"), ("filter", "plan:plus"), ("metric", "csat"), ("by", "region")]
    )


def test_pages_without_the_filter_bar_save_their_url_too(site, lead):
    url = "/rows/responses?metric=nps&has=nps&filter=region:West&sort=-nps"
    html = lead.get(url).text
    field = html.split('name="url" value="')[1].split('"')[0].replace("&amp;", "&")
    assert field == url
    assert _save(lead, "West's answers", field).status_code == 303
    saved = site.ws.views.get("west-s-answers")
    assert saved.page == "rows" and saved.query["table"] == "responses"
    r = lead.get("/v/west-s-answers", follow_redirects=False)
    assert r.headers["location"] == (
        "/rows/responses?metric=nps&has=nps&filter=region%3AWest&sort=-nps&view=west-s-answers"
    )
