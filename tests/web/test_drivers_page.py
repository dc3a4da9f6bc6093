"""The Drivers page: the same drivers and moments of truth as the library and the API."""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.drivers import Drivers
from cxray.workspace import Workspace
from tests.web.conftest import Site


@pytest.fixture
def make_site(tmp_path):
    """A logged-in site over a fresh store that ``setup(ws)`` fills."""
    opened = []

    def make(setup):
        db = tmp_path / "site.duckdb"
        with Workspace.open(db, tmp_path / "cxray.toml") as ws:
            setup(ws)
            key = ApiKeys(ws.store).create("viewer", name="t")[1]
        client = TestClient(
            create_app(db, tmp_path / "cxray.toml", settings=ApiSettings()),
            raise_server_exceptions=False,
        )
        client.__enter__()
        opened.append(client)
        assert client.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
        return Site(client, client, key, db)

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def library(site: Site, outcome: str, **kw) -> dict:
    """``ws.drivers(outcome)`` as the page asks for it (200 replicates, seed 0)."""
    with site.client.app.state.cx.lock:  # type: ignore[attr-defined]
        return site.ws.drivers(outcome, bootstrap=200, seed=0, **kw).to_dict()["analyses"][0]


def shown_drivers(page: str) -> dict[str, dict[str, float]]:
    """``{driver: {"share": ..., "effect": ...}}`` read from the drivers table."""
    table = page[page.index('id="drivers-table"') :]
    table = table[: table.index("</table>")]
    out = {}
    for name, row in re.findall(r'<tr data-driver="([^"]+)"[^>]*>(.*?)</tr>', table, re.S):
        share = re.search(r'data-value="([^"]+)"', row).group(1)
        effect = re.search(r'data-effect="([^"]+)"', row).group(1)
        out[name] = {"share": float(share), "effect": float(effect)}
    return out


def test_the_page_shows_the_librarys_drivers(site):
    r = site.client.get("/drivers")
    assert r.status_code == 200, r.text
    page = r.text
    want = library(site, "nps")
    shown = shown_drivers(page)
    assert list(shown) == [d["driver"] for d in want["drivers"]]  # most important first
    for d in want["drivers"]:
        assert shown[d["driver"]]["share"] == pytest.approx(d["share"], rel=1e-12)
        assert shown[d["driver"]]["effect"] == pytest.approx(d["effect"], rel=1e-12)
    r2 = re.search(r'class="r2" data-value="([^"]+)"', page).group(1)
    assert float(r2) == pytest.approx(want["r2"]["estimate"], rel=1e-12)
    n = re.search(r'class="n" data-value="(\d+)"', page).group(1)
    assert int(n) == want["n"]
    text = htmllib.unescape(page)
    assert want["method"] in text and want["basis"] in text
    for d in want["drivers"]:  # every priority is written out, beside its colour
        row = re.search(rf'<tr data-driver="{d["driver"]}".*?</tr>', page, re.S).group(0)
        assert f">{d['priority']}</span>" in row
    # the matrix plots the drivers that have a performance; the others are listed beside it
    assert 'id="matrix-chart"' in page and "/static/plotly.min.js" in page
    context = [d["driver"] for d in want["drivers"] if d["performance"] is None]
    aside = page[page.index('class="context-drivers"') : page.index("</aside>")]
    assert re.findall(r'<li data-driver="([^"]+)"', aside) == context
    assert 'href="/drivers' in page and 'aria-current="page"' in page  # in the nav


def test_the_page_and_the_api_share_one_analysis(site, monkeypatch):
    calls = []
    original = Drivers.__call__

    def counted(self, *args, **kw):
        calls.append(args)
        return original(self, *args, **kw)

    monkeypatch.setattr(Drivers, "__call__", counted)
    assert site.client.get("/drivers", params={"outcome": "csat"}).status_code == 200
    before = len(calls)
    again = site.client.get("/drivers", params={"outcome": "csat", "driver": "late_deliveries"})
    assert again.status_code == 200
    api = site.client.get("/api/drivers", params={"outcome": "csat"})
    assert api.status_code == 200
    assert len(calls) == before  # kept until the data changes: neither asked the library again
    want = api.json()["analyses"][0]["drivers"]
    shown = shown_drivers(again.text)
    assert {k: v["share"] for k, v in shown.items()} == {d["driver"]: d["share"] for d in want}


def test_switching_the_outcome(site):
    page = site.client.get("/drivers", params={"outcome": "csat"}).text
    want = library(site, "csat")
    assert htmllib.unescape(re.search(r"<h1>(.*?)</h1>", page).group(1)).endswith(
        want["outcome_title"]
    )
    assert '<option value="csat" selected>' in page
    assert {k: v["share"] for k, v in shown_drivers(page).items()} == pytest.approx(
        {d["driver"]: d["share"] for d in want["drivers"]}, rel=1e-12
    )
    churn = site.client.get("/drivers", params={"outcome": "churn"})
    assert churn.status_code == 200, churn.text
    want = library(site, "churn")
    assert want["model"] == "logistic"
    assert list(shown_drivers(churn.text)) == [d["driver"] for d in want["drivers"]]
    assert "odds ratio" in churn.text
    # the moments of truth follow the outcome: churn ranks them here
    assert "Moments of truth on churn" in churn.text


def test_a_drivers_detail_and_the_rows_behind_it(site):
    want = library(site, "nps", start="2026-01-01", end="2026-12-31")
    first = want["drivers"][0]
    params = {"outcome": "nps", "from": "2026-01-01", "to": "2026-12-31"}
    page = site.client.get("/drivers", params={**params, "driver": first["driver"]}).text
    detail = page[page.index('id="detail"') :]
    detail = detail[: detail.index("</section>")]
    assert f'data-driver="{first["driver"]}"' in page[page.index('id="detail"') - 200 :]
    effect = re.search(r'class="effect" data-value="([^"]+)"', detail).group(1)
    assert float(effect) == pytest.approx(first["effect"], rel=1e-12)
    for name in ("correlation", "vif"):
        shown = re.search(rf'class="{name}" data-value="([^"]+)"', detail).group(1)
        assert float(shown) == pytest.approx(first[name], rel=1e-12)
    with site.client.app.state.cx.lock:
        feature = {f.name: f for f in site.ws.drivers.features("responses")}[first["driver"]]
    assert feature.description[1:] in htmllib.unescape(detail)  # as a sentence
    assert re.search(r'<tr data-driver="[^"]+" class="selected">', page)  # marked in the table
    # the responses analysed: those with an NPS answer in the dates (to: the day after)
    analysed = htmllib.unescape(re.search(r'class="analysed" href="([^"]+)"', detail).group(1))
    url = urlsplit(analysed)
    assert url.path == "/rows/responses"
    assert parse_qs(url.query) == {"has": ["nps"], "from": ["2026-01-01"], "to": ["2027-01-01"]}
    rows = site.client.get(analysed)
    assert rows.status_code == 200 and "<table" in rows.text
    # the driver's own rows: its table, from the window before the first response on
    behind = htmllib.unescape(re.search(r'class="behind" href="([^"]+)"', detail).group(1))
    url = urlsplit(behind)
    assert url.path == f"/rows/{feature.table}"
    assert parse_qs(url.query)["from"] == ["2025-12-02"]  # 30 days before
    assert site.client.get(behind).status_code == 200
    # a driver the analysis does not have: said on the page
    missing = site.client.get("/drivers", params={"driver": "nope"})
    assert missing.status_code == 200 and "No driver nope in this analysis" in missing.text


def test_every_drivers_rows_link_opens(site):
    """Each driver's and each moment's rows link names only columns its table has."""
    for outcome in ("nps", "churn"):
        want = library(site, outcome)
        for d in want["drivers"]:
            page = site.client.get("/drivers", params={"outcome": outcome, "driver": d["driver"]})
            assert page.status_code == 200
            for href in re.findall(r'class="(?:behind|analysed)" href="([^"]+)"', page.text):
                href = htmllib.unescape(href)
                assert site.client.get(href).status_code == 200, href
    page = site.client.get("/drivers").text
    table = page[page.index('id="moments-table"') :]
    for href in re.findall(r'<td class="nowrap"><a href="([^"]+)"', table):
        assert site.client.get(htmllib.unescape(href)).status_code == 200, href


def test_moments_of_truth_are_the_librarys(site):
    page = site.client.get("/drivers").text  # NPS: the moments ranked by NPS
    with site.client.app.state.cx.lock:
        report = site.ws.drivers.moments(("nps", "csat", "ces", "churn"))
    assert report.rank_by == "nps"
    table = page[page.index('id="moments-table"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<tr data-moment="([^"]+)">(.*?)</tr>', table, re.S)
    ranked = [m for m in report.moments if m.outcome == "nps"]
    assert [name for name, _ in rows] == [m.moment for m in ranked] == report.ranking()
    for (_, row), m in zip(rows, ranked, strict=True):
        assert f'data-customers="{m.customers}"' in row
        if m.suppressed:
            assert "suppressed" in row and "group a" not in row
            assert 'data-value="' not in row
        else:
            effect = float(re.search(r'data-value="([^"]+)"', row).group(1))
            assert effect == pytest.approx(m.effect, rel=1e-12)
            impact = float(re.search(r'data-impact="([^"]+)"', row).group(1))
            assert impact == pytest.approx(m.impact, rel=1e-12)
            assert ("significant" in row) == m.significant
    # the other outcomes, compactly
    others = page[page.index('class="data moments-others"') :]
    others = others[: others.index("</table>")]
    for o in ("csat", "ces", "churn"):
        assert f">{o}</th>" in others
    for m in report.moments:
        if m.outcome != "nps" and not m.suppressed:
            row = re.search(rf'<tr data-moment="{m.moment}">(.*?)</tr>', others, re.S).group(1)
            cell = re.search(rf'data-outcome="{m.outcome}"><span data-value="([^"]+)"', row)
            assert float(cell.group(1)) == pytest.approx(m.effect, rel=1e-12)


def test_the_overview_tiles_link_to_the_drivers(site):
    page = site.client.get("/", params={"from": "2026-01-01"}).text
    for metric, outcome in (("nps", "nps"), ("csat", "csat"), ("ces_mean", "ces")):
        tile = re.search(rf'data-metric="{metric}">(.*?)</li>', page, re.S).group(1)
        link = htmllib.unescape(re.search(r'class="drivers-link"><a href="([^"]+)"', tile)[1])
        assert parse_qs(urlsplit(link).query) == {"outcome": [outcome], "from": ["2026-01-01"]}
    churn = re.search(r'data-metric="churn_rate">(.*?)</li>', page, re.S).group(1)
    assert 'href="/drivers?outcome=churn"' in churn  # as of a date: the dates do not apply
    fcr = re.search(r'data-metric="fcr">(.*?)</li>', page, re.S).group(1)
    assert "drivers-link" not in fcr


def test_bad_requests_say_why(site):
    bad = site.client.get("/drivers", params={"outcome": "happiness"})
    assert bad.status_code == 400 and "outcome=&#39;happiness&#39;" in bad.text
    assert "nps" in bad.text and "Traceback" not in bad.text
    date = site.client.get("/drivers", params={"from": "yesterday"})
    assert date.status_code == 400 and "not a date" in date.text
    # a window with no responses: the page, with the reason where the drivers would be
    empty = site.client.get("/drivers", params={"from": "2030-01-01", "to": "2030-02-01"})
    assert empty.status_code == 200
    assert 'class="error" role="alert"' in empty.text and "nothing to explain" in empty.text
    assert "<form" in empty.text and "Moments of truth" in empty.text


def test_a_filter_is_said_not_to_apply(site):
    page = site.client.get("/drivers", params={"filter": "region:West"}).text
    assert "do not apply here" in page
    assert 'name="filter" value="region:West"' in page  # kept for the other pages


def test_login_is_required(site):
    r = site.anonymous.get("/drivers?outcome=csat", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_an_empty_store_shows_messages(make_site):
    site = make_site(lambda ws: None)
    for outcome in ("nps", "churn"):
        r = site.client.get("/drivers", params={"outcome": outcome})
        assert r.status_code == 200, r.text
        assert r.text.count('class="error" role="alert"') == 2  # drivers, moments
        assert "Moments of truth" in r.text


def test_responses_without_touchpoints(make_site):
    """Answers and nothing that happened to the customers: drivers from the answers'
    ratings cannot be fitted, and there is no moment to compare; both said, no 500."""
    rows = pd.DataFrame(
        {
            "response_id": [f"R{i}" for i in range(60)],
            "customer_id": [f"C{i % 20}" for i in range(60)],
            "submitted_at": ["2026-01-05"] * 60,
            "nps": [i % 11 for i in range(60)],
        }
    )
    site = make_site(lambda ws: ws.import_frame("responses", rows))
    r = site.client.get("/drivers")
    assert r.status_code == 200, r.text
    assert "moments of truth need orders" in r.text
