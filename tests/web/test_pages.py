"""Each page renders in-process with the numbers of `Workspace.scorecard`; filters in the
URL change them; viewers read; without a session every page sends the browser to log in."""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from pathlib import Path

import plotly
import pytest

from cxray.web._format import fmt_number
from tests.web.conftest import values

PAGES = ["/", "/trends?metric=nps", "/segments?metric=nps&by=region", "/rows/responses",
         "/customers"]  # fmt: skip


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("path", PAGES)
def test_without_a_session_pages_redirect_to_login(site, path):
    r = site.anonymous.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    if path != "/":
        assert "next=" in r.headers["location"]


def test_login_page_and_bad_key(site):
    page = site.anonymous.get("/login?next=/trends")
    assert page.status_code == 200
    assert '<label for="key">API key</label>' in page.text
    assert 'value="/trends"' in page.text
    bad = site.anonymous.post("/login", data={"key": "cx_nope", "next": "/"})
    assert bad.status_code == 401 and "unknown or revoked" in bad.text
    # an outside site cannot log a browser in, and "next" never leaves the site
    r = site.anonymous.post(
        "/login",
        data={"key": site.key, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert (
        site.anonymous.post(
            "/login", data={"key": site.key}, headers={"Origin": "https://evil.example"}
        ).status_code
        == 403
    )
    site.anonymous.cookies.clear()


@pytest.mark.parametrize("path", PAGES)
def test_a_viewer_sees_every_page(site, path):
    r = site.client.get(path)
    assert r.status_code == 200, r.text[:2000]
    assert r.headers["content-type"].startswith("text/html")
    assert "(viewer)" in r.text and "<h1>" in r.text and 'lang="en"' in r.text


def test_overview_tiles_equal_the_scorecard(site):
    page = site.client.get("/").text
    shown = values(page, "metric")
    want = {r["metric"]: r for r in site.scorecard()}
    assert shown.keys() == want.keys()
    for metric, value in shown.items():
        rec = want[metric]
        assert _close(value, rec["estimate"]), metric
        if value is not None:
            assert html.escape(fmt_number(rec["estimate"], rec["unit"])) in page
            assert f"status-{rec['status'] or 'none'}" in page
    assert '<svg class="spark"' in page  # monthly sparklines


def test_filters_in_the_url_change_the_numbers(site):
    by_region = site.scorecard(by=["region"], metrics=["nps"])
    region = next(r["region"] for r in by_region if not r["suppressed"])
    page = site.client.get("/", params={"filter": f"region:{region}"}).text
    want = next(r for r in by_region if r["region"] == region)
    assert _close(values(page, "metric")["nps"], want["estimate"])
    overall = next(r for r in site.scorecard(metrics=["nps"]))
    assert not _close(want["estimate"], overall["estimate"])
    assert f"region = {region}" in page  # the filter chip
    # dates too: from/to are the scorecard's inclusive dates
    dated = site.client.get("/?from=2026-01-01&to=2026-12-31").text
    want = {
        r["metric"]: r["estimate"] for r in site.scorecard(start="2026-01-01", end="2026-12-31")
    }
    assert all(_close(v, want[m]) for m, v in values(dated, "metric").items())


def test_trends_show_each_period_with_significance(site):
    page = site.client.get("/trends?metric=nps&period=month").text
    want = {r["period"]: r for r in site.scorecard(period="month", metrics=["nps"])}
    shown = values(page, "period")
    assert shown.keys() == want.keys()
    assert all(_close(v, want[p]["estimate"]) for p, v in shown.items())
    assert 'id="trend-chart"' in page and "/static/plotly.min.js" in page
    assert "cdn" not in page.lower()
    quarterly = values(site.client.get("/trends?metric=csat&period=quarter").text, "period")
    assert quarterly.keys() == {
        r["period"] for r in site.scorecard(period="quarter", metrics=["csat"])
    }


def test_segments_are_sorted_with_small_n_suppressed(site):
    page = site.client.get("/segments?metric=nps&by=region").text
    recs = site.scorecard(by=["region"], metrics=["nps"])
    shown = values(page, "segment")
    assert len(shown) == len(recs)
    for r in recs:
        assert _close(shown["" if r["region"] is None else r["region"]], r["estimate"])
    numbers = [v for v in shown.values() if v is not None]
    assert numbers == sorted(numbers, reverse=True)
    assert 'id="segments-chart"' in page and "Mix shift" in page and "from the mix of" in page
    # a narrow window leaves small segments: shown as suppressed with the reason
    last = site.ws.rows("responses", limit=1)["rows"][0]["submitted_at"].date()
    start, end = (last - dt.timedelta(days=4)).isoformat(), last.isoformat()
    narrow = site.scorecard(by=["plan"], metrics=["nps"], start=start, end=end)
    assert any(r["suppressed"] for r in narrow), "the test needs one suppressed segment"
    page = site.client.get(f"/segments?metric=nps&by=plan&from={start}&to={end}").text
    for r in narrow:
        if r["suppressed"]:
            assert html.escape(r["reason"]) in page
    assert "suppressed" in page


def test_a_number_leads_to_its_rows(site):
    page = site.client.get("/trends?metric=nps&period=month").text
    link = html.unescape(re.search(r'<a href="(/rows/responses\?[^"]+)" data-value', page)[1])
    rows = site.client.get(link)
    assert rows.status_code == 200
    total = int(re.search(r'class="total">([\d,]+)<', rows.text)[1].replace(",", ""))
    q = dict(re.findall(r"(from|to)=([\d-]+)", link))
    assert "has=nps" in link  # only the responses an NPS counts: those with an answer
    want = site.ws.rows("responses", start=q["from"], end=q["to"], limit=0, present=["nps"])
    everything = site.ws.rows("responses", start=q["from"], end=q["to"], limit=0)["total"]
    assert total == want["total"] > 0 and everything > total
    month = [
        r for r in site.scorecard(period="month", metrics=["nps"]) if r["period"] == q["from"][:7]
    ]
    assert [r["n"] for r in month] == [total]  # the rows behind the number are the ones it counted
    assert "format=csv" in rows.text and "format=parquet" in rows.text
    # sortable and paged
    sorted_page = site.client.get(link + "&sort=nps")
    assert 'aria-sort="ascending"' in sorted_page.text
    every_response = site.client.get(link.replace("&has=nps", ""))
    assert 'rel="next"' in every_response.text


def test_customer_timeline(site):
    cid = site.ws.rows("responses", limit=1)["rows"][0]["customer_id"]
    page = site.client.get(f"/customers/{cid}").text
    story = site.ws.customer(cid)
    for table, n in story["counts"].items():
        assert f'data-count="{table}">{n}<' in page
    assert page.count("<time ") == len(story["timeline"])
    assert (
        site.client.get("/customers?id=" + cid, follow_redirects=False).headers["location"]
        == f"/customers/{cid}"
    )
    assert site.client.get("/customers/nobody-here").status_code == 404


def test_plotly_comes_from_the_installed_package(site):
    r = site.client.get("/static/plotly.min.js")
    assert r.status_code == 200
    assert r.content == (Path(plotly.__file__).parent / "package_data/plotly.min.js").read_bytes()
    assert site.client.get("/static/cxray.css").headers["content-type"].startswith("text/css")


def test_bad_filters_are_a_page_not_a_crash(site):
    r = site.client.get("/?filter=nocolon")
    assert r.status_code == 400 and "ATTRIBUTE:VALUE" in r.text
    assert site.client.get("/segments?by=nowhere").status_code == 400
    assert site.client.get("/rows/nowhere").status_code == 404


def test_one_login_serves_the_api_too_and_logout_ends_it(site):
    assert site.client.get("/api/me").json()["role"] == "viewer"
    assert site.client.get("/api/scorecard?metric=nps").status_code == 200
    r = site.client.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert site.client.get("/", follow_redirects=False).status_code == 303
    site.client.post("/login", data={"key": site.key})  # for the tests after this one
    assert site.client.get("/").status_code == 200


def _rows_total(site, link: str) -> int:
    page = site.client.get(html.unescape(link))
    assert page.status_code == 200, page.text
    return int(re.search(r'class="total">([\d,]+)<', page.text)[1].replace(",", ""))


def test_drill_down_by_a_customer_attribute_is_what_the_scorecard_counted(site):
    """region lives on customers: the rows behind a region's NPS are joined through
    customer_id, and there are exactly as many as the scorecard's n."""
    assert "region" not in site.ws.store.columns("responses")
    records = {r["region"]: r for r in site.scorecard(by=["region"], metrics=["nps"])}
    page = site.client.get("/segments?metric=nps&by=region").text
    links = dict(re.findall(r'<tr data-segment="([^"]*)">.*?<a href="([^"]+)"', page, re.S))
    assert set(links) == {"" if k is None else k for k in records} and len(links) >= 3
    for segment, link in links.items():
        record = records[segment or None]
        assert "region%3A" in link and "not a column" not in site.client.get(link).text
        assert _rows_total(site, link) == record["n"] > 0, segment
    # the API's rows agree, and a filter on a customer attribute of cases works too
    west = next(k for k in records if k)
    api = site.client.get(f"/api/tables/responses/rows?filter=region:{west}&has=nps&limit=0")
    assert api.json()["total"] == records[west]["n"]
    fcr = {r["region"]: r for r in site.scorecard(by=["region"], metrics=["fcr"])}
    cases = site.client.get(f"/api/tables/cases/rows?filter=region:{west}&has=resolved_at")
    assert cases.json()["total"] == fcr[west]["n"] > 0


def test_segments_default_to_a_monthly_mix_shift(site):
    page = site.client.get("/segments?metric=nps&by=region").text
    assert '<option value="month" selected>' in page
    assert '<option value="day" selected>' not in page
    labels = re.search(r"Mix shift: (\S+) → (\S+)</h2>", page)
    assert labels and all(re.fullmatch(r"\d{4}-\d{2}", x) for x in labels.groups())
    # the segment table covers the whole range, whatever the period
    by_day = site.client.get("/segments?metric=nps&by=region&period=week").text
    assert values(page, "segment") == values(by_day, "segment")
