"""``cxray journeys``: every command in every format, as a user runs it on the demo world."""

from __future__ import annotations

import csv
import io
import json

import pytest

from cxray.cli import main
from cxray.workspace import Workspace

SHOP = "visit_site,product_viewed,added_to_cart,checkout_started,payment_submitted,order_placed"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("cli") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo(seed=8, customers=400, months=3)
    return str(path)


def run(capsys, db: str, *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["--db", db, "journeys", *args])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    return out


def test_funnel(capsys, db):
    out = run(capsys, db, "funnel", "--steps", SHOP, "--case", "session", "--by", "segment")
    assert "funnel by session" in out and "order_placed" in out and "smb" in out
    records = json.loads(
        run(capsys, db, "funnel", "--steps", SHOP, "--within", "1", "--format", "json")
    )
    assert [r["step"] for r in records] == SHOP.split(",")
    first, second = records[0], records[1]
    assert first["conversion"] is None and first["conversion_from_first"] == 1.0
    assert second["conversion"] == pytest.approx(second["cases"] / first["cases"])
    assert second["ci_low"] < second["conversion"] < second["ci_high"]
    assert second["median_hours"] > 0 and second["p90_hours"] >= second["median_hours"]
    rows = list(csv.DictReader(io.StringIO(run(capsys, db, "funnel", "--steps", SHOP,
                                               "--format", "csv"))))  # fmt: skip
    assert len(rows) == 6 and rows[5]["step"] == "order_placed"


def test_paths_graph_outcomes(capsys, db):
    out = run(capsys, db, "paths", "--case", "session", "--journey", "checkout", "--top", "5")
    assert "top 5 of" in out
    out = run(capsys, db, "paths", "--case", "session", "--touchpoints")
    assert "where they leave and loop" in out and "order_pl" in out
    got = json.loads(run(capsys, db, "paths", "--case", "session", "--format", "json"))
    assert got["cases"] == sum(t["starts"] for t in got["touchpoints"])
    graph = json.loads(run(capsys, db, "graph", "--case", "session", "--format", "json"))
    assert graph["arcs"] == graph["events"] - graph["cases"]
    out = run(capsys, db, "graph", "--case", "session", "--top", "3")
    assert "directly-follows edges" in out and "start and end activities" in out
    edges = list(csv.DictReader(io.StringIO(run(capsys, db, "graph", "--case", "session",
                                                "--format", "csv"))))  # fmt: skip
    assert sum(int(e["count"]) for e in edges) == graph["arcs"]
    out = run(capsys, db, "outcomes", "--group", "touchpoint", "--top", "5")
    assert "outcomes by touchpoint" in out and "all " in out
    records = json.loads(run(capsys, db, "outcomes", "--format", "json", "--case", "session"))
    assert records and {"nps", "nps_ci_low", "csat", "churn", "nps_q_value"} <= set(records[0])
