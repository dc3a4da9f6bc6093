"""The overview as a morning view: what changed since the previous window, each tile's change,
unit, target and data-through date, the date presets; Trends' arrows and suppressed periods.

The page tests run on a demo world of 20,000 customers over three months (August to October
2026; the product-fault month is October): enough answers for changes between two months
to be significant, small enough to build in seconds.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.config import ProgramConfig
from cxray.exceptions import QueryError
from cxray.web._morning import (
    PRESETS,
    change_rows,
    compare_windows,
    data_through,
    preset_window,
    previous_window,
    store_end,
)
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres

# ------------------------------------------------------------------ windows (no store)

days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31))


@given(anchor=days, preset=st.sampled_from(sorted(PRESETS)))
def test_a_preset_ends_on_its_anchor_and_its_previous_window_is_adjacent(anchor, preset):
    first, last = preset_window(preset, anchor)
    assert last == anchor and first <= last
    length = (last - first).days + 1
    if preset == "quarter":
        assert first.day == 1 and first.month in (1, 4, 7, 10)
        assert (first.year, (first.month - 1) // 3) == (anchor.year, (anchor.month - 1) // 3)
    else:
        assert length == int(preset.removesuffix("d"))
    before_first, before_last = previous_window(first, last)
    assert before_last == first - dt.timedelta(days=1)  # adjacent: no gap, no overlap
    assert (before_last - before_first).days + 1 == length  # equal length


def test_windows_refuse_nonsense():
    with pytest.raises(QueryError, match="unknown preset 'week'"):
        preset_window("week", dt.date(2026, 1, 1))
    with pytest.raises(QueryError, match="ends .* before it starts"):
        previous_window(dt.date(2026, 2, 1), dt.date(2026, 1, 1))


# ------------------------------------------------------------------ the change and its test


def _record(metric: str, estimate: float, se: float, **kw) -> dict:
    z = sps.norm.ppf(0.975)
    return {
        "metric": metric, "estimate": estimate, "ci_low": estimate - z * se,
        "ci_high": estimate + z * se, "confidence": 0.95, "suppressed": False, **kw,
    }  # fmt: skip


def test_the_change_of_two_windows_is_the_difference_of_two_normal_estimates():
    # 30 ± 3 against 22 ± 4 (standard errors): difference 8, se 5, z 1.6
    c = compare_windows(_record("nps", 30.0, 3.0), _record("nps", 22.0, 4.0))
    assert c["change"] == pytest.approx(8.0)
    assert c["p"] == pytest.approx(2 * sps.norm.sf(1.6), rel=1e-9)  # 0.1096
    assert c["low"] == pytest.approx(8 - 1.959964 * 5, abs=1e-5)
    assert c["high"] == pytest.approx(8 + 1.959964 * 5, abs=1e-5)
    suppressed = {**_record("nps", 1.0, 1.0), "suppressed": True}
    assert compare_windows(suppressed, _record("nps", 22.0, 4.0)) is None
    assert compare_windows(_record("nps", 1.0, 1.0), None) is None
    median = compare_windows(_record("resolution_median", 5, 1), _record("resolution_median", 3, 1))
    assert median["change"] == 2 and median["p"] is None  # shown, not tested


def test_arrows_follow_the_sign_and_colours_the_kpis_direction():
    config = ProgramConfig()
    raw = {
        "nps": compare_windows(_record("nps", 20.0, 1.0), _record("nps", 30.0, 1.0)),
        "first_response_mean": compare_windows(
            _record("first_response_mean", 2.0, 0.1), _record("first_response_mean", 4.0, 0.1)
        ),
        "churn_rate": compare_windows(
            _record("churn_rate", 9.0, 0.2), _record("churn_rate", 5.0, 0.2)
        ),
        "csat": compare_windows(_record("csat", 61.0, 2.0), _record("csat", 60.0, 2.0)),
    }
    rows = change_rows(raw, config)
    assert (rows["nps"]["arrow"], rows["nps"]["tone"]) == ("▼", "bad")  # a significant drop
    assert (rows["first_response_mean"]["arrow"], rows["first_response_mean"]["tone"]) == (
        "▼",
        "good",  # faster first responses: lower is better
    )
    assert (rows["churn_rate"]["arrow"], rows["churn_rate"]["tone"]) == ("▲", "bad")
    assert rows["csat"]["significant"] is False and rows["csat"]["tone"] == "ns"
    # Benjamini-Hochberg across the four: q = min over ranks of m p_(j) / j
    ps = sorted(c["p"] for c in raw.values())
    assert rows["csat"]["q"] == pytest.approx(min(1.0, 4 * ps[-1] / 4))


def test_a_ces_effort_scale_turns_the_colour_around():
    effort = ProgramConfig.model_validate(
        {"scales": {"ces": {"min": 1, "max": 5, "direction": "lower_is_better"}}}
    )
    raw = {
        "ces_mean": compare_windows(_record("ces_mean", 2.0, 0.05), _record("ces_mean", 3.0, 0.05))
    }
    assert change_rows(raw, effort)["ces_mean"]["tone"] == "good"
    assert change_rows(raw, ProgramConfig())["ces_mean"]["tone"] == "bad"


# ------------------------------------------------------------------ the pages


@dataclass
class Site:
    client: TestClient
    ws: Workspace

    def scorecard(self, **kw) -> dict[str, dict]:
        with self.client.app.state.cx.lock:  # type: ignore[attr-defined]
            return {r["metric"]: r for r in self.ws.scorecard(**kw).records()}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("morning")
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.load_demo(seed=42, customers=20_000, months=3)
        key = ApiKeys(ws.store).create("viewer", name="morning")[1]
    app = create_app(db, folder / "cxray.toml", settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        yield Site(client, app.state.cx.ws)


def _changed(page: str) -> dict[str, dict]:
    """``{metric: {change, tone, text}}`` of the *What changed* list."""
    out = {}
    for metric, body in re.findall(r'<li data-changed="([^"]+)".*?>(.*?)</li>', page, re.S):
        change = re.search(r'data-change="([^"]+)" data-tone="([^"]+)"', body)
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()
        out[metric] = {"change": float(change.group(1)), "tone": change.group(2), "text": text}
    return out


def _text(page: str) -> str:
    """The words of a page, without tags."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def _tiles(page: str) -> dict[str, str]:
    return dict(re.findall(r'<li class="tile[^"]*" data-metric="([^"]+)">(.*?)</li>', page, re.S))


def test_what_changed_lists_the_significant_changes_with_their_direction(site):
    """The fault month (October 2026) against September, 31 days against the 31 before."""
    page = site.client.get("/?from=2026-10-01&to=2026-10-31").text
    assert "1 Oct 2026 – 31 Oct 2026 against the 31 days before (31 Aug 2026 – 30 Sep 2026)" in (
        html.unescape(page)
    )
    now = site.scorecard(start="2026-10-01", end="2026-10-31")
    before = site.scorecard(start="2026-08-31", end="2026-09-30")
    changed = _changed(page)
    # on this world: faster first responses (better, although down) and a lower
    # historical lifetime value (worse)
    assert changed["first_response_mean"]["tone"] == "good"
    assert "▼" in changed["first_response_mean"]["text"]
    assert changed["clv"]["tone"] == "bad" and "▼" in changed["clv"]["text"]
    config = site.ws.config
    p_values = {}
    for metric in now:
        c = compare_windows(now[metric], before.get(metric))
        if c is not None and c["p"] is not None:
            p_values[metric] = c["p"]
    q = change_rows({m: compare_windows(now[m], before[m]) for m in p_values}, config)
    assert set(changed) == {m for m, row in q.items() if row["significant"]}
    for metric, shown in changed.items():
        assert shown["change"] == pytest.approx(
            now[metric]["estimate"] - before[metric]["estimate"]
        )
        higher = config.direction(metric.split(":")[0]) == "higher_is_better"
        assert shown["tone"] == ("good" if (shown["change"] > 0) == higher else "bad")
        assert "better" in shown["text"] if shown["tone"] == "good" else "worse" in shown["text"]
    # not significant: grey with n.s. on its tile
    tiles = _tiles(page)
    quiet = next(m for m, row in q.items() if not row["significant"])
    assert 'data-tone="ns"' in tiles[quiet] and "n.s." in tiles[quiet]


def test_tiles_show_unit_target_and_the_date_their_data_runs_to(site):
    page = site.client.get("/?from=2026-09-01&to=2026-09-20").text
    tiles = _tiles(page)
    responses = site.ws.table("responses")
    last = (
        responses.filter(
            (responses.submitted_at >= dt.datetime(2026, 9, 1))
            & (responses.submitted_at < dt.datetime(2026, 9, 21))
        )
        .submitted_at.max()
        .to_pyarrow()
        .as_py()
    )
    assert last.date() <= dt.date(2026, 9, 20)
    assert f'data-through="{last.date().isoformat()}"' in tiles["nps"]
    assert f"{last.isoformat()}Z" in tiles["nps"]
    assert "points, −100 to 100" in html.unescape(tiles["nps"])
    assert "target 50.0 · action below 0.0" in html.unescape(tiles["nps"])
    assert "action above 4.0 h" in html.unescape(tiles["first_response_mean"])
    assert "USD" in tiles["revenue_per_customer"] and "no target set" in tiles["clv"]
    assert "score, 1 to 7" in tiles["ces_mean"]
    # every tile says how its number changed
    assert all('class="delta"' in t for t in tiles.values())


def test_presets_end_on_the_latest_data_and_compare_with_the_window_before(site):
    end = dt.date(2026, 10, 31)  # the world's last day
    page = html.unescape(site.client.get("/?preset=7d").text)
    assert "25 Oct 2026 – 31 Oct 2026 against the 7 days before (18 Oct 2026 – 24 Oct 2026)" in page
    links = dict(
        re.findall(r'<li><a href="([^"]+)"(?: aria-current="true")?>([^<]+)</a></li>', page)
    )
    by_label = {label: href for href, label in links.items()}
    for key, label in PRESETS.items():
        first, last = preset_window(key, end)
        assert f"from={first.isoformat()}" in by_label[label]
        assert f"to={last.isoformat()}" in by_label[label] and f"preset={key}" in by_label[label]
    assert 'aria-current="true">Last 7 days' in page
    # the preset's numbers are the scorecard's over its dates
    want = site.scorecard(start="2026-10-25", end="2026-10-31")
    got = dict(re.findall(r'data-metric="([^"]+)">.*?data-value="([^"]+)"', page, re.S))
    assert got and all(math.isclose(float(v), want[m]["estimate"]) for m, v in got.items())
    quarter = html.unescape(site.client.get("/?preset=quarter").text)
    assert "1 Oct 2026 – 31 Oct 2026 against the 31 days before" in quarter
    bad = site.client.get("/?preset=fortnight")
    assert bad.status_code == 400 and "unknown preset" in bad.text


def test_without_dates_the_change_is_the_latest_month_against_the_one_before(site):
    page = site.client.get("/").text
    assert "What changed: October 2026 against September 2026" in _text(page)
    monthly = {(r["metric"], r["period"]): r for r in site.ws.scorecard(period="month").records()}
    for metric, tile in _tiles(page).items():
        m = re.search(r'data-change="([^"]+)"', tile)
        rec = monthly.get((metric, "2026-10"))
        if m:
            assert float(m.group(1)) == pytest.approx(rec["change"])


def test_trends_mark_drops_down_and_colour_by_direction(site):
    for metric in ("first_response_mean", "nps", "abandonment:checkout"):
        page = site.client.get(f"/trends?metric={metric}&period=week").text
        weeks = {
            r["period"]: r for r in site.ws.scorecard(period="week", metrics=[metric]).records()
        }
        higher = site.ws.config.direction(metric.split(":")[0]) == "higher_is_better"
        rows = re.findall(r'<tr data-period="([^"]+)">(.*?)</tr>', page, re.S)
        assert len(rows) == len(weeks)
        for period, body in rows:
            r = weeks[period]
            if r["change"] is None:
                continue
            arrow = re.search(r'<span class="arrow" aria-hidden="true">(.)</span>', body).group(1)
            assert arrow == ("▲" if r["change"] > 0 else "▼")
            tone = re.search(r'data-tone="([^"]+)"', body).group(1)
            if r["significant"]:
                assert tone == ("good" if (r["change"] > 0) == higher else "bad")
            else:
                assert tone == "ns" and "n.s." in body
        assert "▲ significant" not in page


def test_trends_say_n_too_small_for_suppressed_periods_and_draw_the_target(site):
    page = site.client.get("/trends?metric=nps&period=day&from=2026-10-01&to=2026-10-31").text
    days_ = {
        r["period"]: r
        for r in site.ws.scorecard(
            period="day", metrics=["nps"], start="2026-10-01", end="2026-10-31"
        ).records()
    }
    small = [p for p, r in days_.items() if r["suppressed"]]
    assert small, "the test needs a day with too few answers"
    rows = dict(re.findall(r'<tr data-period="([^"]+)">(.*?)</tr>', page, re.S))
    for p in small:
        assert f"n too small (n={days_[p]['n']:,})" in rows[p]
        assert "no target" not in rows[p]
    # the chart draws NPS's target (50) and action threshold (0) as lines
    assert '"name":"target 50"' in page and '"name":"action threshold 0"' in page


def test_the_mix_shift_table_is_for_people(site):
    page = site.client.get("/segments?metric=nps&by=region").text
    section = page[page.index('<section aria-labelledby="shift">') :]
    head = re.findall(r'<th scope="col">([^<]+)</th>', section)
    assert head == [
        "region", "answers before", "answers after", "share before", "share after",
        "NPS before", "NPS after", "from the mix", "from scores", "contribution",
    ]  # fmt: skip
    rows = [
        [html.unescape(c) for c in re.findall(r"<td[^>]*>([^<]*)</td>", row)]
        for row in re.findall(r"<tr><td.*?</tr>", section)
    ]
    assert len(rows) >= 6
    total = [float(r[9].replace("\u2212", "-")) for r in rows]
    assert [abs(t) for t in total] == sorted((abs(t) for t in total), reverse=True)
    shares = [float(r[3].removesuffix(" %")) for r in rows if r[3] != "—"]
    assert sum(shares) == pytest.approx(100, abs=0.1 * len(shares))  # rounded to 0.1 each
    for r in rows:  # mix + scores = contribution, each rounded to 0.01
        mix, rate = (float(r[i].replace("\u2212", "-")) for i in (7, 8))
        assert mix + rate == pytest.approx(float(r[9].replace("\u2212", "-")), abs=0.011)
    change = re.search(r"\(([+−-][\d.]+)\):", html.unescape(section)).group(1)
    assert sum(total) == pytest.approx(
        float(change.replace("−", "-")), abs=0.05 + 0.005 * len(rows)
    )
    assert "How to read it" in section


# ------------------------------------------------------------------ PostgreSQL


@needs_postgres
def test_data_through_is_the_same_on_postgres(tmp_path):
    """The data-through times and the end the presets use are portable Ibis."""
    with Workspace.open(tmp_path / "d.duckdb", tmp_path / "d.toml") as duck:
        duck.load_demo(seed=7, customers=300, months=2)
        want = data_through(duck, dt.date(2026, 9, 15), dt.date(2026, 10, 10))
        want_all = data_through(duck, None, None)
        want_end = store_end(duck)
    with Workspace.open(fresh_postgres(), tmp_path / "pg.toml") as pg:
        pg.load_demo(seed=7, customers=300, months=2)
        assert data_through(pg, dt.date(2026, 9, 15), dt.date(2026, 10, 10)) == want
        assert data_through(pg, None, None) == want_all
        assert store_end(pg) == want_end == dt.date(2026, 10, 31)
    assert want["nps"] is not None and want["nps"] < dt.datetime(2026, 10, 11)
    assert want[""] >= want["nps"]
