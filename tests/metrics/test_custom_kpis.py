"""KPIs as code (``[kpis.NAME]``): equal to a hand computation with pandas, intervals by the
formula of their kind, clear config errors, the same on DuckDB, PostgreSQL and Spark, and
shown wherever a built-in KPI is (scorecard, periods, slices, status, API, drill-down, tiles).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from scipy import stats as sps

from cxray import stats
from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.config import DEFAULT_CONFIG_TEXT, load_program_config
from cxray.config._kpis import EXPR_NODES
from cxray.exceptions import ConfigError
from cxray.metrics import kpi_catalogue, kpis, scorecard
from cxray.workspace import Workspace
from tests._backends import (
    POSTGRES_URL,
    assert_same,
    fresh_postgres,
    needs_postgres,
    on_spark,
    spark_tables,
)

CONFIG = """
[kpis.promoter_share]
title = "Promoter share"
kind = "share"
table = "responses"
value = "nps >= 9"
target = 30
action = 20

[kpis.nps_email]
title = "NPS by e-mail"
kind = "nps"
table = "responses"
value = "nps"
filter = "channel = 'email'"

[kpis.order_value]
kind = "mean"
table = "orders"
value = "amount"
filter = "lower(status) NOT IN ('cancelled', 'returned') OR status IS NULL"
unit = "currency"

[kpis.order_value_median]
kind = "median"
table = "orders"
value = "amount"

[kpis.reopen_rate]
kind = "rate"
table = "cases"
value = "reopened"
per = 1000
direction = "lower_is_better"

[kpis.late_revenue]
kind = "ratio"
table = "orders"
value = "CASE WHEN delivered_at > promised_at THEN amount ELSE 0 END"
denominator = "amount"
filter = "delivered_at IS NOT NULL AND promised_at IS NOT NULL"
direction = "lower_is_better"

[kpis.resolution_days]
kind = "mean"
table = "cases"
value = "days_between(opened_at, resolved_at)"
filter = "resolved_at >= opened_at"
direction = "lower_is_better"
target = 1
action = 3
"""
CUSTOM = ("promoter_share", "nps_email", "order_value", "order_value_median", "reopen_rate",
          "late_revenue", "resolution_days")  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("custom-kpis")
    (folder / "cxray.toml").write_text(CONFIG, encoding="utf-8")
    with Workspace.open(folder / "demo.duckdb", folder / "cxray.toml") as ws:
        ws.load_demo(seed=5, customers=500, months=3)
        frames = {n: ws.table(n).to_pandas() for n in ("responses", "orders", "cases", "customers")}
        yield ws, frames, folder


@pytest.fixture(scope="module")
def card(world):
    ws, _, _ = world
    return {r["metric"]: r for r in ws.scorecard().records()}


def _close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


def test_every_custom_kpi_is_on_the_scorecard_with_an_interval(card):
    for name in CUSTOM:
        r = card[name]
        assert r["ci_low"] <= r["estimate"] <= r["ci_high"], r
        assert r["n"] > 0 and r["method"]


def test_share_equals_pandas_with_the_wilson_interval(world, card):
    _, f, _ = world
    nps = f["responses"].nps.dropna()
    x, n = int((nps >= 9).sum()), len(nps)
    r = card["promoter_share"]
    assert r["n"] == n and _close(r["estimate"], 100 * x / n)
    want = stats.proportion(x, n, percent=True)
    assert _close(r["ci_low"], want.ci_low) and _close(r["ci_high"], want.ci_high)
    assert r["method"] == card["csat"]["method"]  # the built-in share's interval
    # status against its own target (30) and action threshold (20)
    expected = "on_target" if r["estimate"] >= 30 else "action" if r["estimate"] < 20 else "watch"
    assert r["status"] == expected and r["unit"] == "%"


def test_nps_with_a_filter_equals_pandas(world, card):
    _, f, _ = world
    resp = f["responses"]
    nps = resp.loc[resp.channel == "email", "nps"].dropna()
    p, d = int((nps >= 9).sum()), int((nps <= 6).sum())
    q = len(nps) - p - d
    r = card["nps_email"]
    assert r["n"] == len(nps) and _close(r["estimate"], 100 * (p - d) / len(nps))
    want = stats.nps(p, q, d)
    assert _close(r["ci_low"], want.ci_low) and _close(r["ci_high"], want.ci_high)


def test_mean_and_median_equal_pandas(world, card):
    _, f, _ = world
    o = f["orders"]
    status = o.status.str.lower()
    kept = o.loc[~status.isin(["cancelled", "returned"]) | o.status.isna(), "amount"].astype(float)
    r = card["order_value"]
    assert r["n"] == len(kept) and _close(r["estimate"], kept.mean())
    half = sps.t.ppf(0.975, len(kept) - 1) * kept.std(ddof=1) / math.sqrt(len(kept))
    assert _close(r["ci_high"] - r["estimate"], half, 1e-6)
    m = card["order_value_median"]
    all_amounts = o.amount.astype(float).to_numpy()
    assert _close(m["estimate"], float(np.median(all_amounts)))
    want = stats.median(all_amounts)
    assert _close(m["ci_low"], want.ci_low) and _close(m["ci_high"], want.ci_high)
    c = f["cases"]
    done = c[c.resolved_at >= c.opened_at]
    days = (done.resolved_at - done.opened_at).dt.total_seconds() / 86400
    assert _close(card["resolution_days"]["estimate"], days.mean())


def test_rate_is_per_1000_rows_with_the_exact_poisson_interval(world, card):
    _, f, _ = world
    flags = f["cases"].reopened.dropna()
    x, n = int(flags.sum()), len(flags)
    r = card["reopen_rate"]
    assert r["n"] == n and _close(r["estimate"], 1000 * x / n)
    # Garwood: chi-square quantiles over 2
    lo = sps.chi2.ppf(0.025, 2 * x) / 2 if x else 0.0
    hi = sps.chi2.ppf(0.975, 2 * x + 2) / 2
    assert _close(r["ci_low"], 1000 * lo / n, 1e-7) and _close(r["ci_high"], 1000 * hi / n, 1e-7)


def test_ratio_of_totals_with_the_delta_method_interval(world, card):
    _, f, _ = world
    o = f["orders"].dropna(subset=["delivered_at", "promised_at"])
    y = np.where(o.delivered_at > o.promised_at, o.amount.astype(float), 0.0)
    x = o.amount.astype(float).to_numpy()
    ratio = y.sum() / x.sum()
    d = y - ratio * x
    se = math.sqrt((d**2).sum() / (len(x) - 1) / len(x)) / x.mean()
    r = card["late_revenue"]
    assert r["n"] == len(x) and _close(r["estimate"], ratio)
    assert _close(r["ci_high"] - ratio, 1.959963984540054 * se, 1e-6)


def test_periods_compare_with_bh_and_slices_cut_like_builtins(world):
    ws, f, _ = world
    monthly = ws.scorecard(period="month", metrics=["order_value", "late_revenue"]).records()
    assert {r["metric"] for r in monthly} == {"order_value", "late_revenue"}
    changed = [r for r in monthly if r["change"] is not None]
    assert changed and all(r["q_value"] is not None and r["q_value"] >= r["p_value"]
                           for r in changed)  # fmt: skip
    by = ws.scorecard(by=["region"], metrics=["promoter_share"]).records()
    resp = f["responses"].merge(f["customers"][["customer_id", "region"]], on="customer_id")
    for r in by:
        if r["region"] is None or r["suppressed"]:
            continue
        nps = resp.loc[resp.region == r["region"], "nps"].dropna()
        assert r["n"] == len(nps) and _close(r["estimate"], 100 * (nps >= 9).mean())


def test_the_registry_and_the_catalogue_list_them(world):
    ws, _, _ = world
    names = [k.name for k in kpis(ws.config.journeys, custom=ws.config.kpis)]
    assert names[-len(CUSTOM) :] == list(CUSTOM)
    cat = {row["name"]: row for row in kpi_catalogue(ws.config)}
    assert cat["resolution_days"] == cat["resolution_days"] | {
        "source": "config", "kind": "mean", "table": "cases", "time_column": "opened_at",
        "direction": "lower_is_better", "target": 1, "action": 3,
    }  # fmt: skip
    assert cat["nps"]["source"] == "built-in" and cat["reopen_rate"]["per"] == 1000


# ------------------------------------------------------------------ config errors
@pytest.mark.parametrize(
    ("body", "where", "what"),
    [
        ('kind = "share"\ntable = "tickets"\nvalue = "a"', "[kpis.k.table]", "not a table"),
        ('kind = "total"\ntable = "cases"\nvalue = "a"', "[kpis.k.kind]", "'nps', 'share'"),
        ('kind = "share"\ntable = "cases"\nvalue = "os.system(1)"', "[kpis.k]", "value"),
        ('kind = "share"\ntable = "cases"\nvalue = "eval(a)"', "[kpis.k]", "'eval' is not"),
        ('kind = "share"\ntable = "cases"\nvalue = "a IN (SELECT 1)"', "[kpis.k]", "query"),
        ('kind = "mean"\ntable = "cases"\nvalue = "1 + 2"', "[kpis.k]", "uses no column"),
        ('kind = "mean"\ntable = "cases"\nvalue = "a; DROP TABLE cases"', "[kpis.k]", "several"),
        ('kind = "ratio"\ntable = "orders"\nvalue = "amount"', "[kpis.k]", "denominator"),
        ('kind = "share"\ntable = "cases"\nvalue = "a"\nper = 10', "[kpis.k]", "only for kind"),
        ('kind = "share"\ntable = "cases"\nvalue = "a"\ntarget = 5\naction = 9', "[kpis.k]",
         "must not be above target"),
        ('kind = "share"\ntable = "cases"\nvalue = "a"\ncolour = "red"', "[kpis.k.colour]",
         "unknown key"),
    ],
)  # fmt: skip
def test_bad_definitions_are_refused_at_load_with_their_place(tmp_path, body, where, what):
    path = tmp_path / "cxray.toml"
    path.write_text(f"[kpis.k]\n{body}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_program_config(path)
    assert where in str(err.value) and what in str(err.value), str(err.value)


def test_a_builtin_name_is_refused(tmp_path):
    path = tmp_path / "cxray.toml"
    path.write_text('[kpis.nps]\nkind = "nps"\ntable = "responses"\nvalue = "nps"\n')
    with pytest.raises(ConfigError, match="'nps' is a built-in KPI"):
        load_program_config(path)


@pytest.mark.parametrize(
    ("spec", "what"),
    [
        ('kind = "mean"\ntable = "responses"\nvalue = "npss"', "value 'npss': no column 'npss'"),
        ('kind = "share"\ntable = "responses"\nvalue = "nps"', "needs a true/false"),
        ('kind = "mean"\ntable = "responses"\nvalue = "submitted_at"', "needs a number"),
        ('kind = "mean"\ntable = "responses"\nvalue = "nps"\nfilter = "nps + 1"', "filter"),
        ('kind = "mean"\ntable = "responses"\nvalue = "nps"\ntime_column = "channel"',
         "time_column 'channel': is not a date"),
    ],
)  # fmt: skip
def test_columns_and_types_are_checked_when_computed(world, spec, what):
    ws, _, folder = world
    path = folder / "bad.toml"
    path.write_text(f"[kpis.bad]\n{spec}\n", encoding="utf-8")
    config = load_program_config(path)
    with pytest.raises(ConfigError, match=r"\[kpis\.bad\] ") as err:
        scorecard(ws.table, config, metrics=["bad"])
    assert what in str(err.value), str(err.value)


def test_the_whitelist_and_the_compiler_agree():
    from cxray.metrics import _expr

    source = Path(_expr.__file__).read_text(encoding="utf-8")
    handled = set(re.findall(r"exp\.(\w+)", source))
    assert EXPR_NODES - {"Identifier", "DataType"} <= handled


# ------------------------------------------------------------------ the template's examples
def _examples(text: str) -> str:
    """The ``[kpis.*]`` examples of the template, uncommented."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("# [kpis."):
            inside = True
        elif inside and line.strip() in ("#", ""):
            inside = False
        if inside:
            out.append(line.removeprefix("# ").removeprefix("#"))
    return "\n".join(out) + "\n"


def test_the_template_examples_work_on_the_demo(tmp_path):
    examples = _examples(DEFAULT_CONFIG_TEXT)
    assert examples.count("[kpis.") >= 6
    path = tmp_path / "cxray.toml"
    path.write_text(examples, encoding="utf-8")
    config = load_program_config(path)
    assert {"repurchase_intent", "perceived_value", "txr", "enps"} <= set(config.kpis)
    # survey answers the examples name: employees answer enps, customers the TxR questions
    rng = np.random.default_rng(3)
    n = 80
    rows = pd.DataFrame(
        {
            "response_id": [f"x{i}" for i in range(n)],
            "submitted_at": pd.Timestamp.now().floor("D")
            - pd.to_timedelta(rng.integers(1, 20, n), unit="D"),
            "survey": ["employee"] * (n // 2) + ["relationship"] * (n - n // 2),
            "enps": np.r_[rng.integers(0, 11, n // 2), [None] * (n - n // 2)],
            "txr_success": rng.integers(1, 8, n),
            "txr_effort": rng.integers(1, 8, n),
            "txr_emotion": rng.integers(1, 8, n),
            "repurchase": rng.integers(1, 6, n),
            "renew": rng.integers(1, 6, n),
            "value_for_money": rng.integers(1, 8, n),
            "comment": ["fine"] * n,
        }
    )
    file = tmp_path / "answers.csv"
    rows.to_csv(file, index=False)
    folder = tmp_path / "w"
    folder.mkdir()
    with Workspace.open(folder / "x.duckdb", path) as mine:
        mine.load_demo(seed=1, customers=150, months=2)  # the demo, and these answers
        mine.import_files("responses", [file])
        got = {r["metric"]: r for r in mine.scorecard(metrics=list(config.kpis)).records()}
    emp = rows.enps.dropna().astype(int)
    assert _close(got["enps"]["estimate"], 100 * ((emp >= 9).mean() - (emp <= 6).mean()))

    def net(col: pd.Series) -> float:  # Temkin: % of 6-7 minus % of 1-3
        return 100 * ((col >= 6).mean() - (col <= 3).mean())

    txr = np.mean([net(rows.txr_success), net(rows.txr_effort), net(rows.txr_emotion)])
    assert _close(got["txr"]["estimate"], txr)
    assert _close(got["repurchase_intent"]["estimate"], 100 * (rows.repurchase >= 4).mean())
    assert _close(got["perceived_value"]["estimate"], rows.value_for_money.mean())


# ------------------------------------------------------------------ API, dashboard
@pytest.fixture(scope="module")
def site(world):
    ws, _, folder = world
    key = ApiKeys(ws.store).create("viewer", name="custom kpis")[1]
    app = create_app(folder / "demo.duckdb", folder / "cxray.toml", settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        yield client, {"Authorization": f"Bearer {key}"}


def test_api_scorecard_and_catalogue_show_custom_kpis(site, card):
    client, auth = site
    got = client.get("/api/scorecard?metric=late_revenue,promoter_share", headers=auth).json()
    assert {r["metric"]: r["estimate"] for r in got} == {
        "late_revenue": card["late_revenue"]["estimate"],
        "promoter_share": card["promoter_share"]["estimate"],
    }
    cat = client.get("/api/kpis", headers=auth).json()
    mine = [r for r in cat if r["source"] == "config"]
    assert [r["name"] for r in mine] == list(CUSTOM)
    assert TestClient(client.app).get("/api/kpis").status_code == 401  # no key, no session
    # the rows behind the ratio: its filter applied
    rows = client.get("/api/tables/orders/rows?metric=late_revenue&limit=1", headers=auth).json()
    assert rows["total"] == card["late_revenue"]["n"]
    every = client.get("/api/tables/orders/rows?limit=1", headers=auth).json()
    assert every["total"] > rows["total"]


def test_overview_tile_and_drill_down_of_a_custom_kpi(site, card):
    client, _ = site
    page = client.get("/").text
    assert "Promoter share" in page and "NPS by e-mail" in page
    links = re.findall(r'href="(/rows/[^"]*metric=late_revenue[^"]*)"', page)
    assert links and links[0].startswith("/rows/orders?")
    rows = client.get(links[0].replace("&amp;", "&"))
    assert rows.status_code == 200
    # the drill-down counts the rows the ratio counts (its filter applied)
    total = re.search(r'class="total">([\d,]+)<', rows.text)
    assert total and int(total.group(1).replace(",", "")) == card["late_revenue"]["n"]
    assert "The rows the KPI counts" in rows.text


# ------------------------------------------------------------------ other backends
def _records(source, config, **kw):
    return scorecard(source, config, metrics=list(CUSTOM), **kw).records()


@needs_postgres
def test_postgres_gives_the_same_custom_kpis(world):
    import ibis

    ws, _, _ = world
    assert POSTGRES_URL
    con = ibis.connect(fresh_postgres())
    try:
        for name in ("customers", "responses", "cases", "orders", "events", "mentions"):
            con.create_table(name, ws.table(name).to_pyarrow())
        want = _records(ws.table, ws.config, period="month")
        assert_same(_records(con.table, ws.config, period="month"), want)
    finally:
        con.disconnect()


@on_spark
def test_spark_gives_the_same_custom_kpis(world, spark, tmp_path):
    ws, _, _ = world
    source = spark_tables(spark, ws, tmp_path, "ck")
    # the kinds of their own (rate, ratio), a filtered share and time arithmetic
    # (days_between), over the whole window: Spark's cost per query dominates on a small
    # world (NPS, mean and median run the built-in kinds' queries, tests/metrics/test_spark)
    names = ["promoter_share", "reopen_rate", "late_revenue", "resolution_days"]
    want = scorecard(ws.table, ws.config, metrics=names).records()
    assert_same(scorecard(source, ws.config, metrics=names).records(), want)


def test_the_doctor_says_what_a_custom_kpi_reads(ws, tmp_path):
    from cxray.metrics import coverage

    path = tmp_path / "kpis.toml"
    path.write_text('[kpis.stars]\nkind = "mean"\ntable = "mentions"\nvalue = "rating"\n')
    got = coverage(ws.table, load_program_config(path)).get("stars")
    assert not got.supported and got.needs == ("mentions",)
    assert got.reason == "no mentions: import mentions ([kpis.stars] reads it)"
    # on an empty table the scorecard leaves it out, as it does a built-in KPI
    assert scorecard(ws.table, load_program_config(path), metrics=["stars"]).records() == []


def test_trends_and_segments_pages_take_a_custom_kpi(site, world):
    client, _ = site
    ws, _, _ = world
    trend = client.get("/trends?metric=order_value")
    assert trend.status_code == 200 and "order_value" in trend.text
    seg = client.get("/segments?metric=order_value&by=region")
    assert seg.status_code == 200 and "order_value" in seg.text
    by = ws.scorecard(by=["region"], metrics=["order_value"]).records()
    shown = [r for r in by if not r["suppressed"]]
    assert shown and all(f"{r['estimate']:,.1f}" in seg.text for r in shown)


def test_a_loop_rule_watches_a_custom_kpi(tmp_path):
    from cxray.store import ALERTS

    cfg = tmp_path / "cxray.toml"
    cfg.write_text(
        """
[kpis.big_orders]
kind = "share"
table = "orders"
value = "amount >= 100000"
target = 90
action = 80

[[loop.rules]]
name = "big-orders"
on = "kpi"
metric = "big_orders"
period = "month"
""",
        encoding="utf-8",
    )
    with Workspace.open(tmp_path / "w.duckdb", cfg) as ws:
        ws.load_demo(seed=2, customers=200, months=2)
        card = ws.scorecard(period="month", metrics=["big_orders"]).records()
        want = {f"kpi:big_orders:all:{r['period']}" for r in card if r["status"] == "action"}
        assert want  # hardly any order is that big: every measured month is below 80 %
        report = ws.loop.run(backfill=True, deliver=False, sources=["kpi"])
        assert report.errors == {}
        got = {a["subject"] for a in ws.store.backend.table(ALERTS).to_pyarrow().to_pylist()}
        assert got == want
