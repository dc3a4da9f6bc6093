"""Portability: the feature layer, key drivers and moments of truth give the same numbers on
PostgreSQL and on Apache Spark as on DuckDB, through the same Ibis expressions.

PostgreSQL needs ``CXRAY_TEST_POSTGRES_URL`` (``.ci/run`` starts a server); Spark needs
PySpark and Java 17 (``tests/metrics/test_spark.py`` has the session). Under CI a missing
backend is a failure, elsewhere a skip with the reason.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import pytest

from cxray.drivers._analysis import analyse
from cxray.drivers._moments import moments_of_truth
from cxray.features import Features
from cxray.workspace import Workspace
from tests._backends import (
    assert_same,
    fresh_postgres,
    needs_postgres,
    on_spark,
    require_backends_under_ci,
    spark_tables,
)

require_backends_under_ci("the drivers")

WORLD = {"seed": 5, "customers": 1200, "months": 6}
OUTCOMES = [("csat", 100), ("nps", 0), ("detractor", 60), ("churn", 60)]


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    path = tmp_path_factory.mktemp("backends") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo(**WORLD)
        yield ws


def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as floats, so missing is NaN whichever backend produced the frame."""
    out = frame.copy()
    for col in out.columns:
        with contextlib.suppress(TypeError, ValueError):
            out[col] = pd.to_numeric(out[col]).astype("float64")
    return out


def _features(source, config) -> tuple[pd.DataFrame, pd.DataFrame]:
    f = Features(source, config)
    r = f.responses().to_pandas().sort_values("response_id").reset_index(drop=True)
    c = f.customers().to_pandas().sort_values("customer_id").reset_index(drop=True)
    return _numbers(r), _numbers(c)


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
        assert_same(got, expected, outcome)
    by = analyse(duck.table, duck.config, "csat", ["late_deliveries"], by="region", bootstrap=0)
    assert_same(
        analyse(
            source, duck.config, "csat", ["late_deliveries"], by="region", bootstrap=0
        ).to_dict(),
        by.to_dict(),
        "by region",
    )
    assert_same(moments_of_truth(source, duck.config).to_dict(),
         moments_of_truth(duck.table, duck.config).to_dict(), "moments")  # fmt: skip


@needs_postgres
def test_postgres_gives_the_duckdb_numbers(duck, tmp_path, monkeypatch):
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as pg:
        pg.load_demo(**WORLD)
        _check_all(pg.table, duck, monkeypatch)


@on_spark
def test_spark_gives_the_duckdb_numbers(duck, spark, tmp_path, monkeypatch):
    # Spark answers each query in about a second: one logistic analysis, features, moments
    source = spark_tables(spark, duck, tmp_path, "cxd")
    _check_all(source, duck, monkeypatch, [("churn", 60)], slices=False)
