"""Portability: the metrics on Apache Spark (PySpark in local mode, through Ibis) equal DuckDB's.

The same demo world is read into DuckDB (the workspace's store) and into a local
SparkSession (from Parquet files DuckDB writes), and every scorecard is computed
on both through the same Ibis expressions; the records must be equal (floats to
1e-9 relative). Needs PySpark (``pip install -e '.[spark]'``) and Java 17+.
Without them the module is skipped, except under CI (``CI`` set), where a missing
PySpark or Java is a failure rather than a silent skip.

One SparkSession serves the whole test session (``local[2]``, one shuffle
partition, no UI, bound to 127.0.0.1); the world is small, so Spark's fixed cost
per query dominates. Deselect with ``-m "not spark"``.
"""

from __future__ import annotations

import math
import os

import pytest

from cxray.config import ProgramConfig
from cxray.metrics import kpis, mix_shift, plan_sample_size, scorecard
from cxray.workspace import Workspace
from tests._backends import SPARK_MISSING, needs_spark, spark_tables

if SPARK_MISSING and os.environ.get("CI"):
    pytest.fail(f"{SPARK_MISSING}; CI runs the metrics on Spark too", pytrace=False)
pytestmark = needs_spark


@pytest.fixture(scope="module")
def world(tmp_path_factory, spark):
    """``(duckdb workspace, spark table source)`` over the same small demo world."""
    path = tmp_path_factory.mktemp("spark-world")
    with Workspace.open(path / "demo.duckdb", path / "cxray.toml") as ws:
        ws.load_demo(seed=5, customers=400, months=3)
        yield ws, spark_tables(spark, ws, path, "cx")


def assert_same_records(got: list[dict], expected: list[dict]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.keys() == e.keys()
        for key, value in e.items():
            other = g[key]
            if isinstance(value, float) and isinstance(other, float):
                same = math.isclose(other, value, rel_tol=1e-9, abs_tol=1e-12) or (
                    math.isnan(other) and math.isnan(value)
                )
                assert same, (e["metric"], key, other, value)
            else:
                assert other == value, (e["metric"], key, other, value)


def test_scorecard_by_region_equals_duckdb(world):
    duck, spark_source = world
    expected = duck.scorecard(by=["region"]).records()
    got = scorecard(spark_source, duck.config, by=["region"]).records()
    assert {r["metric"] for r in got} == {k.name for k in kpis(duck.config.journeys)}
    assert_same_records(got, expected)


def test_monthly_scorecard_in_a_time_zone_equals_duckdb(world):
    """Periods (local time over DST), a window, nps_group slices, periodic churn, medians."""
    duck, spark_source = world
    config = ProgramConfig.model_validate({"program": {"timezone": "America/New_York"}})
    opts = {"by": ["nps_group"], "period": "month", "start": "2026-08-15", "end": "2026-10-31"}
    expected = scorecard(duck.table, config, **opts).records()
    got = scorecard(spark_source, config, **opts).records()
    assert {r["period"] for r in expected} == {"2026-08", "2026-09", "2026-10"}
    assert any(r["p_value"] is not None for r in expected)  # changes were tested
    assert_same_records(got, expected)


def test_mix_shift_and_planning_equal_duckdb(world):
    duck, spark_source = world
    windows = {"before": ("2026-08-01", "2026-09-15"), "after": ("2026-09-16", "2026-10-31")}
    for metric in ("nps", "csat"):
        a = mix_shift(duck.table, duck.config, by="segment", metric=metric, **windows)
        b = mix_shift(spark_source, duck.config, by="segment", metric=metric, **windows)
        assert (b.before, b.after, b.mix, b.rate) == pytest.approx(
            (a.before, a.after, a.mix, a.rate), rel=1e-9
        )
    a = plan_sample_size(duck.table, duck.config, delta_points=5)
    b = plan_sample_size(spark_source, duck.config, delta_points=5)
    assert b == a
