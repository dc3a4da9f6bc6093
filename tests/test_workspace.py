"""The Workspace: demo world in, the same numbers out; refusal to mix demo and real data."""

from __future__ import annotations

import pytest

from cxray.demo import generate
from cxray.exceptions import StoreError
from cxray.workspace import Workspace

SMALL = {"seed": 7, "customers": 4500, "months": 3}


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with Workspace.open(path) as ws:
        report = ws.load_demo(**SMALL, chunk_customers=4096)
        yield ws, report


def test_demo_rows_match_the_generated_world(demo_ws):
    ws, report = demo_ws
    world = generate(**SMALL)
    assert report.rows == world.row_counts()
    stored = {t.table: t.rows for t in ws.status().tables}
    assert stored == world.row_counts()
    assert report.added == sum(world.row_counts().values())
    # one import per table per chunk; all logged as the demo source
    log = ws.status(imports=100).imports
    assert {i.source for i in log} == {"demo"}
    assert len(log) == 6 * 2  # two chunks (of 4,096 and 404 customers), six tables each


def test_reloading_the_same_world_changes_nothing(demo_ws):
    ws, _ = demo_ws
    again = ws.load_demo(**SMALL, chunk_customers=4096)
    assert again.added == 0 and again.updated == 0
    assert again.unchanged == sum(again.rows.values())


def test_first_summary_equals_a_direct_computation(demo_ws):
    ws, _ = demo_ws
    r = generate(**SMALL).responses.to_pandas()
    nps = r["nps"].dropna()
    card = ws.scorecard(metrics=["nps", "csat", "ces_mean"])
    got = {s.metric: s.result for s in card.scores}
    assert got["nps"].n == len(nps)
    assert got["nps"].estimate == pytest.approx(100 * ((nps >= 9).mean() - (nps <= 6).mean()))
    assert got["nps"].ci_low < got["nps"].estimate < got["nps"].ci_high
    assert got["csat"].estimate == pytest.approx(100 * (r["csat"].dropna() >= 4).mean())
    assert got["ces_mean"].estimate == pytest.approx(r["ces"].dropna().mean())


def test_demo_refuses_a_store_with_real_imports(tmp_path, write):
    with Workspace.open(tmp_path / "real.duckdb") as ws:
        ws.import_files(
            "responses", [write("r.csv", "response_id,submitted_at,nps\nA,2025-01-01,9\n")]
        )
        with pytest.raises(StoreError, match="demo world goes into a store of its own"):
            ws.load_demo(customers=100, months=2)


def test_rows_behind_a_figure_and_a_customer_story(demo_ws):
    ws, _ = demo_ws
    r = ws.table("responses").to_pandas()
    email = r[r["channel"] == "email"]
    page = ws.rows("responses", filters=["channel:email"], sort=["-submitted_at"], limit=5)
    assert page["total"] == len(email)
    got = [row["response_id"] for row in page["rows"]]
    expected = email.sort_values(["submitted_at", "response_id"], ascending=[False, True])
    assert got == list(expected["response_id"][:5])
    who = r["customer_id"].dropna().value_counts().index[0]
    story = ws.customer(who)
    assert story["counts"]["responses"] == int((r["customer_id"] == who).sum())
    times = [item["time"] for item in story["timeline"]]
    assert times == sorted(times)
