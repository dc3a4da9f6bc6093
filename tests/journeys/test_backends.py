"""Portability: the same funnels and graphs on PostgreSQL and Spark as on DuckDB.

The same small demo world goes into DuckDB and into PostgreSQL (``CXRAY_TEST_POSTGRES_URL``,
which ``.ci/run`` sets), and is read by a local SparkSession from Parquet files DuckDB
writes; every result must equal DuckDB's (floats to 1e-9 relative). Without a server,
PySpark or Java the tests skip with the reason, except under CI (``CI`` set), where a
missing backend is a failure.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil

import pytest

from cxray.journeys import Journeys
from cxray.workspace import Workspace

URL = os.environ.get("CXRAY_TEST_POSTGRES_URL")
SHOP = "visit_site,product_viewed,added_to_cart,checkout_started,payment_submitted,order_placed"
TABLES = ("customers", "responses", "cases", "orders", "events", "mentions")
WORLD = {"seed": 5, "customers": 400, "months": 3}


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (pip install -e '.[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and os.path.isdir(java_home)):
        return "no Java runtime for PySpark (install OpenJDK 17+ or set JAVA_HOME)"
    return None


SPARK_MISSING = _spark_missing()
if os.environ.get("CI"):
    if not URL:
        pytest.fail("CXRAY_TEST_POSTGRES_URL is not set under CI (.ci/run starts PostgreSQL)",
                    pytrace=False)  # fmt: skip
    if SPARK_MISSING:
        pytest.fail(f"{SPARK_MISSING}; CI runs the journeys on Spark too", pytrace=False)

pytestmark = [
    # PySpark 4.0 passes pandas 3 a deprecated keyword when it converts results; not ours to fix
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


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


def assert_same(got, want, where="") -> None:
    if isinstance(want, dict):
        assert got.keys() == want.keys(), where
        for k in want:
            assert_same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and isinstance(got, float):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (where, got, want)
    else:
        assert got == want, (where, got, want)


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


@pytest.mark.skipif(not URL, reason="no PostgreSQL (set CXRAY_TEST_POSTGRES_URL)")
def test_postgres_equals_duckdb(tmp_path, expected):
    import ibis

    con = ibis.connect(URL)
    con.raw_sql("DROP OWNED BY CURRENT_USER").close()  # a clean database
    con.raw_sql("CREATE SCHEMA IF NOT EXISTS public").close()
    con.disconnect()
    with Workspace.open(URL, tmp_path / "cxray.toml") as pg:
        pg.load_demo(**WORLD)
        assert_same(requests(pg.journeys), expected)


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession

    base = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("cxray-journeys-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.warehouse.dir", str(base / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={base}")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session


@pytest.mark.spark
@pytest.mark.skipif(SPARK_MISSING is not None, reason=str(SPARK_MISSING))
def test_spark_equals_duckdb(tmp_path, duck, expected, spark):
    import ibis

    con = ibis.pyspark.connect(spark)
    tables = {}
    for name in TABLES:
        file = tmp_path / f"{name}.parquet"
        duck.table(name).to_parquet(file)
        frame = spark.read.parquet(str(file)).cache()
        frame.createOrReplaceTempView(f"cxj_{name}")
        tables[name] = con.table(f"cxj_{name}")
    got = requests(Journeys(tables.__getitem__, duck.config), all_=False)
    assert_same(got, {k: expected[k] for k in got})
