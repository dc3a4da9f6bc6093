"""Portability: the same funnels and graphs on PostgreSQL and Spark as on DuckDB.

The same small demo world goes into DuckDB and into PostgreSQL (``CXRAY_TEST_POSTGRES_URL``,
which ``.ci/run`` sets), and is read by a local SparkSession from Parquet files DuckDB
writes; every result must equal DuckDB's (floats to 1e-9 relative). Without a server,
PySpark or Java the tests skip with the reason, except under CI (``CI`` set), where a
missing backend is a failure.
"""

from __future__ import annotations

import json

import pytest

from cxray.journeys import Journeys
from cxray.workspace import Workspace
from tests._backends import (
    assert_same,
    fresh_postgres,
    needs_postgres,
    on_spark,
    require_backends_under_ci,
    spark_tables,
)

SHOP = "visit_site,product_viewed,added_to_cart,checkout_started,payment_submitted,order_placed"
WORLD = {"seed": 5, "customers": 400, "months": 3}

require_backends_under_ci("the journeys")


def requests(j: Journeys, *, all_: bool = True) -> dict:
    """The funnels and graphs compared (Spark: the first three), as plain JSON values."""
    out = {
        "funnel_sessions_by_region": j.funnel(SHOP, case="session", by="region").to_dict(),
        "funnel_within_by_channel_and_nps": j.funnel(
            ["checkout_started", "payment_submitted", "order_placed"],
            within_hours=2,
            by=["channel", "nps_group"],
        ).to_dict(),
        "graph_sessions": j.graph(case="session").to_dict(),
    }
    if all_:
        out["funnel_window_orders"] = j.funnel(
            ["orders:placed", "delivery_tracked", "orders:delivered"],
            case="order_id",
            include="orders",
            start="2026-09-01",
        ).to_dict()
        out["graph_customers_with_cases"] = j.graph(include="cases,responses").to_dict()
        out["paths_sessions"] = j.paths(case="session", top=15).to_dict()
    return json.loads(json.dumps(out, default=str))


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    path = tmp_path_factory.mktemp("backends")
    with Workspace.open(path / "demo.duckdb", path / "cxray.toml") as ws:
        ws.load_demo(**WORLD)
        yield ws


@pytest.fixture(scope="module")
def expected(duck) -> dict:
    got = requests(duck.journeys)
    assert got["graph_sessions"]["cases"] > 100  # something to compare
    return got


@needs_postgres
def test_postgres_equals_duckdb(tmp_path, expected):
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as pg:
        pg.load_demo(**WORLD)
        assert_same(requests(pg.journeys), expected)


@on_spark
def test_spark_equals_duckdb(tmp_path, duck, expected, spark):
    source = spark_tables(spark, duck, tmp_path, "cxj")
    got = requests(Journeys(source, duck.config), all_=False)
    assert_same(got, {k: expected[k] for k in got})
