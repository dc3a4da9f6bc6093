"""Portability: the survival counts, curves, tests, the Cox model and the reasons are the
same on PostgreSQL and Apache Spark as on DuckDB, through the same Ibis expressions.

PostgreSQL needs ``CXRAY_TEST_POSTGRES_URL``; Spark needs PySpark and Java 17. Under CI a
missing backend is a failure, elsewhere a skip with the reason.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cxray.churn._cox import cox
from cxray.churn._reasons import reasons
from cxray.churn._survival import analyse_counts, population, survival_counts
from cxray.workspace import Workspace
from tests._backends import (
    assert_same,
    fresh_postgres,
    needs_postgres,
    on_spark,
    require_backends_under_ci,
    spark_tables,
)

require_backends_under_ci("the churn analyses")

WORLD = {"seed": 5, "customers": 1200, "months": 6}


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    path = tmp_path_factory.mktemp("churn-backends") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo(**WORLD)
        yield ws


def _survival(source, config, by: str) -> tuple[pd.DataFrame, dict]:
    pop = population(source, config, by=by)
    counts = survival_counts(pop)
    return counts, analyse_counts(counts, pop).to_dict()


def _check(source, duck: Workspace, groupings: tuple[str, ...]) -> None:
    for by in groupings:
        got_counts, got = _survival(source, duck.config, by)
        want_counts, want = _survival(duck.table, duck.config, by)
        pd.testing.assert_frame_equal(got_counts, want_counts, check_dtype=False)
        assert_same(got, want, by)


@needs_postgres
def test_postgres_gives_the_duckdb_numbers(duck, tmp_path):
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as pg:
        pg.load_demo(**WORLD)
        _check(pg.table, duck, ("nps_group", "plan", "recency_days"))
        got, _ = cox(pg.table, duck.config, covariates=["orders_total"])
        want, _ = cox(duck.table, duck.config, covariates=["orders_total"])
        assert_same(got.to_dict(), want.to_dict(), "cox")
        for opts in ({}, {"by": "region", "period": "quarter"}):
            assert_same(
                reasons(pg.table, duck.config, **opts).to_dict(),
                reasons(duck.table, duck.config, **opts).to_dict(),
                f"reasons {opts}",
            )


@on_spark
def test_spark_gives_the_duckdb_numbers(duck, spark, tmp_path):
    source = spark_tables(spark, duck, tmp_path, "cxs")
    _check(source, duck, ("nps_group",))  # Spark answers a query in about a second
