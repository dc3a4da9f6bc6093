"""Portability: the purchase summary computed on PostgreSQL and on Apache Spark equals
DuckDB's (the same Ibis expression), and a fit is kept and read back on PostgreSQL too.

PostgreSQL needs ``CXRAY_TEST_POSTGRES_URL`` (``.ci/run`` starts a server); under CI a missing
server fails the run, elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cxray.value import purchase_summary
from cxray.workspace import Workspace
from tests._backends import (
    fresh_postgres,
    needs_postgres,
    on_spark,
    require_backends_under_ci,
    spark_tables,
)
from tests.value.conftest import CALIBRATION_END, cdnow_orders

require_backends_under_ci("the lifetime-value summary")


def _frame(ws: Workspace, end: str | None, unit: str) -> pd.DataFrame:
    frame = ws.value.summary(end, unit=unit).to_pandas()
    frame["first_purchase"] = pd.to_datetime(frame["first_purchase"])
    return frame.sort_values("customer_id").reset_index(drop=True)


@needs_postgres
def test_postgres_gives_the_duckdb_summary_and_keeps_fits(cdnow, tmp_path):
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as pg:
        pg.import_frame("orders", cdnow_orders())
        for end, unit in ((CALIBRATION_END, "week"), (None, "day")):
            got, want = _frame(pg, end, unit), _frame(cdnow, end, unit)
            assert list(got.columns) == list(want.columns)
            pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)
        fit = pg.value.fit(CALIBRATION_END, model="bgnbd")
        assert fit.to_dict()["params"]["r"] == pytest.approx(0.2426, abs=1e-3)
        kept = pg.value.latest_fit()
        assert kept is not None and kept.to_dict() == fit.to_dict()
        result = pg.value.clv()
        assert result.n == 2357 and result.model_id == fit.model_id


@on_spark
def test_spark_gives_the_duckdb_summary(cdnow, spark, tmp_path):
    source = spark_tables(spark, cdnow, tmp_path, "clv")
    end = dt.date(1997, 9, 30)
    got = purchase_summary(source("orders"), end, unit="week", holdout=True).to_pandas()
    want = cdnow.value.summary(CALIBRATION_END).to_pandas()
    for frame in (got, want):
        frame["first_purchase"] = pd.to_datetime(frame["first_purchase"])
    got = got.sort_values("customer_id").reset_index(drop=True)
    want = want.sort_values("customer_id").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)
