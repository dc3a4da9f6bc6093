"""Portability: the feature layer, key drivers and moments of truth give the same numbers on
PostgreSQL and on Apache Spark as on DuckDB, through the same Ibis expressions.

PostgreSQL needs ``CXRAY_TEST_POSTGRES_URL`` (``.ci/run`` starts a server); Spark needs
PySpark and Java 17 (``tests/metrics/test_spark.py`` has the session). Under CI a missing
backend is a failure, elsewhere a skip with the reason.
"""

from __future__ import annotations

import math
import os

import pandas as pd
import pytest

from cxray.drivers._analysis import analyse
from cxray.drivers._moments import moments_of_truth
from cxray.features import Features
from cxray.workspace import Workspace
from tests.metrics.test_spark import MISSING as SPARK_MISSING
from tests.metrics.test_spark import TABLES, spark  # noqa: F401  (the session fixture)

PG_URL = os.environ.get("CXRAY_TEST_POSTGRES_URL")
if not PG_URL and os.environ.get("CI"):
    pytest.fail("CXRAY_TEST_POSTGRES_URL is not set under CI", pytrace=False)

WORLD = {"seed": 5, "customers": 1200, "months": 6}
OUTCOMES = [("csat", 100), ("nps", 0), ("detractor", 60), ("churn", 60)]


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    path = tmp_path_factory.mktemp("backends") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo(**WORLD)
        yield ws


def same(got, expected, where=""):
    """Equal records: numbers to 1e-9 relative, everything else exactly."""
    if isinstance(expected, dict):
        assert got.keys() == expected.keys(), where
        for k in expected:
            same(got[k], expected[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            same(g, e, f"{where}[{i}]")
    elif isinstance(expected, float) and isinstance(got, float):
        assert (math.isnan(got) and math.isnan(expected)) or math.isclose(
            got, expected, rel_tol=1e-9, abs_tol=1e-9
        ), (where, got, expected)
    else:
        assert got == expected, (where, got, expected)


def _features(source, config) -> tuple[pd.DataFrame, pd.DataFrame]:
    f = Features(source, config)
    r = f.responses().to_pandas().sort_values("response_id").reset_index(drop=True)
    c = f.customers().to_pandas().sort_values("customer_id").reset_index(drop=True)
    return r, c


def _check_all(
    source, duck: Workspace, monkeypatch, outcomes=OUTCOMES, *, slices: bool = True
) -> None:
    got_r, got_c = _features(source, duck.config)
    exp_r, exp_c = _features(duck.table, duck.config)
    assert list(got_r.columns) == list(exp_r.columns)
    pd.testing.assert_frame_equal(
        got_r.drop(columns=["submitted_at"]), exp_r.drop(columns=["submitted_at"]),
        check_dtype=False, rtol=1e-9,
    )  # fmt: skip
    pd.testing.assert_frame_equal(got_c, exp_c, check_dtype=False, rtol=1e-9)
    for outcome, reps in outcomes:
        expected = analyse(duck.table, duck.config, outcome, bootstrap=reps, seed=1).to_dict()
        got = analyse(source, duck.config, outcome, bootstrap=reps, seed=1).to_dict()
        same(got, expected, outcome)
    by = analyse(duck.table, duck.config, "csat", ["late_deliveries"], by="region", bootstrap=0)
    same(
        analyse(
            source, duck.config, "csat", ["late_deliveries"], by="region", bootstrap=0
        ).to_dict(),
        by.to_dict(),
        "by region",
    )
    same(moments_of_truth(source, duck.config).to_dict(),
         moments_of_truth(duck.table, duck.config).to_dict(), "moments")  # fmt: skip


@pytest.mark.skipif(not PG_URL, reason="no PostgreSQL (set CXRAY_TEST_POSTGRES_URL)")
def test_postgres_gives_the_duckdb_numbers(duck, tmp_path, monkeypatch):
    import ibis

    con = ibis.connect(PG_URL)
    con.raw_sql("DROP OWNED BY CURRENT_USER").close()
    con.raw_sql("CREATE SCHEMA IF NOT EXISTS public").close()
    con.disconnect()
    with Workspace.open(PG_URL, tmp_path / "cxray.toml") as pg:
        pg.load_demo(**WORLD)
        _check_all(pg.table, duck, monkeypatch)


@pytest.mark.spark
@pytest.mark.skipif(SPARK_MISSING is not None, reason=str(SPARK_MISSING))
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_spark_gives_the_duckdb_numbers(duck, spark, tmp_path, monkeypatch):  # noqa: F811
    import ibis

    con = ibis.pyspark.connect(spark)
    tables = {}
    for name in TABLES:
        file = tmp_path / f"{name}.parquet"
        duck.table(name).to_parquet(file)
        frame = spark.read.parquet(str(file)).cache()
        frame.createOrReplaceTempView(f"cxd_{name}")
        tables[name] = con.table(f"cxd_{name}")
    # Spark answers each query in about a second: one linear and one logistic analysis
    _check_all(tables.__getitem__, duck, monkeypatch, [("churn", 60)], slices=False)
