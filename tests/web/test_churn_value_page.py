"""The Churn & value page: the numbers of /api/churn and /api/clv, friendly notices where a
piece cannot be computed (no churn-risk model, no CLV fit, no orders), never an error page."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.workspace import Workspace
from tests.web.conftest import Site


def _site(folder, setup) -> Iterator[Site]:
    db = folder / "cx.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        setup(ws)
        key = ApiKeys(ws.store).create("viewer", name="cx lead")[1]
    app = create_app(db, folder / "cxray.toml", settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        yield Site(client, TestClient(app), key, db)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    yield from _site(
        tmp_path_factory.mktemp("churn-page"),
        lambda ws: ws.load_demo(seed=4, customers=1500, months=8),
    )


def _notice(page: str, id_: str) -> str:
    m = re.search(rf'<p class="note" role="note" id="{id_}">(.*?)</p>', page, re.S)
    assert m, f"no notice {id_}"
    return htmllib.unescape(m.group(1))


def test_page_has_every_section_and_the_nav_links_it(site):
    r = site.client.get("/churn")
    assert r.status_code == 200, r.text
    page = r.text
    assert '<a href="/churn" aria-current="page">Churn &amp; value</a>' in page
    for section in ("roi", "survival", "reasons", "at-risk", "value"):
        assert f'<section id="{section}"' in page
    for chart in ("survival-chart", "at-risk-chart"):
        assert f'id="{chart}"' in page
    assert "promoter vs detractor" in page or "detractor vs promoter" in page
    assert "cxray churn model" in _notice(page, "risk-notice")
    assert "cxray clv fit" in _notice(page, "clv-notice")
    # the other pages link it too
    assert '<a href="/churn">Churn &amp; value</a>' in site.client.get("/").text


def test_figures_equal_the_api(site):
    page = site.client.get("/churn").text
    roi = site.client.get("/api/clv/roi").json()
    head = re.search(r'class="headline" data-value="([^"]+)"', page)
    assert float(head.group(1)) == pytest.approx(roi["estimate"], rel=1e-12)
    assert htmllib.escape(roi["what_if"]["sentence"], quote=False) in page
    for g in roi["by_nps_group"]["groups"]:
        cell = re.search(rf'<tr data-group="{g["group"]}">.*?data-value="([^"]+)"', page, re.S)
        assert float(cell.group(1)) == pytest.approx(g["churn_rate"]["estimate"], rel=1e-12)
    reasons = site.client.get("/api/churn/reasons").json()["reasons"]
    shown = re.findall(r'<tr data-reason="([^"]+)">', page)
    assert shown == [r["reason"] for r in reasons[:12]] and shown
    risk = site.client.get("/api/clv/at-risk").json()
    total = re.search(r'<strong data-value="([^"]+)">', page[page.index('id="value"') :])
    assert float(total.group(1)) == pytest.approx(risk["estimate"], rel=1e-12)


def test_what_if_form_changes_the_headline(site):
    a = site.client.get("/churn?share=0.1").text
    b = site.client.get("/churn?share=0.2&source=detractor&target=promoter").text
    va = float(re.search(r'class="headline" data-value="([^"]+)"', a).group(1))
    vb = float(re.search(r'class="headline" data-value="([^"]+)"', b).group(1))
    api = site.client.get("/api/clv/what-if?share=0.2&source=detractor&target=promoter").json()
    assert vb == pytest.approx(api["estimate"], rel=1e-12) and vb != va
    assert "Moving 20% of detractors" in b and 'value="promoter" selected' in b


@pytest.mark.parametrize(
    ("query", "says"),
    [("share=2", "between 0 and 1"), ("source=fans", "not an NPS group"), ("sort=x", "sort")],
)
def test_bad_requests_get_the_error_page(site, query, says):
    r = site.client.get(f"/churn?{query}")
    assert r.status_code == 400 and says in htmllib.unescape(r.text)


def test_at_risk_customers_sort_and_link(site, monkeypatch):
    """With a churn-risk model's scores: the riskiest first, sortable, each linked."""
    from cxray.churn._risk import ChurnRisk, RiskScores

    with site.client.app.state.cx.lock:
        values, _ = site.ws.value.money.values()
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.6, len(values))
    frame = pd.DataFrame({
        "customer_id": values.customer_id, "probability": p, "ci_low": p * 0.8,
        "ci_high": np.minimum(p * 1.2, 1.0),
        "reasons": [[{"feature": "recency_days", "contribution": 0.5}]] * len(values),
    }).sort_values("probability", ascending=False)  # fmt: skip
    scores = RiskScores(customers=frame, as_of="2026-01-01", horizon_days=90.0,
                        model_id="risk-test", method="logistic (test)", estimate=float(p.mean()),
                        ci_low=float(p.mean()) * 0.8, ci_high=float(p.mean()) * 1.2,
                        n=len(p))  # fmt: skip
    monkeypatch.setattr(ChurnRisk, "score", lambda self, *a, **k: scores)
    monkeypatch.setattr(ChurnRisk, "stored", lambda self: {"model_id": "risk-test"})
    for sort, attr in (("probability", "probability"), ("clv", "clv"), ("at_risk", "at-risk")):
        page = site.client.get(f"/churn?sort={sort}").text
        got = [float(x) for x in re.findall(rf'data-{attr}="([^"]+)"', page)]
        assert len(got) == 50 and got == sorted(got, reverse=True)
        assert 'aria-sort="descending"' in page
    page = site.client.get("/churn").text
    first = re.search(r'<tr data-customer="([^"]+)"', page).group(1)
    assert first == frame.customer_id.iloc[0]
    assert f'<a href="/customers/{first}">{first}</a>' in page
    assert "recency_days (+0.50)" in page
    assert site.client.get(f"/customers/{first}").status_code == 200


def test_customers_only_store_gets_notices_not_an_error(tmp_path):
    def setup(ws):
        text = "customer_id,created_at,churned_at\n" + "".join(
            f"c{i},2024-0{1 + i % 6}-01,{'2024-11-01' if i % 4 == 0 else ''}\n" for i in range(40)
        )
        path = tmp_path / "c.csv"
        path.write_text(text)
        ws.import_files("customers", [path])

    for s in _site(tmp_path, setup):
        r = s.client.get("/churn")
        assert r.status_code == 200, r.text
        assert "no orders" in _notice(r.text, "roi-notice")
        assert "no orders" in _notice(r.text, "at-risk-notice")
        assert "cxray churn model" in _notice(r.text, "risk-notice")
        assert "reason" in _notice(r.text, "reasons-notice")
        assert "no customer has an NPS answer" in _notice(r.text, "logrank-notice")
        # the notices do not promise what cannot be computed either
        assert "meanwhile" not in _notice(r.text, "risk-notice")


def test_page_and_api_share_their_results(site):
    """The page asks the server's cache under the API's names: what one computed, the
    other answers from memory (the same objects)."""
    site.client.get("/churn")
    cx = site.client.app.state.cx
    kept = {k[1][0] for k in list(cx._cache)}
    assert {"churn-survival", "churn-reasons", "money"} <= kept
    before = len(cx._cache)
    site.client.get("/api/churn/survival")
    site.client.get("/api/churn/reasons")
    site.client.get("/api/clv/roi")
    site.client.get("/api/clv/at-risk")
    assert len(cx._cache) == before


def test_survival_compared_by_an_attribute(site):
    page = site.client.get("/churn?by=region").text
    survival = site.client.get("/api/churn/survival?by=region").json()
    groups = {g["group"] for g in survival["summary"]["groups"]}
    assert len(groups) >= 4 and "Who stays: survival by region" in page
    assert '<option value="region" selected>region</option>' in page
    assert all(f'"name":"{g}"' in page.replace(": ", ":") for g in groups)
    assert '<input type="hidden" name="by" value="region">' in page  # the what-if keeps it
    r = site.client.get("/churn?by=nope")
    assert r.status_code == 200 and "nope" in _notice(r.text, "survival-notice")
