"""The Text page: the same themes, quotes and emerging issues as /api/text, redacted."""

from __future__ import annotations

import html as htmllib
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.text import REPORTS
from cxray.workspace import Workspace
from tests.web.conftest import Site, values


@pytest.fixture
def make_site(tmp_path):
    """A logged-in site over a fresh store that ``setup(ws)`` fills."""
    opened = []

    def make(setup):
        REPORTS.clear()
        db = tmp_path / "site.duckdb"
        with Workspace.open(db, tmp_path / "cxray.toml") as ws:
            setup(ws)
            key = ApiKeys(ws.store).create("viewer", name="t")[1]
        client = TestClient(create_app(db, tmp_path / "cxray.toml", settings=ApiSettings()))
        client.__enter__()
        opened.append(client)
        assert client.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
        return Site(client, client, key, db)

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def api(site, path: str, **params):
    r = site.client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_text_page_numbers_equal_the_api(site):
    r = site.client.get("/text")
    assert r.status_code == 200, r.text
    page = r.text
    report = api(site, "/api/text/themes")
    shown = values(page, "theme")
    assert set(shown) == {t["id"] for t in report["themes"]}
    for t in report["themes"]:
        assert shown[t["id"]] == t["volume"]
    total = re.search(r'class="total" data-value="(\d+)"', page)
    assert int(total.group(1)) == report["n_texts"]
    # every shown share and NPS impact is the API's estimate
    for t in report["themes"]:
        row = re.search(rf'data-theme="{t["id"]}"(.*?)</tr>', page, re.S).group(1)
        nums = [float(x) for x in re.findall(r'data-value="([^"]+)"', row)]
        aspects = any(x.get("aspect_sentiment") for x in report["themes"])
        want = [t["volume"]] + [
            e["estimate"]
            for e in (
                t["share"],
                t["sentiment"],
                *([t["aspect_sentiment"]] if aspects else []),
                t["negative_share"],
                t["impact"]["nps"],
                t["impact"]["csat"],
            )
            if e and not e["suppressed"]
        ]
        assert nums == want
    # a bubble for every theme whose sentiment and impact are shown (not suppressed)
    plotted = [
        t
        for t in report["themes"]
        if t["volume"] and not t["sentiment"]["suppressed"] and not t["impact"]["nps"]["suppressed"]
    ]
    assert ("themes-chart" in page) == ("/static/plotly.min.js" in page) == bool(plotted)
    assert '<a href="/text"' in page or 'href="/text?' in page  # in the nav


def test_theme_drill_down_shows_the_apis_rows(site):
    report = api(site, "/api/text/themes")
    theme = report["themes"][0]
    page = site.client.get("/text", params={"theme": theme["id"]}).text
    rows = api(site, f"/api/text/themes/{theme['id']}/rows", limit=20)
    assert re.search(r'id="quotes"', page)
    totals = re.findall(r'class="total" data-value="(\d+)"', page)
    assert int(totals[1]) == rows["total"] == theme["volume"]
    text = htmllib.unescape(page)
    for r in rows["rows"]:
        assert r["response_id"] in page and r["text"] in text
        assert f"/rows/responses?filter=response_id%3A{r['response_id']}" in page
    negative = site.client.get("/text", params={"theme": theme["id"], "sentiment": "negative"})
    want = api(site, f"/api/text/themes/{theme['id']}/rows", sentiment="negative")["total"]
    assert int(re.findall(r'class="total" data-value="(\d+)"', negative.text)[1]) == want


def test_emerging_issues_are_the_apis(site):
    page = site.client.get("/text").text
    trends = api(site, "/api/text/trends", period="week")
    shown = re.findall(r'data-period="([^"]+)" data-category="([^"]+)"', page)
    assert shown == [(e["period"], e["category"]) for e in trends["emerging"]]
    if not trends["emerging"]:
        assert "No emerging issues" in page


def test_other_tables_sources_and_errors(site):
    cases = site.client.get("/text", params={"table": "cases"})
    assert cases.status_code == 200
    want = api(site, "/api/text/themes", table="cases")
    assert values(cases.text, "theme") == {t["id"]: t["volume"] for t in want["themes"]}
    bad = site.client.get("/text", params={"table": "orders"})
    assert bad.status_code == 400 and "table=&#39;orders&#39;" in bad.text
    missing = site.client.get("/text", params={"theme": "nope"})
    assert missing.status_code == 404 and "nope" in missing.text
    assert site.anonymous.get("/text", follow_redirects=False).status_code == 303


def test_quotes_on_the_page_are_redacted(make_site):
    rows = pd.DataFrame(
        {
            "response_id": [f"R{i}" for i in range(35)],
            "submitted_at": ["2026-01-05"] * 35,
            "nps": [3] * 35,
            "comment": [f"Late parcel, awful. Call me on +44 20 7946 09{i:02d}" for i in range(35)],
        }
    )
    site = make_site(lambda ws: ws.import_frame("responses", rows))
    page = site.client.get("/text", params={"theme": "delivery"}).text
    assert "[phone]" in page and "7946" not in page


def test_an_empty_store_shows_an_empty_page(make_site):
    site = make_site(lambda ws: None)
    for table in ("responses", "cases", "mentions"):
        r = site.client.get("/text", params={"table": table})
        assert r.status_code == 200, r.text
        assert 'class="total" data-value="0"' in r.text
        assert "No emerging issues" in r.text


def _crowded_report(n: int = 20, seed: int = 3) -> dict:
    """``n`` themes whose sentiment and impact lie close together, volumes far apart."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def est(v: float) -> dict:
        return {"estimate": v, "ci_low": v, "ci_high": v, "suppressed": False}

    themes = [
        {
            "id": f"t{i}",
            "label": f"Theme {i} " + "long label words"[: 4 + i % 12],
            "volume": int(rng.integers(10, 5000)),
            "sentiment": est(float(rng.normal(-0.1, 0.06))),
            "impact": {"nps": est(float(rng.normal(2.0, 0.4)))},
            "negative_share": est(0.3),
        }
        for i in range(n)
    ]
    return {"table": "responses", "source": "taxonomy", "themes": themes}


def _figure(html: str) -> dict:
    import json

    block = re.search(r'class="cx-figure"[^>]*>(.*?)</script>', html, re.S).group(1)
    return json.loads(block)


def test_crowded_bubble_labels_do_not_overlap():
    """20 themes close together, in both of the chart's layouts (a screen's and a phone's): at
    the layout's narrowest and widest plot, and between, no two labels (or numbers) intersect
    and no label covers another theme's bubble; every theme is labelled on the chart or
    listed, numbered, under it."""
    from cxray.web._charts import (
        BUBBLE_MARGIN,
        BUBBLE_MAX_WIDTH,
        BUBBLE_MIN_WIDTH,
        BUBBLE_PHONE_WIDTH,
    )
    from cxray.web._text import themes_chart

    report = _crowded_report()
    chart = str(themes_chart(report))
    wide, narrow = chart.split('<div class="bubble-narrow">')
    assert wide.startswith('<div class="bubble-wide">') and 'id="themes-chart"' in wide
    m = BUBBLE_MARGIN
    numbered = {}
    for html, lo, hi in (
        (wide, BUBBLE_MIN_WIDTH, BUBBLE_MAX_WIDTH),
        (narrow, BUBBLE_PHONE_WIDTH, BUBBLE_MIN_WIDTH),
    ):
        numbered[lo] = _check_bubble_layout(
            report, html, (lo - m["l"] - m["r"], hi - m["l"] - m["r"])
        )
    # the crowd needed more than one way to be labelled on a screen
    assert numbered[BUBBLE_MIN_WIDTH][1] == {True, False}
    # the phone's narrower plot leaves fewer free spots: at least as many themes are numbered
    assert numbered[BUBBLE_PHONE_WIDTH][0] >= numbered[BUBBLE_MIN_WIDTH][0]


def _check_bubble_layout(report: dict, html: str, widths: tuple[int, int]) -> tuple[int, set[bool]]:
    from cxray.web._charts import (
        BUBBLE_HEIGHT,
        BUBBLE_MARGIN,
        LABEL_FONT,
        bubble_radius,
        label_size,
    )

    fig = _figure(html)
    layout = fig["layout"]
    (xr, yr) = layout["xaxis"]["range"], layout["yaxis"]["range"]
    m = BUBBLE_MARGIN
    assert layout["height"] == BUBBLE_HEIGHT and layout["margin"] == m
    h = BUBBLE_HEIGHT - m["t"] - m["b"]
    top = max(t["volume"] for t in report["themes"])
    by_xy = {
        (t["sentiment"]["estimate"], t["impact"]["nps"]["estimate"]): t for t in report["themes"]
    }
    key = re.findall(r'<li value="(\d+)"><a href="[^"]+">([^<]+)</a></li>', html)
    numbers = {int(n): label for n, label in key}
    assert numbers and sorted(numbers) == list(range(1, len(numbers) + 1))
    shown = set()
    for pw in (widths[0], (widths[0] + widths[1]) // 2, widths[1]):

        def px(x: float, y: float, pw: int = pw) -> tuple[float, float]:
            return (x - xr[0]) / (xr[1] - xr[0]) * pw, (y - yr[0]) / (yr[1] - yr[0]) * h

        labels, bubbles = [], []
        for a in layout["annotations"]:
            theme = by_xy[(a["x"], a["y"])]
            cx, cy = px(a["x"], a["y"])
            if a.get("showarrow"):
                cx, cy = cx + a["ax"], cy - a["ay"]
            else:
                cx, cy = cx + a.get("xshift", 0), cy + a.get("yshift", 0)
            number = a["text"].isdigit()
            w, hh = label_size(a["text"], LABEL_FONT - 1 if number else LABEL_FONT)
            labels.append((theme["id"], number, (cx - w / 2, cy - hh / 2, cx + w / 2, cy + hh / 2)))
            if number:
                assert numbers[int(a["text"])] == theme["label"]
            else:
                assert theme["label"].startswith(a["text"].rstrip("…"))
            shown.add(theme["id"])
        for t in report["themes"]:
            bx, by = px(t["sentiment"]["estimate"], t["impact"]["nps"]["estimate"])
            r = bubble_radius(t["volume"], top)
            bubbles.append((t["id"], (bx - r, by - r, bx + r, by + r)))

        def meet(a: tuple, b: tuple) -> bool:
            return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

        for i, (ti, _, a) in enumerate(labels):
            for tj, _, b in labels[i + 1 :]:
                assert not meet(a, b), f"at {pw} px the labels of {ti} and {tj} overlap"
        for ti, number, a in labels:
            if number:
                continue  # a number may sit in a bubble
            for tj, b in bubbles:
                assert ti == tj or not meet(a, b), f"at {pw} px {ti}'s label covers {tj}"
    assert shown == {t["id"] for t in report["themes"]}
    kinds = {bool(a.get("showarrow")) for a in layout["annotations"] if not a["text"].isdigit()}
    return len(numbers), kinds


def test_the_served_app_keeps_the_text_reports(tmp_path, monkeypatch):
    """`cxray serve` computes the Text page's reports in the background and keeps them in
    the store: a second server process reads them at once."""
    import time

    from cxray.app import SERVE_URL_ENV, WARM_ENV
    from cxray.text._reports import KEPT_TABLE

    db = tmp_path / "site.duckdb"
    rows = pd.DataFrame(
        {
            "response_id": [f"R{i}" for i in range(40)],
            "submitted_at": ["2026-01-05"] * 40,
            "nps": [i % 11 for i in range(40)],
            "comment": ["late parcel again" if i % 2 else "great app" for i in range(40)],
        }
    )
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        ws.import_frame("responses", rows)
    monkeypatch.setenv(SERVE_URL_ENV, "http://127.0.0.1:9")
    monkeypatch.delenv(WARM_ENV, raising=False)
    REPORTS.clear()
    app = create_app(db, tmp_path / "cxray.toml", settings=ApiSettings())
    with TestClient(app):
        end = time.monotonic() + 60
        while time.monotonic() < end:
            with app.state.cx.lock:
                b = app.state.cx.ws.store.backend
                if KEPT_TABLE in b.list_tables() and b.table(KEPT_TABLE).count().execute() >= 2:
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("the server kept no Text page reports")
    REPORTS.clear()
    monkeypatch.setenv(WARM_ENV, "0")
    import cxray.text._reports as reports_module

    def refuse(*a, **k):
        raise AssertionError("computed although the store keeps this report")

    monkeypatch.setattr(reports_module, "themes_with_documents", refuse)
    monkeypatch.setattr(reports_module, "case_trends", refuse)
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        key = ApiKeys(ws.store).create("viewer", name="t")[1]
    with TestClient(create_app(db, tmp_path / "cxray.toml", settings=ApiSettings())) as client:
        assert client.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
        page = client.get("/text")
        assert page.status_code == 200, page.text
        assert 'class="total" data-value="40"' in page.text


def test_a_pii_readers_text_page_is_kept_unmasked_and_erased_with_the_rest(tmp_path, monkeypatch):
    """A reader with ``pii`` sees quotes as written: that report is kept in the store too,
    under an ``unmasked:`` key, served to the next server without computing, and an
    erasure deletes it with the masked one."""
    import json

    import cxray.text._faq as faq_module
    import cxray.text._reports as reports_module
    from cxray.app import WARM_ENV
    from cxray.text._reports import KEPT_TABLE

    db, cfg = tmp_path / "site.duckdb", tmp_path / "cxray.toml"
    rows = pd.DataFrame(
        {
            "response_id": [f"R{i}" for i in range(40)],
            "customer_id": [f"C{i % 4}" for i in range(40)],
            "submitted_at": ["2026-01-05"] * 40,
            "nps": [i % 11 for i in range(40)],
            "comment": [
                f"late parcel again, write to ann{i}@example.com" if i % 2 else "great app"
                for i in range(40)
            ],
        }
    )
    with Workspace.open(db, cfg) as ws:
        ws.import_frame("responses", rows)
        keys = ApiKeys(ws.store)
        pii = keys.create("viewer", name="pii", permissions=["pii"])[1]
        plain = keys.create("viewer", name="plain")[1]
    monkeypatch.setenv(WARM_ENV, "0")  # only what the views compute is kept

    def page(client, key: str) -> str:
        assert client.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
        r = client.get("/text")
        assert r.status_code == 200, r.text
        return r.text

    REPORTS.clear()
    with TestClient(create_app(db, cfg, settings=ApiSettings())) as client:
        first = page(client, pii)
        assert "@example.com" in first  # quotes as written
        assert "@example.com" not in page(client, plain)
    with Workspace.open(db, cfg) as ws:
        kept = ws.store.backend.table(KEPT_TABLE).to_pyarrow().to_pylist()
    modes = sorted(r["report_key"].split(":")[0] for r in kept)
    # themes, case trends (none: no cases) and the FAQ, each masked and unmasked
    assert modes.count("unmasked") == modes.count("masked") >= 2
    for r in kept:
        quoted = "@example.com" in r["body"]
        assert quoted == (r["report_key"].startswith("unmasked:") and '"quotes"' in r["body"])
    bodies = [json.loads(r["body"]) for r in kept if r["report_key"].startswith("unmasked:")]
    assert any(b.get("table") == "responses" and b.get("themes") for b in bodies)

    # a new server serves the pii reader from the kept report: nothing is computed
    def refuse(*a, **k):
        raise AssertionError("computed although the store keeps this report")

    monkeypatch.setattr(reports_module, "themes_with_documents", refuse)
    monkeypatch.setattr(reports_module, "case_trends", refuse)
    monkeypatch.setattr(faq_module, "faq_candidates", refuse)
    REPORTS.clear()
    with TestClient(create_app(db, cfg, settings=ApiSettings())) as client:
        again = page(client, pii)
    assert 'class="total" data-value="40"' in again and "@example.com" in again
    monkeypatch.undo()

    # an erasure deletes every kept report, the unmasked ones with the masked
    with Workspace.open(db, cfg) as ws:
        report = ws.privacy.erase("C1")
        assert report.counts[KEPT_TABLE] == len(kept)
        assert ws.store.backend.table(KEPT_TABLE).count().to_pyarrow().as_py() == 0


def test_the_page_answers_while_a_writer_holds_the_store(make_site):
    """The page reads through a snapshot and keeps what it computed only when the store is
    free: an import holding the write lock neither holds up its first view nor a later one,
    and what it computed meanwhile is kept by the next save."""
    import threading

    from cxray.text._reports import KEPT_TABLE

    site = make_site(lambda ws: ws.load_demo(seed=5, customers=400, months=3))
    state = site.client.app.state.cx
    got: list[int] = []

    def view() -> None:
        got.append(site.client.get("/text").status_code)

    with state.lock:  # a writer at work
        for _ in range(2):
            t = threading.Thread(target=view)
            t.start()
            t.join(timeout=120)
            assert not t.is_alive(), "the Text page waited for the writer"
        assert got == [200, 200]
        assert REPORTS._unsaved  # computed, not yet written
    with state.lock:  # the next save (this one, or the warmer's if it came first)
        REPORTS.save(state.ws.store)
        assert not REPORTS._unsaved
    t = state.ws.store.backend.table(KEPT_TABLE)
    assert t.count().to_pyarrow().as_py() > 0
